/**
 * Health per subsystem (pool, store, bus, governor, each breaker): polled checks or pushed
 * statuses, error counts, uptime and the time of the last check, aggregated into one status.
 *
 * @module
 */
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { ErrorCode, SluiceError, describeValue, isSluiceError } from '../core/errors.ts';
import {
  assertFunction,
  assertInteger,
  assertKnownKeys,
  assertName,
  assertNumber,
  assertObject,
  assertOneOf,
  isThenable,
} from '../core/validate.ts';
import {
  type HealthChange,
  type HealthReport,
  type HealthSnapshot,
  type HealthStatus,
  type SubsystemHealth,
  kHealthStatuses,
  worstStatus,
} from './health-report.ts';
import { type HealthCheck, type HealthCheckOptions, type HealthRegistryOptions, resolveHealthOptions } from './health-options.ts';
import { ListenerSet } from './listener-set.ts';

/** Anything that exposes health the way {@link HealthRegistry} does (what `bindHealth` needs). */
export interface HealthSource {
  snapshot(): { readonly status: HealthStatus };
  onChange(listener: (change: HealthChange) => void): DisposableHandle;
}

interface Entry {
  readonly name: string;
  readonly mode: 'check' | 'push';
  readonly check: HealthCheck | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly recoveryTimeoutMs: number;
  readonly registeredAt: number;
  status: HealthStatus;
  detail: string | undefined;
  errorCount: number;
  consecutiveErrors: number;
  checks: number;
  changedAt: number;
  lastCheckAt: number | undefined;
  lastCheckTime: number | undefined;
  lastError: { code: string; message: string } | undefined;
  timer: TimerHandle | undefined;
  pending: Promise<void> | undefined;
  /** A check timed out and its promise has not settled yet: the next tick does not call it again. */
  hung: boolean;
  removed: boolean;
}

/**
 * The health registry.
 *
 * - A subsystem either registers a check, polled every `intervalMs` once `start()` ran (first
 *   at once), or pushes its status with `report()`.
 * - Checks never overlap: the next is armed when one settles. A check that throws, rejects,
 *   returns something that is not a report, or does not settle within `timeoutMs` makes its
 *   subsystem `unhealthy` with a `SLUICE_ERR_HEALTH_CHECK_FAILED` error; a timed-out check is
 *   not called again until its promise settles.
 * - The overall status is the worst of all; `unknown` (not checked yet) is not failing.
 *
 * @example
 * ```ts
 * const health = new HealthRegistry({ clock });
 * health.register('store', () => ({ status: sink.health().status, detail: sink.health().reason }), { intervalMs: 1_000 });
 * health.report('pool', 'healthy');
 * health.onChange(({ subsystem, to, status }) => console.log(subsystem, to, 'overall', status));
 * health.start();
 * health.snapshot().status; // 'healthy' | 'degraded' | 'unhealthy' | 'unknown'
 * ```
 */
export class HealthRegistry implements HealthSource {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #failureThreshold: number;
  readonly #recoveryTimeoutMs: number | undefined;
  readonly #createdAt: number;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new ListenerSet<HealthChange>('health.onChange');
  #started = false;
  /** Bumped by `stop()`: results of checks started before are dropped. */
  #epoch = 0;

  constructor(options: HealthRegistryOptions = {}) {
    const resolved = resolveHealthOptions(options);
    this.#intervalMs = resolved.intervalMs;
    this.#timeoutMs = resolved.timeoutMs;
    this.#failureThreshold = resolved.failureThreshold;
    this.#recoveryTimeoutMs = resolved.recoveryTimeoutMs;
    this.#clock = resolved.clock;
    this.#createdAt = this.#clock.now();
  }

  /** The overall status now. */
  get status(): HealthStatus {
    return this.#overall();
  }

  /** True between `start()` and `stop()`. */
  get isStarted(): boolean {
    return this.#started;
  }

  /**
   * Registers a polled check under `name` (status `unknown` until its first result). The
   * disposable removes it. A name already registered throws `SLUICE_ERR_DUPLICATE_NAME`.
   *
   * @example
   * ```ts
   * const reg = health.register('pool', () => ({ status: pool.stats().crashed > 0 ? 'degraded' : 'healthy' }));
   * reg.dispose();
   * ```
   */
  register(name: string, check: HealthCheck, options: HealthCheckOptions = {}): DisposableHandle {
    assertName('subsystem name', name);
    assertFunction('check', check);
    assertObject('check options', options);
    assertKnownKeys('check', options as Record<string, unknown>, ['intervalMs', 'timeoutMs', 'failureThreshold', 'recoveryTimeoutMs']);
    const intervalMs = options.intervalMs ?? this.#intervalMs;
    assertNumber('intervalMs', intervalMs, 1, Number.MAX_SAFE_INTEGER);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    assertNumber('timeoutMs', timeoutMs, 1, Number.MAX_SAFE_INTEGER);
    const failureThreshold = options.failureThreshold ?? this.#failureThreshold;
    assertInteger('failureThreshold', failureThreshold, 1);
    const recoveryTimeoutMs = options.recoveryTimeoutMs ?? this.#recoveryTimeoutMs ?? intervalMs;
    assertNumber('recoveryTimeoutMs', recoveryTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
    this.#assertFree(name);
    const entry = this.#add(name, 'check', check, intervalMs, timeoutMs, failureThreshold, recoveryTimeoutMs);
    if (this.#started) void this.#run(entry);
    return createDisposable(() => {
      if (this.#entries.get(name) === entry) this.remove(name);
    });
  }

  /**
   * Sets the status of `name`, registering it as a pushed subsystem on first use. On a checked
   * subsystem the status holds until its next check.
   *
   * @example
   * ```ts
   * health.report('store', 'degraded', 'SQLite unavailable; events buffered');
   * ```
   */
  report(name: string, status: HealthStatus, detail?: string): void {
    assertName('subsystem name', name);
    assertOneOf('status', status, kHealthStatuses);
    if (detail !== undefined && typeof detail !== 'string') {
      throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`detail\` to be a string, got ${describeValue(detail)}`, {
        details: { name: 'detail' },
      });
    }
    const entry = this.#entries.get(name) ?? this.#add(name, 'push', undefined, 0, 0, 1, 0);
    this.#record(entry, { status, ...(detail === undefined ? {} : { detail }) }, undefined);
  }

  /**
   * Removes a subsystem; it leaves as a change to `unknown`. Returns false when there was none.
   *
   * @example
   * ```ts
   * health.remove('breaker:routine:pipeline/fetch');
   * ```
   */
  remove(name: string): boolean {
    const entry = this.#entries.get(name);
    if (entry === undefined) return false;
    entry.removed = true;
    entry.timer?.cancel();
    entry.timer = undefined;
    this.#set(entry, 'unknown', undefined, () => this.#entries.delete(name));
    return true;
  }

  /**
   * Starts polling: every check runs at once, then every `intervalMs` after it settles.
   * Idempotent.
   *
   * @example
   * ```ts
   * health.start();
   * ```
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const entry of [...this.#entries.values()]) if (entry.mode === 'check') void this.#run(entry);
  }

  /**
   * Stops polling and cancels every timer; results of checks still running are dropped.
   * Idempotent; `start()` starts again.
   *
   * @example
   * ```ts
   * health.stop(); // in runtime.close(), after the subsystems it watches
   * ```
   */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#epoch++;
    for (const entry of this.#entries.values()) {
      entry.timer?.cancel();
      entry.timer = undefined;
    }
  }

  /**
   * Runs the checks now (of `name` only, when given) and resolves with the snapshot after they
   * settled. A check already running is joined, not started twice.
   *
   * @example
   * ```ts
   * const fresh = await health.check();
   * ```
   */
  async check(name?: string): Promise<HealthSnapshot> {
    if (name !== undefined) {
      const entry = this.#entries.get(name);
      if (entry === undefined) {
        throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`name\` to be a registered subsystem, got ${describeValue(name)}`, {
          details: { name },
        });
      }
      if (entry.mode === 'check') await this.#run(entry);
    } else {
      await Promise.all([...this.#entries.values()].filter((e) => e.mode === 'check').map((e) => this.#run(e)));
    }
    return this.snapshot();
  }

  /**
   * A plain snapshot: the overall status and every subsystem's.
   *
   * @example
   * ```ts
   * const { status, subsystems } = health.snapshot();
   * ```
   */
  snapshot(): HealthSnapshot {
    const at = this.#clock.now();
    const subsystems: Record<string, SubsystemHealth> = {};
    for (const [name, e] of this.#entries) {
      subsystems[name] = {
        name,
        status: e.status,
        ...(e.detail === undefined ? {} : { detail: e.detail }),
        mode: e.mode,
        errorCount: e.errorCount,
        consecutiveErrors: e.consecutiveErrors,
        checks: e.checks,
        registeredAt: e.registeredAt,
        uptimeMs: at - e.registeredAt,
        changedAt: e.changedAt,
        ...(e.lastCheckAt === undefined ? {} : { lastCheckAt: e.lastCheckAt }),
        ...(e.lastCheckTime === undefined ? {} : { lastCheckTime: new Date(e.lastCheckTime).toISOString() }),
        ...(e.mode === 'check' ? { failureThreshold: e.failureThreshold } : {}),
        ...(e.lastError === undefined ? {} : { lastError: { ...e.lastError } }),
      };
    }
    return { status: this.#overall(), at, uptimeMs: at - this.#createdAt, subsystems };
  }

  /**
   * Subscribes to status changes of any subsystem (each with the overall status before and
   * after); the disposable unsubscribes.
   *
   * @example
   * ```ts
   * const sub = health.onChange((c) => { if (c.status !== c.previousStatus) console.log('overall', c.status); });
   * ```
   */
  onChange(listener: (change: HealthChange) => void): DisposableHandle {
    assertFunction('listener', listener);
    return this.#listeners.add(listener);
  }

  #assertFree(name: string): void {
    if (this.#entries.has(name)) {
      throw new SluiceError(ErrorCode.DuplicateName, `Health subsystem "${name}" is already registered`, { details: { name } });
    }
  }

  #add(
    name: string,
    mode: 'check' | 'push',
    check: HealthCheck | undefined,
    intervalMs: number,
    timeoutMs: number,
    failureThreshold: number,
    recoveryTimeoutMs: number,
  ): Entry {
    const now = this.#clock.now();
    const entry: Entry = {
      name,
      mode,
      check,
      intervalMs,
      timeoutMs,
      failureThreshold,
      recoveryTimeoutMs,
      registeredAt: now,
      status: 'unknown',
      detail: undefined,
      errorCount: 0,
      consecutiveErrors: 0,
      checks: 0,
      changedAt: now,
      lastCheckAt: undefined,
      lastCheckTime: undefined,
      lastError: undefined,
      timer: undefined,
      pending: undefined,
      hung: false,
      removed: false,
    };
    this.#entries.set(name, entry);
    return entry;
  }

  #run(entry: Entry): Promise<void> {
    if (entry.pending !== undefined) return entry.pending;
    entry.timer?.cancel();
    entry.timer = undefined;
    const epoch = this.#epoch;
    if (entry.hung) {
      this.#record(
        entry,
        undefined,
        this.#failure(entry, `is still running after timing out (${entry.timeoutMs} ms); not called again until it settles`),
      );
      this.#arm(entry);
      return Promise.resolve();
    }
    let done = false;
    const pending = new Promise<void>((resolve) => {
      const finish = (report: HealthReport | undefined, error: SluiceError | undefined): void => {
        if (done) return;
        done = true;
        timeout.cancel();
        entry.pending = undefined;
        if (!entry.removed && epoch === this.#epoch) {
          this.#record(entry, report, error);
          this.#arm(entry);
        }
        resolve();
      };
      const accept = (value: unknown): void => {
        const checked = this.#checkReport(entry, value);
        if (checked instanceof SluiceError) finish(undefined, checked);
        else finish(checked, undefined);
      };
      const timeout = this.#clock.setTimeout(
        () => {
          entry.hung = true;
          finish(undefined, this.#failure(entry, `did not settle within ${entry.timeoutMs} ms`));
        },
        entry.timeoutMs,
        { ref: false },
      );
      let result: unknown;
      try {
        result = (entry.check as HealthCheck)();
      } catch (error) {
        finish(undefined, this.#failure(entry, 'threw', error));
        return;
      }
      if (!isThenable(result)) {
        accept(result);
        return;
      }
      Promise.resolve(result).then(
        (value) => {
          entry.hung = false;
          accept(value);
        },
        (error: unknown) => {
          entry.hung = false;
          finish(undefined, this.#failure(entry, 'rejected', error));
        },
      );
    });
    // A synchronous check has finished already; only a running one is there to be joined.
    if (!done) entry.pending = pending;
    return pending;
  }

  #arm(entry: Entry): void {
    if (!this.#started || entry.removed || entry.mode !== 'check') return;
    entry.timer?.cancel();
    // An unhealthy subsystem is given its recovery time before it is checked again.
    const wait = entry.status === 'unhealthy' ? entry.recoveryTimeoutMs : entry.intervalMs;
    entry.timer = this.#clock.setTimeout(
      () => {
        entry.timer = undefined;
        void this.#run(entry);
      },
      wait,
      { ref: false },
    );
  }

  #checkReport(entry: Entry, value: unknown): HealthReport | SluiceError {
    const report = value as HealthReport | undefined;
    if (
      typeof report !== 'object' ||
      report === null ||
      !kHealthStatuses.includes(report.status) ||
      (report.detail !== undefined && typeof report.detail !== 'string')
    ) {
      return this.#failure(entry, `returned ${describeValue(value)} instead of { status, detail? }`);
    }
    return report.detail === undefined ? { status: report.status } : { status: report.status, detail: report.detail };
  }

  #failure(entry: Entry, what: string, cause?: unknown): SluiceError {
    const reason = cause === undefined ? '' : `: ${isSluiceError(cause) || cause instanceof Error ? cause.message : describeValue(cause)}`;
    return new SluiceError(ErrorCode.HealthCheckFailed, `Health check of "${entry.name}" ${what}${reason}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { subsystem: entry.name, timeoutMs: entry.timeoutMs },
    });
  }

  #record(entry: Entry, report: HealthReport | undefined, error: SluiceError | undefined): void {
    const status: HealthStatus = error === undefined ? (report as HealthReport).status : 'unhealthy';
    entry.checks++;
    entry.lastCheckAt = this.#clock.now();
    entry.lastCheckTime = Date.now();
    if (status === 'unhealthy') {
      entry.errorCount++;
      entry.consecutiveErrors++;
    } else entry.consecutiveErrors = 0;
    if (error !== undefined) entry.lastError = { code: error.code, message: error.message };
    const detail = error === undefined ? report?.detail : error.message;
    // A checked subsystem reads unhealthy only after `failureThreshold` failures in a row; until
    // then it keeps its status (the failures are counted and the last error kept).
    if (status === 'unhealthy' && entry.consecutiveErrors < entry.failureThreshold && entry.status !== 'unhealthy') {
      entry.detail = `${entry.consecutiveErrors} of ${entry.failureThreshold} failed checks before unhealthy: ${detail ?? 'unhealthy'}`;
      return;
    }
    this.#set(entry, status, detail);
  }

  /** Changes `entry`'s status; `apply` runs between the before and after of the overall status. */
  #set(entry: Entry, status: HealthStatus, detail: string | undefined, apply?: () => void): void {
    const from = entry.status;
    entry.detail = detail;
    if (from === status && apply === undefined) return;
    const previousStatus = this.#overall();
    entry.status = status;
    apply?.();
    if (from === status) return;
    const at = this.#clock.now();
    entry.changedAt = at;
    if (this.#listeners.size === 0) return;
    this.#listeners.emit({
      subsystem: entry.name,
      from,
      to: status,
      ...(detail === undefined ? {} : { detail }),
      previousStatus,
      status: this.#overall(),
      at,
    });
  }

  #overall(): HealthStatus {
    const statuses: HealthStatus[] = [];
    for (const entry of this.#entries.values()) statuses.push(entry.status);
    return worstStatus(statuses);
  }
}

/**
 * Options of the health registry and of one registered check, declared once, defaulted once,
 * validated at the edge.
 *
 * @module
 */
import { type Clock, realClock } from '../core/clock.ts';
import { assertInteger, assertKnownKeys, assertNumber, assertObject } from '../core/validate.ts';
import type { HealthReport } from './health-report.ts';

/** A health check: returns (or resolves to) the subsystem's status. A throw counts as unhealthy. */
export type HealthCheck = () => HealthReport | PromiseLike<HealthReport>;

/** Options of one registered check. */
export interface HealthCheckOptions {
  /**
   * Time between the end of one check and the start of the next, in ms (checks never overlap).
   * @default the registry's `intervalMs`
   */
  intervalMs?: number;
  /**
   * A check that has not settled after this long counts as unhealthy, in ms.
   * @default the registry's `timeoutMs`
   */
  timeoutMs?: number;
  /**
   * Failed checks in a row (unhealthy, thrown, rejected, timed out) before the subsystem reads
   * `unhealthy`: one failed check alone does not degrade anything. `degraded` results apply at once.
   * @default the registry's `failureThreshold`
   */
  failureThreshold?: number;
  /**
   * Once unhealthy, the wait before the next check, in ms (a failing dependency is not hammered).
   * @default the registry's `recoveryTimeoutMs`, else this check's `intervalMs`
   */
  recoveryTimeoutMs?: number;
}

/** Options of {@link HealthRegistry}. */
export interface HealthRegistryOptions {
  /**
   * Source of time and timers (timers are unref'd: health checks never keep a process alive).
   * @default realClock
   */
  clock?: Clock;
  /**
   * Default time between checks, in ms.
   * @default 5000
   */
  intervalMs?: number;
  /**
   * Default check timeout, in ms.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * Default failed checks in a row before a checked subsystem reads `unhealthy` (omega's
   * `failure_threshold`).
   * @default 3
   */
  failureThreshold?: number;
  /**
   * Default wait before checking an unhealthy subsystem again, in ms (omega's `recovery_timeout`).
   * @default each check's `intervalMs`
   */
  recoveryTimeoutMs?: number;
}

/** {@link HealthRegistryOptions} with every default applied. */
export interface ResolvedHealthOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  /** Undefined: each check's own interval. */
  readonly recoveryTimeoutMs: number | undefined;
}

/**
 * Validates `options` and applies the defaults.
 *
 * @example
 * ```ts
 * resolveHealthOptions({ intervalMs: 1_000 }); // { clock: realClock, intervalMs: 1000, timeoutMs: 2000 }
 * ```
 */
export function resolveHealthOptions(options: HealthRegistryOptions = {}): ResolvedHealthOptions {
  assertObject('health options', options);
  assertKnownKeys('health', options as Record<string, unknown>, [
    'clock',
    'intervalMs',
    'timeoutMs',
    'failureThreshold',
    'recoveryTimeoutMs',
  ]);
  const intervalMs = options.intervalMs ?? 5_000;
  assertNumber('intervalMs', intervalMs, 1, Number.MAX_SAFE_INTEGER);
  const timeoutMs = options.timeoutMs ?? 2_000;
  assertNumber('timeoutMs', timeoutMs, 1, Number.MAX_SAFE_INTEGER);
  const failureThreshold = options.failureThreshold ?? 3;
  assertInteger('failureThreshold', failureThreshold, 1);
  const recoveryTimeoutMs = options.recoveryTimeoutMs;
  if (recoveryTimeoutMs !== undefined) assertNumber('recoveryTimeoutMs', recoveryTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  return { clock: options.clock ?? realClock, intervalMs, timeoutMs, failureThreshold, recoveryTimeoutMs };
}

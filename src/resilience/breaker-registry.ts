/**
 * The breakers of one runtime: one per routine (per flow) and one per named external
 * dependency, created on first use, publishing every transition on the bus.
 *
 * @module
 */
import type { DisposableHandle } from '../core/disposable.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertFunction, assertKnownKeys, assertName, assertObject } from '../core/validate.ts';
import type { BreakerJSON, BreakerSnapshot, BreakerState, BreakerTransition } from './breaker-engine.ts';
import { type BreakerOptions, breakerSettings, resolveBreakerOptions } from './breaker-options.ts';
import { SluiceBreaker } from './circuit-breaker.ts';
import type { HealthReport, HealthStatus } from './health-report.ts';
import { ListenerSet } from './listener-set.ts';
import { type ResilienceBus, ResilienceTopic, isResilienceBus, publishOn } from './resilience-bus.ts';

/** Options of {@link BreakerRegistry}. */
export interface BreakerRegistryOptions {
  /**
   * Where transitions are published, as topic `breaker.state` with a {@link BreakerTransition}.
   * @default undefined (not published)
   */
  bus?: ResilienceBus;
  /**
   * Options every breaker starts from; `forRoutine` / `forDependency` may override them.
   * @default {} (a consecutive breaker: 5 failures, 10 s open)
   */
  defaults?: BreakerOptions;
  /**
   * Saved states by breaker name (from `toJSON()`); a breaker created under a saved name starts
   * in its saved state (cockatiel's `initialState`, per breaker).
   * @default {}
   */
  initialState?: Readonly<Record<string, unknown>>;
}

/** The name of a routine's breaker. */
export function routineBreakerName(flowId: string, routineId: string): string {
  return `routine:${flowId}/${routineId}`;
}

/** The name of a dependency's breaker. */
export function dependencyBreakerName(dependency: string): string {
  return `dependency:${dependency}`;
}

/**
 * How a breaker's state reads as health: closed is healthy; open, half-open and isolated are
 * degraded (calls fail fast or go to a fallback, the runtime still works).
 */
export function breakerHealth(state: BreakerState): HealthStatus {
  return state === 'closed' ? 'healthy' : 'degraded';
}

/**
 * A registry of breakers.
 *
 * @example
 * ```ts
 * const breakers = new BreakerRegistry({ bus: runtime.bus, defaults: { threshold: 3, halfOpenAfterMs: 5_000 } });
 * const breaker = breakers.forRoutine('pipeline', 'fetch');
 * const geo = breakers.forDependency('geo-api', { kind: 'sampling', threshold: 0.5 });
 * breakers.snapshot(); // { 'routine:pipeline/fetch': { state: 'closed', ... }, 'dependency:geo-api': { ... } }
 * ```
 */
export class BreakerRegistry {
  readonly #bus: ResilienceBus | undefined;
  readonly #defaults: BreakerOptions;
  readonly #saved: Map<string, unknown>;
  readonly #breakers = new Map<string, { breaker: SluiceBreaker; subscription: DisposableHandle }>();
  readonly #listeners = new ListenerSet<BreakerTransition>('breakers.onStateChange');

  constructor(options: BreakerRegistryOptions = {}) {
    assertObject('breaker registry options', options);
    assertKnownKeys('breakerRegistry', options as Record<string, unknown>, ['bus', 'defaults', 'initialState']);
    if (options.bus !== undefined && !isResilienceBus(options.bus)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`bus\` to have publish(topic, payload), got ${describeValue(options.bus)}`,
        {
          details: { name: 'bus' },
        },
      );
    }
    assertObject('initialState', options.initialState, true);
    this.#bus = options.bus;
    this.#defaults = { ...(options.defaults ?? {}) };
    resolveBreakerOptions(this.#defaults);
    this.#saved = new Map(Object.entries(options.initialState ?? {}));
  }

  /**
   * The breaker of routine `routineId` of flow `flowId`, named `routine:<flowId>/<routineId>`;
   * created on first use from the defaults and `options`. Asking again returns the same breaker;
   * asking again with different options throws `SLUICE_ERR_INVALID_ARGUMENT`.
   *
   * @example
   * ```ts
   * const lease = breakers.forRoutine('pipeline', 'fetch').tryAcquire();
   * ```
   */
  forRoutine(flowId: string, routineId: string, options?: BreakerOptions): SluiceBreaker {
    assertName('flowId', flowId);
    assertName('routineId', routineId);
    return this.#get(routineBreakerName(flowId, routineId), options);
  }

  /**
   * The breaker of an external dependency a routine declares (shared by every routine that
   * declares it), named `dependency:<name>`.
   *
   * @example
   * ```ts
   * const body = await breakers.forDependency('geo-api').execute(() => lookup(address));
   * ```
   */
  forDependency(name: string, options?: BreakerOptions): SluiceBreaker {
    assertName('dependency', name);
    return this.#get(dependencyBreakerName(name), options);
  }

  /**
   * The breaker named `name`, if one was created.
   *
   * @example
   * ```ts
   * breakers.get('routine:pipeline/fetch')?.reset();
   * ```
   */
  get(name: string): SluiceBreaker | undefined {
    return this.#breakers.get(name)?.breaker;
  }

  /**
   * Subscribes to every breaker's transitions (the same payloads the bus gets).
   *
   * @example
   * ```ts
   * const sub = breakers.onStateChange(({ name, to }) => console.log(name, to));
   * ```
   */
  onStateChange(listener: (transition: BreakerTransition) => void): DisposableHandle {
    assertFunction('listener', listener);
    return this.#listeners.add(listener);
  }

  /**
   * Plain snapshots of every breaker, by name.
   *
   * @example
   * ```ts
   * const open = Object.values(breakers.snapshot()).filter((b) => b.state !== 'closed');
   * ```
   */
  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    for (const [name, { breaker }] of this.#breakers) out[name] = breaker.snapshot();
    return out;
  }

  /**
   * Every breaker's saved state by name; pass it as `initialState` to a new registry.
   *
   * @example
   * ```ts
   * const next = new BreakerRegistry({ initialState: JSON.parse(JSON.stringify(breakers)) });
   * ```
   */
  toJSON(): Record<string, BreakerJSON> {
    const out: Record<string, BreakerJSON> = {};
    for (const [name, { breaker }] of this.#breakers) out[name] = breaker.toJSON();
    return out;
  }

  /**
   * The breakers as one health report: healthy when all are closed, degraded when any is not,
   * naming those.
   *
   * @example
   * ```ts
   * health.register('breakers', () => breakers.health(), { intervalMs: 1_000 });
   * ```
   */
  health(): HealthReport {
    const notClosed: string[] = [];
    for (const [name, { breaker }] of this.#breakers) if (breaker.state !== 'closed') notClosed.push(`${name} ${breaker.state}`);
    return notClosed.length === 0 ? { status: 'healthy' } : { status: 'degraded', detail: notClosed.join(', ') };
  }

  /**
   * Reports every breaker to `health` as its own subsystem, `breaker:<name>` (closed →
   * healthy; open, half-open, isolated → degraded), now and on each transition, including
   * breakers created later. The disposable stops reporting (the subsystems stay as last seen).
   *
   * @example
   * ```ts
   * const binding = breakers.bindHealth(health); // an open breaker makes the runtime degraded
   * ```
   */
  bindHealth(health: { report(name: string, status: HealthStatus, detail?: string): void }): DisposableHandle {
    if (typeof health !== 'object' || health === null || typeof health.report !== 'function') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`health\` to have report(name, status, detail), got ${describeValue(health)}`,
        {
          details: { name: 'health' },
        },
      );
    }
    const report = (name: string, state: BreakerState, retryAfterMs?: number): void => {
      const detail =
        state === 'closed'
          ? undefined
          : state === 'open' && retryAfterMs !== undefined
            ? `open; probes in ${Math.ceil(retryAfterMs)} ms`
            : state;
      health.report(`breaker:${name}`, breakerHealth(state), detail);
    };
    for (const [name, { breaker }] of this.#breakers) report(name, breaker.state);
    return this.#listeners.add((transition) => report(transition.name, transition.to, transition.retryAfterMs));
  }

  /**
   * Stops listening to every breaker (the breakers keep working; nothing more is published).
   *
   * @example
   * ```ts
   * breakers.dispose(); // on runtime shutdown
   * ```
   */
  dispose(): void {
    for (const entry of this.#breakers.values()) entry.subscription.dispose();
  }

  #get(name: string, options: BreakerOptions | undefined): SluiceBreaker {
    const existing = this.#breakers.get(name);
    const merged = { ...this.#defaults, ...(options ?? {}) };
    if (existing !== undefined) {
      if (options !== undefined) {
        const wanted = JSON.stringify(breakerSettings(resolveBreakerOptions(merged)));
        const have = JSON.stringify(existing.breaker.options);
        if (wanted !== have) {
          throw new SluiceError(
            ErrorCode.InvalidArgument,
            `Breaker "${name}" already exists with settings ${have}; asked again with ${wanted}`,
            {
              details: { name, have: existing.breaker.options },
            },
          );
        }
      }
      return existing.breaker;
    }
    const saved = this.#saved.get(name);
    let breaker: SluiceBreaker;
    if (saved === undefined) breaker = new SluiceBreaker(name, merged);
    else {
      // The saved settings win: they are what the saved strategy state was built for.
      breaker = SluiceBreaker.fromJSON(saved, merged.clock === undefined ? {} : { clock: merged.clock });
      if (breaker.name !== name) {
        throw new SluiceError(ErrorCode.InvalidArgument, `Saved breaker state under "${name}" is for breaker "${breaker.name}"`, {
          details: { name, saved: breaker.name },
        });
      }
      this.#saved.delete(name);
    }
    const subscription = breaker.onStateChange((transition) => {
      publishOn(this.#bus, ResilienceTopic.BreakerState, () => transition);
      this.#listeners.emit(transition);
    });
    this.#breakers.set(name, { breaker, subscription });
    return breaker;
  }
}

/**
 * A circuit breaker for one routine or one external dependency: a thin facade that validates
 * and forwards to the engine in `breaker-engine.ts`, where cockatiel's strategies decide when
 * to open.
 *
 * @module
 */
import type { DisposableHandle } from '../core/disposable.ts';
import type { Clock } from '../core/clock.ts';
import { assertFunction, assertName, assertObject } from '../core/validate.ts';
import {
  type BreakerCounters,
  BreakerEngine,
  type BreakerJSON,
  type BreakerLease,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerTransition,
} from './breaker-engine.ts';
import { checkBreakerJSON } from './breaker-json.ts';
import { type BreakerOptions, type ResolvedBreakerOptions, resolveBreakerOptions } from './breaker-options.ts';

/**
 * A circuit breaker. The runtime drives it without wrapping anything: `tryAcquire()` before an
 * activation, `release(success)` when it settles. `execute(fn)` wraps an async function for
 * code that prefers that.
 *
 * - **closed**: calls go through; each result is fed to cockatiel's strategy
 *   (`ConsecutiveBreaker` or `SamplingBreaker`), which decides when to open.
 * - **open**: calls fail fast with {@link BreakerOpenError} (`SLUICE_ERR_CIRCUIT_OPEN`) for
 *   `halfOpenAfterMs`, timed on the injected clock; no timer is armed.
 * - **half-open**: the first call after the delay is the probe, and only it goes through;
 *   the probe's success closes the breaker, its failure re-opens it for another delay.
 * - **isolated**: held open by hand (`isolate()`) until every hold is released or `reset()`.
 *
 * A result that arrives after the breaker moved on (a call that started before it opened) is
 * counted but decides nothing. Every permit must be released or cancelled: a probe that is
 * never released keeps the breaker half-open.
 *
 * @example
 * ```ts
 * const breaker = new SluiceBreaker('dependency:geo-api', { threshold: 3, halfOpenAfterMs: 5_000 });
 * const lease = breaker.tryAcquire();
 * if (!lease.allowed) throw lease.error;               // SLUICE_ERR_CIRCUIT_OPEN
 * try { await callGeoApi(); lease.release(true); }
 * catch (error) { lease.release(false, error); throw error; }
 * ```
 */
export class SluiceBreaker {
  readonly #engine: BreakerEngine;

  /**
   * @param name What the breaker guards, as error messages and events name it
   *   (`routine:<flow>/<routine>`, `dependency:<name>`).
   */
  constructor(name: string, options?: BreakerOptions) {
    assertName('breaker name', name);
    this.#engine = new BreakerEngine(name, resolveBreakerOptions(options));
  }

  /**
   * Rebuilds a breaker from {@link SluiceBreaker.toJSON}: an open breaker stays open for the
   * rest of its delay (on `clock`), an isolated one stays isolated until `reset()`.
   *
   * @example
   * ```ts
   * const saved = JSON.stringify(breaker);
   * const again = SluiceBreaker.fromJSON(JSON.parse(saved), { clock });
   * ```
   */
  static fromJSON(json: unknown, options: { clock?: Clock } = {}): SluiceBreaker {
    assertObject('fromJSON options', options);
    const data = checkBreakerJSON(json);
    const breaker = new SluiceBreaker(data.name, { ...data.settings, ...(options.clock === undefined ? {} : { clock: options.clock }) });
    breaker.#engine.restore(data);
    return breaker;
  }

  /** The breaker's name. */
  get name(): string {
    return this.#engine.name;
  }

  /** Where the breaker is now. An open breaker past its delay reads `open` until a call arrives. */
  get state(): BreakerState {
    return this.#engine.state;
  }

  /** The resolved options (without the clock). */
  get options(): Omit<ResolvedBreakerOptions, 'clock'> {
    return this.#engine.snapshot().settings;
  }

  /**
   * Asks to run one call. Returns a permit to release with the result, or a refusal carrying
   * the coded error to fail the call with. Synchronous and allocation-light: the hot path.
   *
   * @example
   * ```ts
   * const lease = breaker.tryAcquire();
   * if (lease.allowed) runActivation().then(() => lease.release(true), (e) => lease.release(false, e));
   * else routeToFallback(lease.error);
   * ```
   */
  tryAcquire(): BreakerLease {
    return this.#engine.tryAcquire();
  }

  /**
   * Runs `fn` under the breaker: refused calls reject with {@link BreakerOpenError} without
   * running `fn`; a throw or rejection of `fn` counts as a failure and is rethrown.
   *
   * @example
   * ```ts
   * const body = await breaker.execute(() => fetch(url).then((r) => r.text()));
   * ```
   */
  async execute<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    assertFunction('fn', fn);
    const lease = this.#engine.tryAcquire();
    if (!lease.allowed) throw lease.error;
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      lease.release(false, error);
      throw error;
    }
    lease.release(true);
    return result;
  }

  /**
   * Holds the breaker open by hand (for maintenance, or when a dependency is known down) until
   * the returned handle is disposed; holds nest. Releasing the last hold closes the breaker
   * with a fresh strategy.
   *
   * @example
   * ```ts
   * const hold = breaker.isolate();
   * // ... every call fails fast with SLUICE_ERR_CIRCUIT_OPEN ...
   * hold.dispose();
   * ```
   */
  isolate(): DisposableHandle {
    return this.#engine.isolate();
  }

  /**
   * Closes the breaker now, from any state, with a fresh strategy; voids every isolation hold.
   *
   * @example
   * ```ts
   * breaker.reset(); // an operator says the dependency is back
   * ```
   */
  reset(): void {
    this.#engine.reset();
  }

  /**
   * Subscribes to state changes; the disposable unsubscribes. Listeners run synchronously
   * inside the call that caused the change; one that throws is reported, not propagated.
   *
   * @example
   * ```ts
   * const sub = breaker.onStateChange(({ from, to }) => console.log(`${from} -> ${to}`));
   * ```
   */
  onStateChange(listener: (transition: BreakerTransition) => void): DisposableHandle {
    assertFunction('listener', listener);
    return this.#engine.onStateChange(listener);
  }

  /**
   * The counters, a copy.
   *
   * @example
   * ```ts
   * const { calls, failures, rejections } = breaker.counters();
   * ```
   */
  counters(): BreakerCounters {
    return this.#engine.counters();
  }

  /**
   * A plain snapshot: state, settings, when it opened and half-opens, counters, last failure.
   *
   * @example
   * ```ts
   * if (breaker.snapshot().state === 'open') console.log(breaker.snapshot().halfOpenAt);
   * ```
   */
  snapshot(): BreakerSnapshot {
    return this.#engine.snapshot();
  }

  /**
   * The breaker's state as plain JSON (what `JSON.stringify(breaker)` writes), including
   * cockatiel's strategy state; {@link SluiceBreaker.fromJSON} restores it.
   *
   * @example
   * ```ts
   * await writeFile('breaker.json', JSON.stringify(breaker));
   * ```
   */
  toJSON(): BreakerJSON {
    return this.#engine.toJSON();
  }
}

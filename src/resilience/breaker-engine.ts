/**
 * The engine behind {@link SluiceBreaker}: the closed / open / half-open / isolated state
 * machine, driven by the engine's own acquire/release calls instead of by wrapping a function.
 *
 * Why not `CircuitBreakerPolicy.execute()`: sluice runs activations itself (sync or async,
 * inline or on a pool), and the policy (1) times the open state with `Date.now()`, which an
 * injected clock cannot move, (2) makes calls that arrive while half-open *wait* for the probe,
 * which would hold an activation slot, and (3) always costs a promise. So the state machine is
 * here, and the decision *when to open* is cockatiel's: every result is fed to a cockatiel
 * `ConsecutiveBreaker` / `SamplingBreaker` (`success(state)` / `failure(state)`, exactly as the
 * policy feeds them), and the strategy's `state` is what `toJSON()` stores, as cockatiel's own
 * `toJSON()` / `initialState` do. Inputs are trusted (the facade validates).
 *
 * @module
 */
import { CircuitState, ConsecutiveBreaker, type IBreaker, SamplingBreaker } from 'cockatiel';
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';
import { isSluiceError } from '../core/errors.ts';
import { BreakerOpenError } from './breaker-open-error.ts';
import { type BreakerSettings, type ResolvedBreakerOptions, breakerSettings } from './breaker-options.ts';
import { ListenerSet } from './listener-set.ts';

/** Where a breaker is. `isolated` is held open by hand (`isolate()`), until released or reset. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Every breaker state, for validation and docs. */
export const kBreakerStates: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];

/** Why a breaker changed state. */
export type BreakerTransitionReason =
  | 'failures' // the cockatiel strategy decided to open
  | 'half-open' // the open delay elapsed and a call arrived: it is the probe
  | 'probe-succeeded'
  | 'probe-failed'
  | 'isolated'
  | 'released' // the last isolation hold was disposed
  | 'reset';

/** One state change, as `onStateChange` listeners and the `breaker.state` topic see it. */
export interface BreakerTransition {
  /** The breaker's name. */
  readonly name: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** The breaker clock's time of the change, in ms. */
  readonly at: number;
  readonly reason: BreakerTransitionReason;
  /** When `to` is `open`: ms until it lets a probe through. */
  readonly retryAfterMs?: number;
  /** When the change was caused by a failure: what failed. */
  readonly error?: { readonly code?: string; readonly message: string };
}

/** A breaker's counters (a snapshot). */
export interface BreakerCounters {
  /** Calls let through (including probes). */
  calls: number;
  /** Calls released as successful. */
  successes: number;
  /** Calls released as failed. */
  failures: number;
  /** Calls refused with `SLUICE_ERR_CIRCUIT_OPEN`. */
  rejections: number;
  /** State changes. */
  transitions: number;
  /** Results that arrived after the breaker had moved on (counted, but deciding nothing). */
  stale: number;
}

/** A plain snapshot of one breaker. */
export interface BreakerSnapshot {
  readonly name: string;
  readonly state: BreakerState;
  readonly settings: BreakerSettings;
  /** The clock time it last opened, when open or half-open. */
  readonly openedAt?: number;
  /** The clock time it lets a probe through, when open. */
  readonly halfOpenAt?: number;
  /** Times it opened in a row without closing (1 on the first open). */
  readonly opens: number;
  readonly counters: Readonly<BreakerCounters>;
  readonly lastFailure?: { readonly code?: string; readonly message: string };
}

/**
 * A breaker's state as plain JSON, for `SluiceBreaker.fromJSON()`. A half-open breaker is
 * stored as open and due for a probe (as cockatiel stores it). `halfOpenInMs` is relative, so a
 * restored breaker waits at most the rest of its delay on the new process's clock.
 */
export interface BreakerJSON {
  readonly version: 1;
  readonly name: string;
  readonly settings: BreakerSettings;
  readonly state: 'closed' | 'open' | 'isolated';
  /** When `open`: ms left until a probe is let through. */
  readonly halfOpenInMs: number;
  readonly opens: number;
  /** The cockatiel strategy's own state (`IBreaker.state`). */
  readonly breakerState: unknown;
  readonly counters: Readonly<BreakerCounters>;
}

/** A call the breaker let through; release it exactly once with its result. */
export interface BreakerPermit {
  readonly allowed: true;
  /** True when this call is the half-open probe: its result closes or re-opens the breaker. */
  readonly probe: boolean;
  /** Reports the call's result. Later calls of `release` or `cancel` are ignored. */
  release(success: boolean, error?: unknown): void;
  /** The call did not run after all (cancelled, dropped): frees a probe slot, counts nothing. */
  cancel(): void;
}

/** A call the breaker refused. */
export interface BreakerRefusal {
  readonly allowed: false;
  readonly error: BreakerOpenError;
}

/** What `tryAcquire()` returns. */
export type BreakerLease = BreakerPermit | BreakerRefusal;

const kCockatielState: Readonly<Record<BreakerState, CircuitState>> = {
  closed: CircuitState.Closed,
  open: CircuitState.Open,
  'half-open': CircuitState.HalfOpen,
  isolated: CircuitState.Isolated,
};

/** Builds the cockatiel strategy for `settings`. */
export function createStrategy(settings: BreakerSettings): IBreaker {
  return settings.kind === 'consecutive'
    ? new ConsecutiveBreaker(settings.threshold)
    : new SamplingBreaker({
        threshold: settings.threshold,
        duration: settings.samplingDurationMs,
        ...(settings.minimumRps > 0 ? { minimumRps: settings.minimumRps } : {}),
      });
}

function describeError(error: unknown): { code?: string; message: string } | undefined {
  if (error === undefined) return undefined;
  if (isSluiceError(error)) return { code: error.code, message: error.message };
  if (error instanceof Error) return { message: error.message };
  return { message: String(error) };
}

const kSettle = Symbol('settle');
const kCancel = Symbol('cancel');

/** One permit: a single small object on the hot path (no closures). */
class Permit implements BreakerPermit {
  readonly allowed = true as const;
  readonly probe: boolean;
  readonly #engine: BreakerEngine;
  readonly #epoch: number;
  #done = false;

  constructor(engine: BreakerEngine, epoch: number, probe: boolean) {
    this.#engine = engine;
    this.#epoch = epoch;
    this.probe = probe;
  }

  release(success: boolean, error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#engine[kSettle](this.#epoch, this.probe, success, error);
  }

  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#engine[kCancel](this.#epoch, this.probe);
  }
}

/** Restores what {@link BreakerEngine.toJSON} wrote; the facade validated it. */
export type BreakerRestore = Pick<BreakerJSON, 'state' | 'halfOpenInMs' | 'opens' | 'breakerState' | 'counters'>;

/** The breaker state machine. */
export class BreakerEngine {
  readonly name: string;
  readonly options: ResolvedBreakerOptions;
  readonly #listeners = new ListenerSet<BreakerTransition>('breaker.onStateChange');
  #strategy: IBreaker;
  #state: BreakerState = 'closed';
  /** Bumped on every transition; a permit of an older epoch reports a stale result. */
  #epoch = 0;
  #openedAt = 0;
  #halfOpenAt = 0;
  #opens = 0;
  #probeOut = false;
  #holds = 0;
  #lastFailure: { code?: string; message: string } | undefined;
  readonly #counters: BreakerCounters = { calls: 0, successes: 0, failures: 0, rejections: 0, transitions: 0, stale: 0 };

  constructor(name: string, options: ResolvedBreakerOptions) {
    this.name = name;
    this.options = options;
    this.#strategy = createStrategy(options);
  }

  /** Takes over a saved state; called on a fresh engine, before anyone subscribes. */
  restore(saved: BreakerRestore): void {
    this.#strategy.state = structuredClone(saved.breakerState);
    Object.assign(this.#counters, saved.counters);
    this.#opens = saved.opens;
    if (saved.state === 'open') {
      const now = this.options.clock.now();
      this.#state = 'open';
      this.#halfOpenAt = now + saved.halfOpenInMs;
      this.#openedAt = this.#halfOpenAt - this.options.halfOpenAfterMs;
    } else if (saved.state === 'isolated') {
      // Nobody holds the restored isolation's handle: only reset() lifts it.
      this.#state = 'isolated';
      this.#holds = 1;
    }
  }

  get state(): BreakerState {
    return this.#state;
  }

  onStateChange(listener: (transition: BreakerTransition) => void): DisposableHandle {
    return this.#listeners.add(listener);
  }

  tryAcquire(): BreakerLease {
    switch (this.#state) {
      case 'closed':
        this.#counters.calls++;
        return this.#permit(false);
      case 'open': {
        const now = this.options.clock.now();
        if (now < this.#halfOpenAt) return this.#refuse(this.#halfOpenAt - now);
        this.#transition('half-open', 'half-open', now);
        this.#probeOut = true;
        this.#counters.calls++;
        return this.#permit(true);
      }
      case 'half-open':
        if (!this.#probeOut) {
          this.#probeOut = true;
          this.#counters.calls++;
          return this.#permit(true);
        }
        return this.#refuse(0);
      default:
        return this.#refuse(undefined);
    }
  }

  isolate(): DisposableHandle {
    if (this.#state !== 'isolated') this.#transition('isolated', 'isolated', this.options.clock.now());
    this.#holds++;
    const epoch = this.#epoch;
    return createDisposable(() => {
      // A reset (or a later isolation after one) since this hold was taken voids it.
      if (this.#state !== 'isolated' || this.#epoch !== epoch) return;
      if (--this.#holds > 0) return;
      this.#strategy = createStrategy(this.options);
      this.#opens = 0;
      this.#transition('closed', 'released', this.options.clock.now());
    });
  }

  reset(): void {
    this.#strategy = createStrategy(this.options);
    this.#holds = 0;
    this.#opens = 0;
    this.#probeOut = false;
    if (this.#state !== 'closed') this.#transition('closed', 'reset', this.options.clock.now());
    else this.#epoch++;
  }

  counters(): BreakerCounters {
    return { ...this.#counters };
  }

  snapshot(): BreakerSnapshot {
    const open = this.#state === 'open' || this.#state === 'half-open';
    return {
      name: this.name,
      state: this.#state,
      settings: breakerSettings(this.options),
      ...(open ? { openedAt: this.#openedAt } : {}),
      ...(this.#state === 'open' ? { halfOpenAt: this.#halfOpenAt } : {}),
      opens: this.#opens,
      counters: this.counters(),
      ...(this.#lastFailure === undefined ? {} : { lastFailure: { ...this.#lastFailure } }),
    };
  }

  toJSON(): BreakerJSON {
    const state = this.#state === 'half-open' ? 'open' : this.#state;
    const halfOpenInMs = this.#state === 'open' ? Math.max(0, this.#halfOpenAt - this.options.clock.now()) : 0;
    return {
      version: 1,
      name: this.name,
      settings: breakerSettings(this.options),
      state,
      halfOpenInMs,
      opens: this.#opens,
      breakerState: structuredClone(this.#strategy.state),
      counters: this.counters(),
    };
  }

  #permit(probe: boolean): BreakerPermit {
    return new Permit(this, this.#epoch, probe);
  }

  /** @internal Called by a {@link Permit} once, with its call's result. */
  [kSettle](epoch: number, probe: boolean, success: boolean, error: unknown): void {
    this.#release(epoch, probe, success, error);
  }

  /** @internal Called by a {@link Permit} whose call never ran. */
  [kCancel](epoch: number, probe: boolean): void {
    this.#counters.calls--;
    if (probe && this.#epoch === epoch && this.#state === 'half-open') this.#probeOut = false;
  }

  #release(epoch: number, probe: boolean, success: boolean, error: unknown): void {
    const counters = this.#counters;
    if (success) counters.successes++;
    else {
      counters.failures++;
      this.#lastFailure = describeError(error) ?? { message: 'failed' };
    }
    if (epoch !== this.#epoch) {
      counters.stale++;
      return;
    }
    const current = kCockatielState[this.#state];
    if (probe) {
      this.#probeOut = false;
      if (success) {
        this.#strategy.success(current);
        this.#opens = 0;
        this.#transition('closed', 'probe-succeeded', this.options.clock.now());
      } else {
        this.#strategy.failure(current);
        this.#open('probe-failed', error);
      }
      return;
    }
    if (success) this.#strategy.success(current);
    else if (this.#strategy.failure(current)) this.#open('failures', error);
  }

  #open(reason: BreakerTransitionReason, error: unknown): void {
    const now = this.options.clock.now();
    this.#opens++;
    this.#openedAt = now;
    this.#halfOpenAt = now + this.options.halfOpenAfterMs;
    this.#transition('open', reason, now, error);
  }

  #refuse(retryAfterMs: number | undefined): BreakerRefusal {
    this.#counters.rejections++;
    const state = this.#state;
    const why =
      state === 'isolated'
        ? 'is isolated (held open by hand) until it is released or reset'
        : state === 'half-open'
          ? 'is half-open and its one probe call is still running'
          : `is open after ${this.#describeCause()}; it lets a probe through in ${Math.ceil(retryAfterMs ?? 0)} ms`;
    const last = this.#lastFailure === undefined ? '' : ` (last failure: ${this.#lastFailure.message})`;
    const error = new BreakerOpenError(this.name, `Circuit breaker "${this.name}" ${why}${last}`, retryAfterMs, {
      details: {
        breaker: this.name,
        state,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs, halfOpenAt: this.#halfOpenAt }),
        ...(this.#lastFailure === undefined ? {} : { lastFailure: this.#lastFailure }),
      },
    });
    return { allowed: false, error };
  }

  #describeCause(): string {
    const { kind, threshold, samplingDurationMs } = this.options;
    if (this.#opens > 1) return `a failed probe (opened ${this.#opens} times in a row)`;
    return kind === 'consecutive'
      ? `${threshold} consecutive failures`
      : `more than ${Math.round(threshold * 100)}% of calls failed over ${samplingDurationMs} ms`;
  }

  #transition(to: BreakerState, reason: BreakerTransitionReason, at: number, error?: unknown): void {
    const from = this.#state;
    this.#state = to;
    this.#epoch++;
    this.#counters.transitions++;
    if (this.#listeners.size === 0) return;
    const described = describeError(error);
    this.#listeners.emit({
      name: this.name,
      from,
      to,
      at,
      reason,
      ...(to === 'open' ? { retryAfterMs: this.#halfOpenAt - at } : {}),
      ...(described === undefined ? {} : { error: described }),
    });
  }
}

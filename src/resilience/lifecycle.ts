/**
 * The runtime's lifecycle as an explicit state machine: `created → starting → running ⇄
 * degraded → stopping → stopped`, or `error`. Transitions outside the table are rejected with a
 * coded error, every change is recorded, announced to listeners and published on the bus.
 *
 * @module
 */
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';
import { type Clock, realClock } from '../core/clock.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertFunction, assertInteger, assertKnownKeys, assertName, assertObject, assertOneOf } from '../core/validate.ts';
import type { HealthSource } from './health.ts';
import type { HealthStatus } from './health-report.ts';
import { ListenerSet } from './listener-set.ts';
import { type ResilienceBus, ResilienceTopic, isResilienceBus, publishOn } from './resilience-bus.ts';

/** Where a runtime is in its life. */
export type RuntimeState = 'created' | 'starting' | 'running' | 'degraded' | 'stopping' | 'stopped' | 'error';

/** Every runtime state, in life order. */
export const kRuntimeStates: readonly RuntimeState[] = ['created', 'starting', 'running', 'degraded', 'stopping', 'stopped', 'error'];

/**
 * The transitions allowed from each state. `stopped` is final. `error` (a start that failed,
 * a fatal fault) can still be shut down. `created → stopping` is a close before any start.
 */
export const kRuntimeTransitions: Readonly<Record<RuntimeState, readonly RuntimeState[]>> = {
  created: ['starting', 'stopping', 'error'],
  starting: ['running', 'degraded', 'stopping', 'error'],
  running: ['degraded', 'stopping', 'error'],
  degraded: ['running', 'stopping', 'error'],
  stopping: ['stopped', 'error'],
  stopped: [],
  error: ['stopping', 'stopped'],
};

/** One recorded transition; also the payload of `runtime.state` on the bus. */
export interface RuntimeTransition {
  /** The machine's name (the runtime's). */
  readonly name: string;
  readonly from: RuntimeState;
  readonly to: RuntimeState;
  /** The clock's time of the change, in ms. */
  readonly at: number;
  /** Why, in words, when the caller said. */
  readonly reason?: string;
  /** 1 for the first transition, counting up (history is capped; `seq` shows what was cut). */
  readonly seq: number;
}

/** Options of {@link RuntimeStateMachine}. */
export interface RuntimeStateMachineOptions {
  /**
   * The name events carry (the runtime's name).
   * @default 'runtime'
   */
  name?: string;
  /**
   * Where transitions are published, as topic `runtime.state`.
   * @default undefined (not published)
   */
  bus?: ResilienceBus;
  /**
   * Transitions `history()` keeps (the oldest are dropped first).
   * @default 100
   */
  historyLimit?: number;
  /**
   * Source of time.
   * @default realClock
   */
  clock?: Clock;
}

/**
 * The runtime state machine.
 *
 * A transition requested from inside a listener is applied at once (the state moves on), and
 * announced after the current one has reached every listener and the bus, so every observer
 * sees transitions in the order they happened.
 *
 * @example
 * ```ts
 * const lifecycle = new RuntimeStateMachine({ name: 'etl', bus });
 * lifecycle.transition('starting');
 * lifecycle.transition('running');
 * lifecycle.bindHealth(health);         // running ⇄ degraded follows health from now on
 * lifecycle.transition('stopping', 'close() called');
 * lifecycle.transition('stopped');
 * lifecycle.transition('running');      // throws SLUICE_ERR_INVALID_TRANSITION
 * ```
 */
export class RuntimeStateMachine {
  readonly #name: string;
  readonly #bus: ResilienceBus | undefined;
  readonly #historyLimit: number;
  readonly #clock: Clock;
  readonly #listeners = new ListenerSet<RuntimeTransition>('lifecycle.onTransition');
  readonly #history: RuntimeTransition[] = [];
  readonly #queue: RuntimeTransition[] = [];
  #state: RuntimeState = 'created';
  #seq = 0;
  #announcing = false;

  constructor(options: RuntimeStateMachineOptions = {}) {
    assertObject('lifecycle options', options);
    assertKnownKeys('lifecycle', options as Record<string, unknown>, ['name', 'bus', 'historyLimit', 'clock']);
    this.#name = options.name ?? 'runtime';
    assertName('name', this.#name);
    if (options.bus !== undefined && !isResilienceBus(options.bus)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`bus\` to have publish(topic, payload), got ${describeValue(options.bus)}`,
        {
          details: { name: 'bus' },
        },
      );
    }
    this.#bus = options.bus;
    this.#historyLimit = options.historyLimit ?? 100;
    assertInteger('historyLimit', this.#historyLimit, 0);
    this.#clock = options.clock ?? realClock;
  }

  /** The current state. */
  get state(): RuntimeState {
    return this.#state;
  }

  /** True in `running` or `degraded`: the runtime takes work. */
  get isServing(): boolean {
    return this.#state === 'running' || this.#state === 'degraded';
  }

  /** True in `stopped` (nothing can follow). */
  get isFinal(): boolean {
    return kRuntimeTransitions[this.#state].length === 0;
  }

  /**
   * True when the table allows `to` from the current state.
   *
   * @example
   * ```ts
   * if (lifecycle.canTransition('degraded')) lifecycle.transition('degraded', 'store unhealthy');
   * ```
   */
  canTransition(to: RuntimeState): boolean {
    return kRuntimeTransitions[this.#state].includes(to);
  }

  /**
   * Moves to `to`, or throws `SLUICE_ERR_INVALID_TRANSITION` naming both states (staying where
   * it was). Returns the recorded transition.
   *
   * @example
   * ```ts
   * lifecycle.transition('error', `start failed: ${error.message}`);
   * ```
   */
  transition(to: RuntimeState, reason?: string): RuntimeTransition {
    assertOneOf('to', to, kRuntimeStates);
    if (reason !== undefined && typeof reason !== 'string') {
      throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`reason\` to be a string, got ${describeValue(reason)}`, {
        details: { name: 'reason' },
      });
    }
    const from = this.#state;
    if (!this.canTransition(to)) {
      const allowed = kRuntimeTransitions[from];
      throw new SluiceError(
        ErrorCode.InvalidTransition,
        `Runtime "${this.#name}" cannot go from \`${from}\` to \`${to}\`; from \`${from}\` it can go to ` +
          `${allowed.length === 0 ? 'nothing (final)' : allowed.map((s) => `\`${s}\``).join(', ')}`,
        { details: { name: this.#name, from, to, allowed: [...allowed] } },
      );
    }
    const record: RuntimeTransition = {
      name: this.#name,
      from,
      to,
      at: this.#clock.now(),
      ...(reason === undefined ? {} : { reason }),
      seq: ++this.#seq,
    };
    this.#state = to;
    if (this.#historyLimit > 0) {
      this.#history.push(record);
      if (this.#history.length > this.#historyLimit) this.#history.shift();
    }
    this.#queue.push(record);
    this.#announce();
    return { ...record };
  }

  /**
   * The recorded transitions, oldest first, at most `historyLimit` (copies).
   *
   * @example
   * ```ts
   * lifecycle.history().map((t) => `${t.from}->${t.to}`); // ['created->starting', 'starting->running']
   * ```
   */
  history(): RuntimeTransition[] {
    return this.#history.map((t) => ({ ...t }));
  }

  /**
   * Subscribes to transitions; the disposable unsubscribes.
   *
   * @example
   * ```ts
   * const sub = lifecycle.onTransition(({ from, to, reason }) => log.info(`${from} -> ${to}`, reason));
   * ```
   */
  onTransition(listener: (transition: RuntimeTransition) => void): DisposableHandle {
    assertFunction('listener', listener);
    return this.#listeners.add(listener);
  }

  /**
   * Lets `health` drive `running ⇄ degraded`: a degraded or unhealthy overall status moves a
   * running runtime to degraded, and healthy (or unknown) moves it back; entering `running`
   * while health is bad goes on to `degraded` at once. States other than running/degraded are
   * left alone. The disposable ends the binding.
   *
   * @example
   * ```ts
   * const binding = lifecycle.bindHealth(health);
   * // ... in close(): binding.dispose(); lifecycle.transition('stopping');
   * ```
   */
  bindHealth(health: HealthSource): DisposableHandle {
    if (typeof health !== 'object' || health === null || typeof health.snapshot !== 'function' || typeof health.onChange !== 'function') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`health\` to have snapshot() and onChange(), got ${describeValue(health)}`,
        {
          details: { name: 'health' },
        },
      );
    }
    const follow = (status: HealthStatus, why: string): void => {
      const bad = status === 'degraded' || status === 'unhealthy';
      if (bad && this.#state === 'running') this.transition('degraded', why);
      else if (!bad && this.#state === 'degraded') this.transition('running', why);
    };
    const byHealth = health.onChange((change) => {
      if (change.status === change.previousStatus) return;
      const detail = change.detail === undefined ? '' : ` (${change.detail})`;
      follow(change.status, `health ${change.status}: ${change.subsystem} ${change.to}${detail}`);
    });
    const byLifecycle = this.onTransition((transition) => {
      if (transition.to !== 'running') return;
      const status = health.snapshot().status;
      if (status === 'degraded' || status === 'unhealthy') follow(status, `health ${status} on entering running`);
    });
    follow(health.snapshot().status, `health ${health.snapshot().status} when bound`);
    return createDisposable(() => {
      byHealth.dispose();
      byLifecycle.dispose();
    });
  }

  #announce(): void {
    if (this.#announcing) return;
    this.#announcing = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        const transition = next;
        publishOn(this.#bus, ResilienceTopic.RuntimeState, () => ({ ...transition }));
        this.#listeners.emit({ ...transition });
      }
    } finally {
      this.#announcing = false;
    }
  }
}

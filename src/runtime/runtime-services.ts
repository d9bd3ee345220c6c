/**
 * What a Runtime runs beside its flows, started in order and stopped in reverse: the lifecycle
 * state machine, the health registry (store, pool, bus, governor, breakers), circuit breakers,
 * the durable recording, the governor registration and run heartbeats.
 *
 * Lifecycle: `created → starting → running ⇄ degraded → stopping → stopped` (or `error` when
 * start fails). A runtime with neither `record` nor `governor` starts by itself on first use;
 * one with either needs `await runtime.start()`. The runtime is `degraded` while any subsystem
 * reports degraded or unhealthy, and back to `running` when all recover.
 */
import type { DisposableHandle } from '../core/disposable.ts';
import { createHeartbeat, type EventBus, type Heartbeat } from '../bus/index.ts';
import type { RoutineEntry } from '../core/flow.ts';
import type { ThreadPool } from '../pool/index.ts';
import {
  BreakerRegistry,
  HealthRegistry,
  RuntimeStateMachine,
  type BreakerOptions,
  type HealthReport,
  type ResilienceBus,
  type RuntimeState,
  type SluiceBreaker,
} from '../resilience/index.ts';
import { RunRecording, type RecordingOutcome } from './run-recording.ts';

const kNothingRecorded: RecordingOutcome = Object.freeze({ flushed: true, notPersisted: 0 });
import type { ResolvedRuntimeOptions } from './runtime-options.ts';
import { RuntimeGovernance, type GovernedRuntime } from './runtime-governable.ts';

/** The runtime's services. */
export class RuntimeServices {
  readonly lifecycle: RuntimeStateMachine;
  readonly health: HealthRegistry;
  readonly breakers: BreakerRegistry;
  readonly #options: ResolvedRuntimeOptions;
  readonly #bus: EventBus;
  readonly #pool: () => ThreadPool | undefined;
  #recording: RunRecording | undefined;
  #governance: RuntimeGovernance | undefined;
  #heartbeat: Heartbeat | undefined;
  #healthBinding: DisposableHandle | undefined;
  #breakerBinding: DisposableHandle | undefined;
  #busDrops = 0;

  constructor(options: ResolvedRuntimeOptions, pool: () => ThreadPool | undefined) {
    this.#options = options;
    this.#bus = options.bus;
    this.#pool = pool;
    const bus: ResilienceBus = {
      publish: (topic, payload) => (this.#bus.isClosed ? undefined : this.#bus.publish(topic, payload, { runId: options.runId })),
      hasSubscribers: (topic) => !this.#bus.isClosed && this.#bus.hasSubscribers(topic),
    };
    this.lifecycle = new RuntimeStateMachine({ name: options.name, bus, clock: options.clock });
    this.health = new HealthRegistry({ clock: options.clock, intervalMs: options.healthIntervalMs });
    this.breakers = new BreakerRegistry({ bus, defaults: { ...options.breakers.defaults, clock: options.clock } });
  }

  get state(): RuntimeState {
    return this.lifecycle.state;
  }

  /** True while work is admitted: `running` or `degraded`. */
  get isServing(): boolean {
    return this.lifecycle.isServing;
  }

  /** True when `start()` must be awaited before work (a log to open, a governor to join). */
  get needsStart(): boolean {
    return this.#options.record !== undefined || this.#options.governor !== undefined;
  }

  get recording(): RunRecording | undefined {
    return this.#recording;
  }

  /**
   * Events of the run the recording took, counting `extra` more about to be published (the
   * event that carries the count): undefined without a recording.
   */
  recordedCount(extra = 0): number | undefined {
    const recording = this.#recording;
    return recording === undefined ? undefined : recording.taken + extra;
  }

  get governance(): RuntimeGovernance | undefined {
    return this.#governance;
  }

  /** Starts everything; `view` is what the governor sees of the runtime. */
  async start(view: GovernedRuntime): Promise<void> {
    this.lifecycle.transition('starting');
    try {
      const { record, governor, clock } = this.#options;
      if (record !== undefined) this.#recording = await RunRecording.open(this.#bus, this.#options.runId, record, clock);
      if (governor !== undefined) {
        const ceiling = Math.max(this.#options.pool.maxThreads ?? 1, this.#options.pool.threads ?? 1);
        this.#governance = new RuntimeGovernance(governor, view, clock, ceiling);
      }
      this.#startRest();
    } catch (error) {
      this.lifecycle.transition('error', (error as Error)?.message);
      await this.stop(1_000);
      throw error;
    }
  }

  /** Starts what needs no waiting (a runtime without `record` and `governor`). */
  startNow(): void {
    this.lifecycle.transition('starting');
    this.#startRest();
  }

  #startRest(): void {
    const { clock, heartbeatMs, runId } = this.#options;
    if (heartbeatMs > 0) {
      // A recording run's beats say how many events the recording took so far: a reader of the
      // log compares it with what the log holds up to the beat, and knows whether events were lost.
      const details = this.#recording === undefined ? undefined : () => ({ recorded: this.recordedCount(1) });
      this.#heartbeat = createHeartbeat(this.#bus, {
        runId,
        intervalMs: heartbeatMs,
        clock,
        ...(details === undefined ? {} : { details }),
      }).start();
    }
    this.health.register('bus', () => this.#busHealth());
    this.health.register('pool', () => this.#poolHealth());
    const recording = this.#recording;
    if (recording !== undefined) this.health.register('store', () => RuntimeServices.#sinkHealth(recording));
    if (this.#governance !== undefined) this.health.register('governor', () => ({ status: 'healthy' }));
    const transport = this.#options.transport;
    if (transport !== undefined)
      this.health.register(transport.name, () => transport.check(), { intervalMs: Math.min(1_000, this.#options.healthIntervalMs) });
    this.#breakerBinding = this.breakers.bindHealth(this.health);
    this.health.start();
    this.lifecycle.transition('running');
    this.#healthBinding = this.lifecycle.bindHealth(this.health);
  }

  /** The breakers guarding `entry` of flow `flowId`: its own and its dependencies'. */
  breakersFor(flowId: string, entry: RoutineEntry): SluiceBreaker[] {
    const list: SluiceBreaker[] = [];
    const clock = this.#options.clock;
    if (entry.breaker !== undefined)
      list.push(this.breakers.forRoutine(flowId, entry.id, { ...this.#options.breakers.defaults, ...entry.breaker, clock }));
    for (const name of entry.dependencies) {
      const options: BreakerOptions = { ...this.#options.breakers.defaults, ...this.#options.breakers.dependencies[name], clock };
      list.push(this.breakers.forDependency(name, options));
    }
    return list;
  }

  /** Moves to `stopping` (from any state that allows it). */
  beginStop(): void {
    this.#healthBinding?.dispose();
    this.#healthBinding = undefined;
    if (this.lifecycle.canTransition('stopping')) this.lifecycle.transition('stopping');
  }

  /**
   * Stops the services in reverse start order; resolves true when the recording took every
   * event (or nothing was recorded).
   */
  async stop(timeout: number): Promise<RecordingOutcome> {
    this.#governance?.dispose();
    this.#governance = undefined;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.health.stop();
    this.#breakerBinding?.dispose();
    this.#breakerBinding = undefined;
    const recording = this.#recording;
    this.#recording = undefined;
    return recording === undefined ? kNothingRecorded : recording.close(timeout);
  }

  /** Moves to `stopped`. */
  finishStop(): void {
    if (this.lifecycle.canTransition('stopped')) this.lifecycle.transition('stopped');
  }

  #busHealth(): HealthReport {
    let drops = 0;
    for (const sub of this.#bus.subscribers()) drops += sub.dropped;
    const grew = drops > this.#busDrops;
    this.#busDrops = drops;
    // A slow subscriber losing its oldest events is by design; it is worth a look, not an outage.
    return grew ? { status: 'degraded', detail: `slow subscribers lost ${drops} events so far` } : { status: 'healthy' };
  }

  #poolHealth(): HealthReport {
    const pool = this.#pool();
    if (pool === undefined) return { status: 'unknown', detail: 'no pool routine has run' };
    const stats = pool.stats();
    if (stats.status === 'closed') return { status: 'unhealthy', detail: 'the pool is closed' };
    if (stats.threadsAlive < stats.threads)
      return { status: 'degraded', detail: `${stats.threadsAlive} of ${stats.threads} threads alive` };
    return { status: 'healthy' };
  }

  static #sinkHealth(recording: RunRecording): HealthReport {
    const health = recording.sink.health();
    return health.reason === undefined ? { status: health.status } : { status: health.status, detail: health.reason };
  }
}

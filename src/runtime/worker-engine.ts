/**
 * The engine behind one {@link WorkerState}: a runner per routine with its own slots, the
 * connections wired between them, and the count of this worker's unfinished jobs (so a worker
 * can be drained and stopped).
 */
import type { CheckpointInfo } from '../core/checkpoint-info.ts';
import { RealClock, type Clock } from '../core/clock.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { Flow } from '../core/flow.ts';
import type { SlotStatus } from '../core/slot.ts';
import { WorkerState, kSetStatus } from '../core/worker-state.ts';
import { RoutineRunner, type RunnerHost } from './routine-runner.ts';
import type { EngineEvents } from './runtime-events.ts';
import type { Scheduler } from './scheduler.ts';
import type { SluiceBreaker } from '../resilience/index.ts';
import type { Activation } from './activation-scope.ts';
import type { PoolBridge } from './pool-bridge.ts';
import { PlacementProbe } from './placement.ts';
import type { RoutineEntry } from '../core/flow.ts';
import type { RemoteRoute, TransportBinding } from './transport.ts';

/** Settings a worker engine takes from its runtime. */
export interface WorkerEngineOptions {
  readonly clock: Clock;
  readonly random: () => number;
  readonly historyLimit: number;
  readonly scheduler: Scheduler;
  /** Runs pool activations; without it every routine runs inline. */
  readonly pool?: PoolBridge;
  readonly events: EngineEvents;
  /** The breakers guarding a routine (absent: no breakers). */
  readonly breakersFor?: (entry: RoutineEntry) => readonly SluiceBreaker[];
  /** Saves the worker (the runtime's checkpoint). */
  readonly checkpoint: (workerId: string) => Promise<CheckpointInfo>;
  /** Binds the worker to the runtime's transport when its flow has distributed routines. */
  readonly bindTransport?: (engine: WorkerEngine) => TransportBinding | undefined;
}

/** Where a routine runs without a pool: inline, never measured. */
/** `performance.timeOrigin` read once: its getter asks the runtime each time. */
const kTimeOrigin = performance.timeOrigin;
const kInline = new PlacementProbe('inline', { samples: 1, thresholdUs: 0, poolable: false });

/** Runs one worker of a flow. */
export class WorkerEngine implements RunnerHost {
  readonly worker: WorkerState;
  readonly flow: Flow;
  readonly clock: Clock;
  readonly random: () => number;
  readonly events: EngineEvents;
  readonly runners = new Map<string, RoutineRunner>();
  #paused = false;
  #quietWaiters: Array<() => void> = [];
  readonly #abort = new AbortController();
  readonly #scheduler: Scheduler;
  readonly #realClock: boolean;
  /** See `RunnerHost.stamp`. */
  readonly stamp: Scheduler;
  readonly #pool: PoolBridge | undefined;
  readonly #breakersFor: ((entry: RoutineEntry) => readonly SluiceBreaker[]) | undefined;
  #activeJobs = 0;
  #idleWaiters: Array<() => void> = [];
  /** The transport's binding, when the flow's distributed routines run across processes. */
  readonly transport: TransportBinding | undefined;

  constructor(workerId: string, flow: Flow, options: WorkerEngineOptions) {
    this.flow = flow;
    this.clock = options.clock;
    this.random = options.random;
    this.events = options.events;
    this.#scheduler = options.scheduler;
    this.stamp = options.scheduler;
    this.#realClock = this.clock instanceof RealClock;
    this.#pool = options.pool;
    this.#breakersFor = options.breakersFor;
    this.worker = new WorkerState(workerId, flow.id, options.historyLimit, {
      queueStatus: () => this.queueStatus(),
      checkpoint: () => options.checkpoint(workerId),
    });
    for (const entry of flow.routines) this.runners.set(entry.id, new RoutineRunner(entry, this));
    this.transport = options.bindTransport?.(this);
    for (const c of flow.connections) {
      const source = this.runners.get(c.source) as RoutineRunner;
      const remote = this.remote(c.target, c.slot);
      if (remote !== undefined) source.router.connect(c.event, remote.target, remote.slot);
      else source.connect(c.event, this.runners.get(c.target) as RoutineRunner, c.slot);
    }
  }

  /** Where items for `routineId.slot` go when the routine runs across processes; undefined when in-process. */
  remote(routineId: string, slot: string): RemoteRoute | undefined {
    if (this.transport === undefined) return undefined;
    const entry = this.runners.get(routineId)?.entry;
    if (entry?.distributed === undefined || entry.routine.slots.every((s) => s.name !== slot)) return undefined;
    return this.transport.route(routineId, slot);
  }

  wallTime(mono: number): number {
    return this.#realClock ? kTimeOrigin + mono : Date.now() - (this.clock.now() - mono);
  }

  get workerSignal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Unfinished jobs of this worker. */
  get activeJobs(): number {
    return this.#activeJobs;
  }

  markReady(runner: RoutineRunner): void {
    this.#scheduler.markReady(runner);
  }

  breakersFor(entry: RoutineEntry): readonly SluiceBreaker[] {
    return this.#breakersFor?.(entry) ?? [];
  }

  runnerOf(routineId: string): RoutineRunner {
    return this.runner(routineId);
  }

  placementFor(entry: RoutineEntry): PlacementProbe {
    return this.#pool?.placementFor(this.flow, entry) ?? kInline;
  }

  runOnPool(runner: RoutineRunner, activation: Activation, done: (activation: Activation, error: unknown) => void): void {
    (this.#pool as PoolBridge).run(this.flow, this.worker, runner, activation, done);
  }

  poolWindow(): number {
    return this.#pool?.window() ?? 1;
  }

  /** Caps the batches the policy of `routineId` takes (undefined lifts the cap); a coded error for an unknown routine. */
  setBatchLimit(routineId: string, limit: number | undefined): void {
    this.runner(routineId).setBatchLimit(limit);
  }

  /** The runner of `routineId`, or a coded error naming the flow and routine. */
  runner(routineId: string): RoutineRunner {
    const runner = this.runners.get(routineId);
    if (runner === undefined) {
      throw new SluiceError(
        ErrorCode.RoutineNotFound,
        `Flow "${this.flow.id}" has no routine "${routineId}" (routines: ${[...this.runners.keys()].join(', ') || 'none'})`,
        { details: { flowId: this.flow.id, routineId } },
      );
    }
    return runner;
  }

  jobStarted(): void {
    this.#activeJobs++;
  }

  jobEnded(): void {
    this.#activeJobs--;
    if (this.#activeJobs === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves when this worker has no unfinished job. */
  idle(): Promise<void> {
    if (this.#activeJobs === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Holds the worker for a checkpoint: no activation starts until {@link resume}. */
  pause(): void {
    this.#paused = true;
  }

  /** Lets activations start again, and evaluates every routine. */
  resume(): void {
    this.#paused = false;
    for (const runner of this.runners.values()) runner.wake('data');
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Resolves once no activation of this worker runs (call while paused). */
  quiet(): Promise<void> {
    if (this.#isQuiet()) return Promise.resolve();
    return new Promise((resolve) => this.#quietWaiters.push(resolve));
  }

  activationSettled(): void {
    if (this.#quietWaiters.length === 0 || !this.#isQuiet()) return;
    const waiters = this.#quietWaiters;
    this.#quietWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #isQuiet(): boolean {
    for (const runner of this.runners.values()) if (runner.running > 0) return false;
    return true;
  }

  /** Removes queued items of ended jobs from every slot. */
  purgeEnded(): void {
    for (const runner of this.runners.values()) runner.purgeEnded();
  }

  /** Snapshots of every slot. */
  queueStatus(): SlotStatus[] {
    const out: SlotStatus[] = [];
    for (const runner of this.runners.values()) for (const slot of runner.slots) out.push(slot.status());
    return out;
  }

  /** Items queued in every slot together. */
  queuedItems(): number {
    let n = 0;
    for (const runner of this.runners.values()) for (const slot of runner.slots) n += slot.length;
    return n;
  }

  setStopping(): void {
    this.worker[kSetStatus]('stopping');
  }

  /** Aborts running activations' signals, drops timers and queued items; the worker is stopped. */
  stop(): void {
    this.#abort.abort(new SluiceError(ErrorCode.WorkerNotRunning, `Worker "${this.worker.workerId}" was stopped`));
    for (const runner of this.runners.values()) runner.shutdown();
    this.worker[kSetStatus]('stopped');
  }
}

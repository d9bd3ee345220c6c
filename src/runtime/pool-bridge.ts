/**
 * The runtime's side of pool activations: packs a batch of activations of one routine into one
 * columnar task, sends it through the thread pool, and applies what the logic did in the thread
 * — state patches, job data writes and emits, in the order they happened — through the same
 * paths inline logic uses (`emitFrom` for routing, overflow rules and job accounting; the
 * worker's state merge). A whole batch is encoded in one pass and settled in one pass: no
 * promise, closure or payload object per activation.
 *
 * Items are not checked for structured-clonability before they are sent: `postMessage` checks
 * them anyway. When it refuses a batch (`DataCloneError`), the activations of that batch are
 * checked one by one; those holding a value that cannot cross threads fail with
 * `SLUICE_ERR_NOT_CLONABLE` naming the routine, the slot, the path and the type, and the others
 * are sent again.
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { Flow, RoutineEntry } from '../core/flow.ts';
import { JobContext, kEnd, kRawData, kRawMetadata } from '../core/job-context.ts';
import { kMergeState, type WorkerState } from '../core/worker-state.ts';
import {
  BatchEncoder,
  OpReader,
  deserializeError,
  warnRuntimeInPoolThread,
  findClassInstance,
  findUnclonable,
  type BatchResult,
  type BatchTask,
  type OpVisitor,
  type PoolTarget,
  type ResolvedThreadPoolOptions,
  type SerializedError,
  type StartMark,
  type ThreadPool,
} from '../pool/index.ts';
import { jobFailure, type Activation, type Item } from './activation-scope.ts';
import { jobList } from './jobs.ts';
import { PlacementProbe } from './placement.ts';

/** What the bridge needs of a runner. */
export interface PoolRunner {
  readonly id: string;
  readonly entry: RoutineEntry;
  emitFrom(activation: Activation, event: string, data: unknown, options: { job: JobContext } | undefined): void;
}

/** Called once per pool activation, with the error it failed with (logic error, crash, timeout, non-clonable data), or undefined. */
export type PoolSettled = (activation: Activation, error: unknown) => void;

/** One activation waiting in a dispatch queue: the routine's state is captured when it is submitted. */
interface Pending {
  readonly activation: Activation;
  readonly state: Record<string, unknown>;
}

const kNoState: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** Failures of a whole batch that may be one activation's fault: the batch is split to find it. */
const kSplitOn: ReadonlySet<string> = new Set([ErrorCode.WorkerCrashed, ErrorCode.ActivationTimeout, ErrorCode.NotClonable]);

/** The dispatch target of one routine of one worker: encodes and settles its batches. */
class RunnerTarget implements PoolTarget<Pending>, OpVisitor<Activation> {
  readonly key: object;
  readonly flowId: string;
  readonly routineId: string;
  readonly timeoutMs: number;
  readonly #flow: Flow;
  readonly #worker: WorkerState;
  readonly #runner: PoolRunner;
  readonly #done: PoolSettled;
  readonly #pool: () => ThreadPool;
  readonly #slots: readonly string[];
  readonly #moduleUrl: string;
  readonly #params: unknown;
  readonly #rejectClassInstances: boolean;
  /** The last state snapshot sent, reused while the routine's state has not changed. */
  #state: Record<string, unknown> = kNoState;

  constructor(
    flow: Flow,
    worker: WorkerState,
    runner: PoolRunner,
    done: PoolSettled,
    pool: () => ThreadPool,
    defaultTimeoutMs: number,
    rejectClassInstances: boolean,
  ) {
    this.#rejectClassInstances = rejectClassInstances;
    const source = flow.source as { moduleUrl: string; params: unknown };
    this.key = runner;
    this.flowId = flow.id;
    this.routineId = runner.id;
    this.timeoutMs = runner.entry.timeoutMs > 0 ? runner.entry.timeoutMs : defaultTimeoutMs;
    this.#flow = flow;
    this.#worker = worker;
    this.#runner = runner;
    this.#done = done;
    this.#pool = pool;
    this.#slots = runner.entry.routine.slots.map((s) => s.name);
    this.#moduleUrl = source.moduleUrl;
    this.#params = source.params;
  }

  /** Queues `activation` for a thread (alone when it was split off a failed batch). */
  submit(activation: Activation): void {
    const pending = { activation, state: this.#snapshot() };
    if (this.#rejectClassInstances) {
      const stripped = this.#findClassInstance(pending);
      if (stripped !== undefined) {
        this.#done(activation, stripped);
        return;
      }
    }
    if (activation.isolated === true) this.#pool().submitAlone(this, pending);
    else this.#pool().submit(this, pending);
  }

  /** The routine's state as of now, as a snapshot shared with earlier activations while it is unchanged. */
  #snapshot(): Record<string, unknown> {
    const live = this.#worker.liveState(this.routineId);
    const last = this.#state;
    if (live === undefined) return last === kNoState ? last : (this.#state = kNoState);
    let n = 0;
    let same = true;
    for (const key in live) {
      n++;
      if (live[key] !== last[key] || !(key in last)) {
        same = false;
        break;
      }
    }
    if (same) {
      let m = 0;
      for (const _ in last) m++;
      if (m === n) return last;
    }
    this.#state = { ...live };
    return this.#state;
  }

  encode(items: readonly Pending[], start: StartMark | undefined): BatchTask {
    const slotCount = this.#slots.length;
    const encoder = new BatchEncoder(this.#slots);
    for (let i = 0; i < items.length; i++) {
      const { activation, state } = items[i] as Pending;
      encoder.activation(state, activation.message, activation.attempt);
      for (let s = 0; s < slotCount; s++) {
        const list = activation.bySlot[s] as Item[];
        for (let k = 0; k < list.length; k++) encoder.item(s, (list[k] as Item).data);
      }
      const jobs = activation.jobs;
      // The raw objects: reading `metadata` or `data` would create an empty object for every job.
      if (jobs instanceof JobContext) encoder.job(jobs.jobId, jobs[kRawMetadata], jobs[kRawData], jobs.traceparent);
      else {
        for (const job of jobs) encoder.job(job.jobId, job[kRawMetadata], job[kRawData], job.traceparent);
        encoder.itemJobs(itemJobsOf(activation, jobs, this.#slots));
      }
    }
    return encoder.task(
      {
        moduleUrl: this.#moduleUrl,
        params: this.#params,
        flowKey: this.#pool().flowKey(this.#flow, this.#moduleUrl),
        flowId: this.flowId,
        routineId: this.routineId,
        workerId: this.#worker.workerId,
      },
      start,
    );
  }

  settle(items: readonly Pending[], result: BatchResult | undefined, error: SluiceError | undefined): void {
    const done = this.#done;
    if (error !== undefined) {
      // A batch refused by postMessage, or a thread that died under it: first look for inputs
      // that cannot cross threads (a throwing getter makes the send fail like a crash).
      if ((error.code === ErrorCode.NotClonable && error.details.dataClone === true) || error.code === ErrorCode.WorkerCrashed) {
        this.#isolateUnclonable(items, error);
        return;
      }
      this.#failBatch(items, error);
      return;
    }
    const batch = result as BatchResult;
    if (batch.error !== undefined) {
      const thrown = deserializeError(batch.error);
      warnRuntimeInPoolThread(thrown as SluiceError);
      this.#failBatch(items, thrown);
      return;
    }
    const reader = new OpReader(batch);
    for (let i = 0; i < items.length; i++) {
      const activation = (items[i] as Pending).activation;
      let outcome: unknown;
      try {
        reader.effects(i, activation, this);
      } catch (refused) {
        // As inline: an emit refused on the main thread (a full slot) fails the activation there.
        outcome = refused;
      }
      const failed = reader.error(i);
      if (failed !== undefined) outcome ??= deserializeError(failed);
      done(activation, outcome);
    }
  }

  /** Effects of an activation's logic in the thread, applied in order (see {@link OpReader}). */
  emit(activation: Activation, event: string, data: unknown, job: number): void {
    this.#runner.emitFrom(activation, event, data, job >= 0 ? { job: jobList(activation.jobs)[job] as JobContext } : undefined);
  }

  state(_activation: Activation, patch: Record<string, unknown>): void {
    this.#worker[kMergeState](this.routineId, patch);
  }

  jobData(activation: Activation, job: number, data: Record<string, unknown>): void {
    Object.assign((jobList(activation.jobs)[job] as JobContext).data, data);
  }

  failJob(activation: Activation, job: number, error: SerializedError): void {
    const target = jobList(activation.jobs)[job] as JobContext;
    target[kEnd]('failed', jobFailure(this.routineId, target.jobId, deserializeError(error)));
  }

  /**
   * postMessage refused a batch: finds the activations holding a value that cannot cross
   * threads, fails them with a coded error naming the routine, the slot and the type, and sends
   * the others again.
   */
  #isolateUnclonable(items: readonly Pending[], error: SluiceError): void {
    const good: Pending[] = [];
    for (const item of items) {
      const bad = this.#findUnclonable(item);
      if (bad === undefined) good.push(item);
      else this.#done(item.activation, bad);
    }
    // Nothing found by the walk (a crash, a value only postMessage refuses): split the batch.
    if (good.length === items.length) {
      this.#failBatch(items, error);
      return;
    }
    for (const item of good) this.#pool().submit(this, item);
  }

  /**
   * A batch failed as a whole (its thread crashed, it ran past its timeout, its reply could not
   * be sent): no activation of it is known to be the culprit, so none is charged yet. Each is
   * sent again alone; the one that fails alone meets its error handler, the others complete.
   * A batch of one is charged at once, and so is an error that would hit every activation the
   * same way (the flow cannot be rebuilt, the pool closed).
   */
  #failBatch(items: readonly Pending[], error: Error): void {
    let sent = 0;
    if (items.length > 1 && kSplitOn.has((error as SluiceError).code)) {
      try {
        for (; sent < items.length; sent++) {
          const item = items[sent] as Pending;
          this.#pool().submitAlone(this, item);
          item.activation.isolated = true;
        }
        return;
      } catch {
        // The pool is closing: what was not sent again fails with the batch's error.
      }
    }
    for (let i = sent; i < items.length; i++) this.#done((items[i] as Pending).activation, error);
  }

  /** With `rejectClassInstances`: the first class instance that would arrive stripped, as a coded error. */
  #findClassInstance(item: Pending): SluiceError | undefined {
    const { activation, state } = item;
    const routineId = this.routineId;
    for (let s = 0; s < this.#slots.length; s++) {
      const slot = this.#slots[s] as string;
      const bad = findClassInstance(
        (activation.bySlot[s] as Item[]).map((entry) => entry.data),
        'items',
      );
      if (bad !== undefined) {
        return new SluiceError(
          ErrorCode.NotClonable,
          `Routine "${routineId}" runs on the pool: slot "${slot}" holds a class instance that would lose its prototype and private ` +
            `fields crossing threads (${bad.path} is an ${bad.type}; rejectClassInstances is on)`,
          {
            details: { routineId, slot, where: bad.path, type: bad.type },
          },
        );
      }
    }
    for (const [what, value] of valuesBesideItems(activation, state)) {
      const bad = findClassInstance(value, what);
      if (bad !== undefined) {
        return new SluiceError(
          ErrorCode.NotClonable,
          `Routine "${routineId}" runs on the pool: its ${what} holds a class instance that would lose its prototype crossing threads ` +
            `(${bad.path} is an ${bad.type}; rejectClassInstances is on)`,
          {
            details: { routineId, where: bad.path, type: bad.type },
          },
        );
      }
    }
    return undefined;
  }

  #findUnclonable(item: Pending): SluiceError | undefined {
    const { activation, state } = item;
    const routineId = this.routineId;
    for (let s = 0; s < this.#slots.length; s++) {
      const slot = this.#slots[s] as string;
      const values = (activation.bySlot[s] as Item[]).map((entry) => entry.data);
      const bad = findUnclonable(values, 'items');
      if (bad !== undefined) {
        return new SluiceError(
          ErrorCode.NotClonable,
          `Routine "${routineId}" cannot run on the pool: slot "${slot}" holds a value that cannot cross threads (${bad.path} is a ` +
            `${bad.type})`,
          {
            details: { routineId, slot, where: bad.path, type: bad.type },
          },
        );
      }
    }
    for (const [what, value] of valuesBesideItems(activation, state)) {
      const bad = findUnclonable(value, what);
      if (bad !== undefined) {
        return new SluiceError(
          ErrorCode.NotClonable,
          `Routine "${routineId}" cannot run on the pool: its ${what} holds a value that cannot cross threads (${bad.path} is a ` +
            `${bad.type})`,
          {
            details: { routineId, where: bad.path, type: bad.type },
          },
        );
      }
    }
    return undefined;
  }
}

function itemJobsOf(activation: Activation, jobs: readonly JobContext[], names: readonly string[]): Record<string, number[][]> {
  const out: Record<string, number[][]> = {};
  names.forEach((name, i) => {
    out[name] = (activation.bySlot[i] as Item[]).map((item) => jobList(item.jobs).map((job) => jobs.indexOf(job)));
  });
  return out;
}

/** Connects workers' runners to the runtime's thread pool. */
export class PoolBridge {
  readonly #pool: () => ThreadPool;
  readonly #options: ResolvedThreadPoolOptions;
  readonly #targets = new WeakMap<PoolRunner, RunnerTarget>();

  constructor(pool: () => ThreadPool, options: ResolvedThreadPoolOptions) {
    this.#pool = pool;
    this.#options = options;
  }

  /** The placement state of a routine of `flow`. */
  placementFor(flow: Flow, entry: RoutineEntry): PlacementProbe {
    return new PlacementProbe(entry.placement, {
      samples: this.#options.autoSamples,
      thresholdUs: this.#options.autoThresholdUs,
      poolable: flow.source !== undefined,
    });
  }

  /** Activations a pool routine of one worker may have in flight. */
  window(): number {
    return this.#pool().window;
  }

  /**
   * Runs `activation` on a pool thread and applies its effects; `done` is called once, with
   * the error the activation failed with, or undefined (synchronously when it cannot be sent).
   */
  run(flow: Flow, worker: WorkerState, runner: PoolRunner, activation: Activation, done: PoolSettled): void {
    let target = this.#targets.get(runner);
    if (target === undefined) {
      if (flow.source === undefined) {
        done(
          activation,
          new SluiceError(
            ErrorCode.PoolUnavailable,
            `Routine "${runner.id}" of flow "${flow.id}" asks for the pool, but the flow was not built by defineFlow(), so threads ` +
              `cannot rebuild it`,
            {
              details: { flowId: flow.id, routineId: runner.id },
            },
          ),
        );
        return;
      }
      target = new RunnerTarget(
        flow,
        worker,
        runner,
        done,
        this.#pool,
        this.#options.activationTimeoutMs,
        this.#options.rejectClassInstances,
      );
      this.#targets.set(runner, target);
    }
    try {
      target.submit(activation);
    } catch (error) {
      // The pool is closing or closed: the activation fails with its coded error.
      done(activation, error);
    }
  }
}

/** What crosses threads with an activation besides its items, each with what to call it in an error. */
function valuesBesideItems(activation: Activation, state: Record<string, unknown>): Array<[string, unknown]> {
  return [
    ['state', state],
    ['message', activation.message],
    ...jobList(activation.jobs).flatMap(
      (job): Array<[string, unknown]> => [
        [`job "${job.jobId}" metadata`, job.metadata],
        [`job "${job.jobId}" data`, job.data],
      ],
    ),
  ];
}

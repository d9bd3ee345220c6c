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
import { JobContext, kEnd } from '../core/job-context.ts';
import { kMergeState, type WorkerState } from '../core/worker-state.ts';
import { OpKind, deserializeError, warnRuntimeInPoolThread, findClassInstance, findUnclonable, type BatchResult, type BatchTask, type PoolTarget, type Mutable, type ResolvedThreadPoolOptions, type SerializedError, type StartMark, type ThreadPool } from '../pool/index.ts';
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
class RunnerTarget implements PoolTarget<Pending> {
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

  constructor(flow: Flow, worker: WorkerState, runner: PoolRunner, done: PoolSettled, pool: () => ThreadPool, defaultTimeoutMs: number, rejectClassInstances: boolean) {
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
    const names = this.#slots;
    const slotCount = names.length;
    const count = items.length;
    // The common shape (one slot, one item, one job, one state per activation) fills two
    // columns; the others are made only when an activation needs them.
    const data: unknown[] = [];
    let itemCounts: number[] | undefined;
    const jobIds: string[] = [];
    let jobCounts: number[] | undefined;
    let jobExtras: Array<readonly [Record<string, unknown>, Record<string, unknown>]> | undefined;
    const states: Record<string, unknown>[] = [];
    let stateAt: number[] | undefined;
    let lastState: Record<string, unknown> | undefined;
    let messages: unknown[] | undefined;
    let attempts: number[] | undefined;
    let itemJobs: Array<Record<string, number[][]> | 0> | undefined;
    for (let i = 0; i < count; i++) {
      const { activation, state } = items[i] as Pending;
      if (slotCount === 1 && itemCounts === undefined && (activation.bySlot[0] as Item[]).length === 1) {
        data.push(((activation.bySlot[0] as Item[])[0] as Item).data);
      } else {
        itemCounts ??= new Array<number>(i * slotCount).fill(1);
        for (let s = 0; s < slotCount; s++) {
          const list = activation.bySlot[s] as Item[];
          itemCounts.push(list.length);
          for (let k = 0; k < list.length; k++) data.push((list[k] as Item).data);
        }
      }
      const jobs = activation.jobs;
      if (jobs instanceof JobContext) {
        jobCounts?.push(1);
        jobExtras = addJob(jobs, jobIds, jobExtras);
      } else {
        (jobCounts ??= new Array<number>(i).fill(1)).push(jobs.length);
        for (const job of jobs) jobExtras = addJob(job, jobIds, jobExtras);
        (itemJobs ??= new Array<Record<string, number[][]> | 0>(count).fill(0))[i] = itemJobsOf(activation, jobs, names);
      }
      if (state !== lastState) {
        if (lastState !== undefined) stateAt ??= new Array<number>(i).fill(0);
        states.push(state);
        lastState = state;
      }
      stateAt?.push(states.length - 1);
      if (activation.message !== undefined) (messages ??= new Array(count))[i] = activation.message;
      if (activation.attempt !== 1) (attempts ??= new Array<number>(count).fill(1))[i] = activation.attempt;
    }
    // Optional columns are set only when present (no spread: a literal with spreads is built
    // slowly, and an absent key costs nothing to clone).
    const task: Mutable<BatchTask> = {
      kind: 'batch',
      moduleUrl: this.#moduleUrl,
      params: this.#params,
      flowKey: this.#pool().flowKey(this.#flow, this.#moduleUrl),
      flowId: this.flowId,
      routineId: this.routineId,
      workerId: this.#worker.workerId,
      count,
      slots: names,
      items: data,
      jobIds,
      states,
    };
    if (itemCounts !== undefined) task.itemCounts = itemCounts;
    if (jobCounts !== undefined) task.jobCounts = jobCounts;
    if (jobExtras !== undefined) task.jobExtras = jobExtras;
    if (stateAt !== undefined) task.stateAt = stateAt;
    if (messages !== undefined) task.messages = messages;
    if (attempts !== undefined) task.attempts = attempts;
    if (itemJobs !== undefined) task.itemJobs = itemJobs;
    if (start !== undefined) {
      if ('startSlot' in start) task.startSlot = start.startSlot;
      else task.started = start.started;
    }
    return task;
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
    const ops = batch.ops;
    const failed = batch.failed;
    let nextFailed = failed === undefined || failed.length === 0 ? -1 : (failed[0] as number);
    let failedAt = 0;
    let k = 0;
    for (let i = 0; i < items.length; i++) {
      const activation = (items[i] as Pending).activation;
      const end = batch.ends === undefined ? ops.length : (batch.ends[i] as number);
      let outcome: unknown;
      try {
        k = this.#apply(activation, ops, k, end);
      } catch (refused) {
        // As inline: an emit refused on the main thread (a full slot) fails the activation there.
        outcome = refused;
        k = end;
      }
      if (i === nextFailed) {
        const thrown = deserializeError((batch.errors as NonNullable<BatchResult['errors']>)[failedAt] as NonNullable<BatchResult['error']>);
        outcome ??= thrown;
        failedAt++;
        nextFailed = failedAt < (failed as readonly number[]).length ? ((failed as readonly number[])[failedAt] as number) : -1;
      }
      done(activation, outcome);
    }
  }

  /** Applies the effects `ops[k..end)` of one activation, in order; returns `end`. */
  #apply(activation: Activation, ops: readonly unknown[], k: number, end: number): number {
    const runner = this.#runner;
    while (k < end) {
      const kind = ops[k] as number;
      if (kind === OpKind.Emit) {
        const job = ops[k + 3] as number;
        runner.emitFrom(activation, ops[k + 1] as string, ops[k + 2], job >= 0 ? { job: jobList(activation.jobs)[job] as JobContext } : undefined);
        k += 4;
      } else if (kind === OpKind.State) {
        this.#worker[kMergeState](this.routineId, ops[k + 1] as Record<string, unknown>);
        k += 2;
      } else if (kind === OpKind.FailJob) {
        const job = jobList(activation.jobs)[ops[k + 1] as number] as JobContext;
        job[kEnd]('failed', jobFailure(this.routineId, job.jobId, deserializeError(ops[k + 2] as SerializedError)));
        k += 3;
      } else {
        Object.assign((jobList(activation.jobs)[ops[k + 1] as number] as JobContext).data, ops[k + 2]);
        k += 3;
      }
    }
    return k;
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
      const bad = findClassInstance((activation.bySlot[s] as Item[]).map((entry) => entry.data), 'items');
      if (bad !== undefined) {
        return new SluiceError(ErrorCode.NotClonable, `Routine "${routineId}" runs on the pool: slot "${slot}" holds a class instance that would lose its prototype and private fields crossing threads (${bad.path} is an ${bad.type}; rejectClassInstances is on)`, {
          details: { routineId, slot, where: bad.path, type: bad.type },
        });
      }
    }
    const others: Array<[string, unknown]> = [['state', state], ['message', activation.message], ...jobList(activation.jobs).flatMap((job): Array<[string, unknown]> => [[`job "${job.jobId}" metadata`, job.metadata], [`job "${job.jobId}" data`, job.data]])];
    for (const [what, value] of others) {
      const bad = findClassInstance(value, what);
      if (bad !== undefined) {
        return new SluiceError(ErrorCode.NotClonable, `Routine "${routineId}" runs on the pool: its ${what} holds a class instance that would lose its prototype crossing threads (${bad.path} is an ${bad.type}; rejectClassInstances is on)`, {
          details: { routineId, where: bad.path, type: bad.type },
        });
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
        return new SluiceError(ErrorCode.NotClonable, `Routine "${routineId}" cannot run on the pool: slot "${slot}" holds a value that cannot cross threads (${bad.path} is a ${bad.type})`, {
          details: { routineId, slot, where: bad.path, type: bad.type },
        });
      }
    }
    const others: Array<[string, unknown]> = [
      ['state', state],
      ['message', activation.message],
      ...jobList(activation.jobs).flatMap((job): Array<[string, unknown]> => [
        [`job "${job.jobId}" metadata`, job.metadata],
        [`job "${job.jobId}" data`, job.data],
      ]),
    ];
    for (const [what, value] of others) {
      const bad = findUnclonable(value, what);
      if (bad !== undefined) {
        return new SluiceError(ErrorCode.NotClonable, `Routine "${routineId}" cannot run on the pool: its ${what} holds a value that cannot cross threads (${bad.path} is a ${bad.type})`, {
          details: { routineId, where: bad.path, type: bad.type },
        });
      }
    }
    return undefined;
  }
}

function isEmpty(record: Record<string, unknown>): boolean {
  for (const _ in record) return false;
  return true;
}

function addJob(
  job: JobContext,
  ids: string[],
  extras: Array<readonly [Record<string, unknown>, Record<string, unknown>]> | undefined,
): Array<readonly [Record<string, unknown>, Record<string, unknown>]> | undefined {
  const index = ids.length;
  ids.push(job.jobId);
  const metadata = job.metadata;
  const data = job.data;
  if (extras === undefined && isEmpty(metadata) && isEmpty(data)) return undefined;
  const out = extras ?? new Array<readonly [Record<string, unknown>, Record<string, unknown>]>(index).fill([kNoState, kNoState]);
  out.push([metadata, data]);
  return out;
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
    return new PlacementProbe(entry.placement, { samples: this.#options.autoSamples, thresholdUs: this.#options.autoThresholdUs, poolable: flow.source !== undefined });
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
          new SluiceError(ErrorCode.PoolUnavailable, `Routine "${runner.id}" of flow "${flow.id}" asks for the pool, but the flow was not built by defineFlow(), so threads cannot rebuild it`, {
            details: { flowId: flow.id, routineId: runner.id },
          }),
        );
        return;
      }
      target = new RunnerTarget(flow, worker, runner, done, this.#pool, this.#options.activationTimeoutMs, this.#options.rejectClassInstances);
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

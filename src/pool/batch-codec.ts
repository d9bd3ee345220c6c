/**
 * The thread protocol's one codec: how a dispatch batch is written into a {@link BatchTask}'s
 * columns (main thread) and read back into activations (pool thread), and how the effects of its
 * logic are written into a {@link BatchResult}'s op stream (pool thread) and read back (main
 * thread). Every offset of the format lives here; both sides use these classes, so they cannot
 * disagree. Encoding allocates nothing per activation beyond the columns themselves.
 */
import type { JobExtra, BatchResult, BatchTask, Mutable, SerializedError, StartMark } from './protocol.ts';

/** What every activation of a batch shares. */
export type BatchHeader = Pick<BatchTask, 'moduleUrl' | 'params' | 'flowKey' | 'flowId' | 'routineId' | 'workerId'>;

/** Per slot name, per item, the indexes of its jobs among the activation's jobs. */
export type ItemJobs = Record<string, number[][]>;

/**
 * Effect kinds in the op stream, each followed by its operands: `Emit, event, data, job` (job: an
 * index into the activation's jobs, -1 for all of them), `State, patch`, `JobData, job, data`,
 * `FailJob, job, error` (a `SerializedError`).
 */
const OpKind = { Emit: 0, State: 1, JobData: 2, FailJob: 3 } as const;

const kNoExtra: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * Writes a batch, activation after activation: `activation()`, then its `item()`s slot by slot
 * and its `job()`s, then the next; `task()` ends it. Columns that would hold only the common
 * value (one item of one slot, one job, the first state, no message, attempt 1) are left out.
 *
 * @example
 * ```ts
 * const encoder = new BatchEncoder(['in']);
 * encoder.activation(state, undefined, 1);
 * encoder.item(0, 42);
 * encoder.job('job-1');
 * const task = encoder.task(header, undefined);
 * ```
 */
export class BatchEncoder {
  readonly #slots: readonly string[];
  #count = 0;
  readonly #items: unknown[] = [];
  #itemCounts: number[] | undefined;
  /** Items per slot of the activation being written. */
  readonly #slotItems: number[];
  readonly #jobIds: string[] = [];
  #jobCounts: number[] | undefined;
  #activationJobs = 0;
  #jobExtras: Array<JobExtra> | undefined;
  readonly #states: Record<string, unknown>[] = [];
  #stateAt: number[] | undefined;
  #lastState: Record<string, unknown> | undefined;
  #messages: unknown[] | undefined;
  #attempts: number[] | undefined;
  #itemJobs: Array<ItemJobs | 0> | undefined;

  constructor(slots: readonly string[]) {
    this.#slots = slots;
    this.#slotItems = new Array<number>(slots.length).fill(0);
  }

  /** Starts the next activation: the routine's state as of dispatch, its policy message, its attempt. */
  activation(state: Record<string, unknown>, message: unknown, attempt: number): void {
    if (this.#count > 0) this.#endActivation();
    const i = this.#count++;
    if (state !== this.#lastState) {
      if (this.#lastState !== undefined) this.#stateAt ??= new Array<number>(i).fill(0);
      this.#states.push(state);
      this.#lastState = state;
    }
    this.#stateAt?.push(this.#states.length - 1);
    if (message !== undefined) (this.#messages ??= [])[i] = message;
    if (attempt !== 1) (this.#attempts ??= [])[i] = attempt;
  }

  /** An item of slot `slot` (its index in the routine's slots) of the current activation. */
  item(slot: number, data: unknown): void {
    this.#items.push(data);
    this.#slotItems[slot]!++;
  }

  /** A job of the current activation, with its metadata, data and trace context when any holds anything. */
  job(jobId: string, metadata?: Record<string, unknown>, data?: Record<string, unknown>, traceparent?: string): void {
    const index = this.#jobIds.length;
    this.#jobIds.push(jobId);
    this.#activationJobs++;
    const extra = (metadata !== undefined && !isEmpty(metadata)) || (data !== undefined && !isEmpty(data)) || traceparent !== undefined;
    if (this.#jobExtras === undefined && !extra) return;
    this.#jobExtras ??= new Array<JobExtra>(index).fill([kNoExtra, kNoExtra]);
    this.#jobExtras.push(
      traceparent === undefined ? [metadata ?? kNoExtra, data ?? kNoExtra] : [metadata ?? kNoExtra, data ?? kNoExtra, traceparent],
    );
  }

  /** For an activation of several jobs: which of its jobs each item belongs to. */
  itemJobs(map: ItemJobs): void {
    (this.#itemJobs ??= [])[this.#count - 1] = map;
  }

  /** The task: the header, the columns, and where the thread stamps its start. */
  task(header: BatchHeader, start: StartMark | undefined): BatchTask {
    if (this.#count > 0) this.#endActivation();
    const count = this.#count;
    // Optional columns are set only when present (no spread: a literal with spreads is built
    // slowly, and an absent key costs nothing to clone). Sparse columns are filled in here.
    const task: Mutable<BatchTask> = {
      kind: 'batch',
      moduleUrl: header.moduleUrl,
      params: header.params,
      flowKey: header.flowKey,
      flowId: header.flowId,
      routineId: header.routineId,
      workerId: header.workerId,
      count,
      slots: this.#slots,
      items: this.#items,
      jobIds: this.#jobIds,
      states: this.#states,
    };
    if (this.#itemCounts !== undefined) task.itemCounts = this.#itemCounts;
    if (this.#jobCounts !== undefined) task.jobCounts = this.#jobCounts;
    if (this.#jobExtras !== undefined) task.jobExtras = this.#jobExtras;
    if (this.#stateAt !== undefined) task.stateAt = this.#stateAt;
    if (this.#messages !== undefined) task.messages = filled(this.#messages, count, undefined);
    if (this.#attempts !== undefined) task.attempts = filled(this.#attempts, count, 1);
    if (this.#itemJobs !== undefined) task.itemJobs = filled(this.#itemJobs, count, 0);
    if (start !== undefined) {
      if ('startSlot' in start) task.startSlot = start.startSlot;
      else task.started = start.started;
    }
    return task;
  }

  #endActivation(): void {
    const i = this.#count - 1;
    const slots = this.#slotItems;
    if (this.#itemCounts === undefined && (slots.length !== 1 || slots[0] !== 1)) {
      this.#itemCounts = new Array<number>(i * slots.length).fill(1);
    }
    if (this.#itemCounts !== undefined) for (let s = 0; s < slots.length; s++) this.#itemCounts.push(slots[s]!);
    slots.fill(0);
    if (this.#activationJobs !== 1) this.#jobCounts ??= new Array<number>(i).fill(1);
    this.#jobCounts?.push(this.#activationJobs);
    this.#activationJobs = 0;
  }
}

/** A job of an activation as the thread reads it. */
export interface DecodedJob {
  readonly jobId: string;
  readonly metadata: Record<string, unknown> | undefined;
  readonly data: Record<string, unknown> | undefined;
  /** The W3C trace context of the job's span, when the runtime traces jobs. */
  readonly traceparent: string | undefined;
}

/** An activation as the thread reads it. */
export interface DecodedActivation {
  /** Items by slot name (what logic receives). */
  readonly slots: Record<string, unknown[]>;
  readonly state: Record<string, unknown>;
  readonly message: unknown;
  readonly attempt: number;
  readonly itemJobs: ItemJobs | undefined;
  readonly jobs: DecodedJob[];
}

/**
 * Reads a batch task's activations back, in order.
 *
 * @example
 * ```ts
 * const decoder = new BatchDecoder(task);
 * for (let i = 0; i < task.count; i++) run(decoder.next(i));
 * ```
 */
export class BatchDecoder {
  readonly #task: BatchTask;
  #item = 0;
  #job = 0;

  constructor(task: BatchTask) {
    this.#task = task;
  }

  /** Activation `i` (call with 0, 1, 2, … in order). */
  next(i: number): DecodedActivation {
    const task = this.#task;
    const names = task.slots;
    const slots: Record<string, unknown[]> = {};
    if (task.itemCounts === undefined) {
      slots[names[0] as string] = [task.items[this.#item++]];
    } else {
      for (let s = 0; s < names.length; s++) {
        const n = task.itemCounts[i * names.length + s] as number;
        slots[names[s] as string] = task.items.slice(this.#item, this.#item + n) as unknown[];
        this.#item += n;
      }
    }
    const count = task.jobCounts === undefined ? 1 : (task.jobCounts[i] as number);
    const jobs: DecodedJob[] = [];
    for (let j = 0; j < count; j++) {
      const extra = task.jobExtras?.[this.#job];
      jobs.push({ jobId: task.jobIds[this.#job] as string, metadata: extra?.[0], data: extra?.[1], traceparent: extra?.[2] });
      this.#job++;
    }
    const itemJobs = task.itemJobs?.[i];
    return {
      slots,
      state: task.states[task.stateAt === undefined ? 0 : (task.stateAt[i] as number)] as Record<string, unknown>,
      message: task.messages?.[i],
      attempt: task.attempts?.[i] ?? 1,
      itemJobs: itemJobs === 0 ? undefined : itemJobs,
      jobs,
    };
  }
}

/**
 * Writes the effects of a batch's logic, in the order they happened, activation after
 * activation (`end()` after each), and the errors activations failed with; `result()` is the
 * batch's reply.
 */
export class OpWriter {
  readonly ops: unknown[] = [];
  readonly #ends: number[] = [];
  #failed: number[] | undefined;
  #errors: SerializedError[] | undefined;

  /** An emit on `event`, for the activation's job at index `job` (-1: all its jobs). */
  emit(event: string, data: unknown, job: number): void {
    this.ops.push(OpKind.Emit, event, data, job);
  }

  /** A state patch. */
  state(patch: Record<string, unknown>): void {
    this.ops.push(OpKind.State, patch);
  }

  /** Writes into the data of the activation's job at index `job`. */
  jobData(job: number, data: Record<string, unknown>): void {
    this.ops.push(OpKind.JobData, job, data);
  }

  /** Fails the activation's job at index `job`. */
  failJob(job: number, error: SerializedError): void {
    this.ops.push(OpKind.FailJob, job, error);
  }

  /** Ends activation `i`; `error` when it failed. */
  end(i: number, error: SerializedError | undefined): void {
    this.#ends[i] = this.ops.length;
    if (error !== undefined) {
      (this.#failed ??= []).push(i);
      (this.#errors ??= []).push(error);
    }
  }

  /** The reply of a batch of `count` activations. */
  result(count: number): BatchResult {
    // A batch of one needs no `ends`: its effects are all of `ops` (every key costs on the way back).
    const result: Mutable<BatchResult> = { ops: this.ops };
    if (count > 1) result.ends = this.#ends;
    if (this.#failed !== undefined) {
      result.failed = this.#failed;
      result.errors = this.#errors;
    }
    return result;
  }
}

/** What the main thread does with each effect; `at` is the caller's own context (its activation). */
export interface OpVisitor<A> {
  emit(at: A, event: string, data: unknown, job: number): void;
  state(at: A, patch: Record<string, unknown>): void;
  jobData(at: A, job: number, data: Record<string, unknown>): void;
  failJob(at: A, job: number, error: SerializedError): void;
}

/**
 * Reads a batch's reply, activation after activation: `effects(i)` visits activation `i`'s
 * effects in order, `error(i)` is the error it failed with (call both with 0, 1, 2, … in order).
 */
export class OpReader {
  readonly #result: BatchResult;
  #k = 0;
  #failedAt = 0;

  constructor(result: BatchResult) {
    this.#result = result;
  }

  /**
   * Visits activation `i`'s effects in order. A visitor that throws (an emit refused on the main
   * thread) stops that activation's effects: the reader moves on to the next activation.
   */
  effects<A>(i: number, at: A, visitor: OpVisitor<A>): void {
    const { ops, ends } = this.#result;
    const end = ends === undefined ? ops.length : (ends[i] as number);
    let k = this.#k;
    this.#k = end;
    while (k < end) {
      const kind = ops[k] as number;
      if (kind === OpKind.Emit) {
        visitor.emit(at, ops[k + 1] as string, ops[k + 2], ops[k + 3] as number);
        k += 4;
      } else if (kind === OpKind.State) {
        visitor.state(at, ops[k + 1] as Record<string, unknown>);
        k += 2;
      } else if (kind === OpKind.FailJob) {
        visitor.failJob(at, ops[k + 1] as number, ops[k + 2] as SerializedError);
        k += 3;
      } else {
        visitor.jobData(at, ops[k + 1] as number, ops[k + 2] as Record<string, unknown>);
        k += 3;
      }
    }
  }

  /** The error activation `i` failed with, if it did. */
  error(i: number): SerializedError | undefined {
    const { failed, errors } = this.#result;
    if (failed === undefined || failed[this.#failedAt] !== i) return undefined;
    return (errors as readonly SerializedError[])[this.#failedAt++];
  }
}

function isEmpty(value: Record<string, unknown>): boolean {
  for (const _ in value) return false;
  return true;
}

/** `column` (set at some indexes) with every unset index of `0..count` holding `value`. */
function filled<T>(column: T[], count: number, value: T): T[] {
  for (let i = 0; i < count; i++) if (!(i in column)) column[i] = value;
  column.length = count;
  return column;
}

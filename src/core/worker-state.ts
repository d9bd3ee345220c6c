/**
 * A worker: one running instance of a flow, with its own slot queues, per-routine state,
 * counters and a capped history of activations. The object handed to users is this facade;
 * the queues themselves live in the runtime's engine, reached through {@link WorkerHooks}.
 */
import type { TraceEntry } from './job-context.ts';
import type { SlotStatus } from './slot.ts';
import type { CheckpointInfo } from './checkpoint-info.ts';

/**
 * Where a worker is in its life.
 *
 * @category Jobs and context
 */
export type WorkerStatus = 'running' | 'stopping' | 'stopped';

/**
 * One record of the execution history.
 *
 * @inline
 */
export interface ActivationRecord {
  readonly routineId: string;
  readonly status: 'ok' | 'fallback' | 'failed' | 'retrying' | 'continued' | 'skipped' | 'split';
  /** Wall-clock time the activation started, epoch milliseconds. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly items: number;
  readonly jobIds: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Counters of one worker.
 *
 * @inline
 */
export interface WorkerCounters {
  jobsPosted: number;
  jobsProcessed: number;
  jobsFailed: number;
  jobsCancelled: number;
  /** Jobs that failed because a `dropOldest` slot evicted one of their items (also counted in `jobsFailed`). */
  jobsDropped: number;
  activations: number;
  activationErrors: number;
  itemsDropped: number;
  itemsDiscarded: number;
}

/** What the engine supplies to a worker facade. */
export interface WorkerHooks {
  queueStatus(): SlotStatus[];
  /** Saves the worker (see `WorkerState.checkpoint`). */
  checkpoint(): Promise<CheckpointInfo>;
}

/**
 * A plain copy of a worker.
 *
 * @category Jobs and context
 */
export interface WorkerSnapshot {
  workerId: string;
  flowId: string;
  status: WorkerStatus;
  createdAt: string;
  updatedAt: string;
  counters: WorkerCounters;
  routineStates: Record<string, Record<string, unknown>>;
  executionHistory: ActivationRecord[];
  queues: SlotStatus[];
}

/** Internal: merge a routine state patch. */
export const kMergeState = Symbol('sluice.worker.mergeState');
/** Internal: record an activation. */
export const kRecord = Symbol('sluice.worker.record');
/** Internal: set the status. */
export const kSetStatus = Symbol('sluice.worker.setStatus');
/** Internal: live counters. */
export const kCounters = Symbol('sluice.worker.counters');

/**
 * One running instance of a flow.
 *
 * @example
 * ```ts
 * const worker = runtime.exec('pipeline');
 * runtime.post('pipeline', 'source', 'in', 1, { workerId: worker.workerId });
 * await runtime.waitUntilAllJobsFinished();
 * console.log(worker.counters.jobsProcessed, worker.getRoutineState('sink'));
 * ```
 * @category Jobs and context
 */
export class WorkerState {
  readonly workerId: string;
  readonly flowId: string;
  /** Wall-clock creation time, epoch milliseconds. */
  readonly createdAt: number = Date.now();
  #updatedAt: number = this.createdAt;
  #status: WorkerStatus = 'running';
  readonly #states = new Map<string, Record<string, unknown>>();
  /**
   * The history as a ring, flat and allocated once: per activation its wall start, duration and
   * items in `#historyNumbers`, its routine id, status, job ids and error in `#historyRefs`, so
   * recording one allocates nothing.
   */
  #historyNumbers: Float64Array | undefined;
  #historyRefs: unknown[] | undefined;
  /** Activations recorded so far (the next one goes to `#historyCount % limit`). */
  #historyCount = 0;
  readonly #historyLimit: number;
  readonly #hooks: WorkerHooks;
  readonly [kCounters]: WorkerCounters = {
    jobsPosted: 0,
    jobsProcessed: 0,
    jobsFailed: 0,
    jobsCancelled: 0,
    jobsDropped: 0,
    activations: 0,
    activationErrors: 0,
    itemsDropped: 0,
    itemsDiscarded: 0,
  };

  constructor(workerId: string, flowId: string, historyLimit: number, hooks: WorkerHooks) {
    this.workerId = workerId;
    this.flowId = flowId;
    this.#historyLimit = historyLimit;
    this.#hooks = hooks;
  }

  get status(): WorkerStatus {
    return this.#status;
  }

  /** Wall-clock time of the last change, epoch milliseconds. */
  get updatedAt(): number {
    return this.#updatedAt;
  }

  /**
   * Saves this worker to the runtime's checkpoint store (`RuntimeOptions.checkpoints`, or the
   * recording's SQLite file): its routine states, every item waiting in its slots (queued, parked
   * for room, waiting to retry) with its jobs, and those jobs' metadata and data. No activation
   * starts while it is taken, and it waits for the running ones, so the cut is consistent; then
   * the worker goes on. `runtime.exec(flowId, { resume: workerId | 'latest' })` makes a worker of
   * it again, in this process or another (see docs/jobs-and-errors.md, "Checkpoints").
   *
   * @example
   * ```ts
   * const saved = await worker.checkpoint(); // { checkpointId, items, jobs, … }
   * ```
   */
  checkpoint(): Promise<CheckpointInfo> {
    return this.#hooks.checkpoint();
  }

  /** A copy of the counters. */
  get counters(): WorkerCounters {
    return { ...this[kCounters] };
  }

  /** Copies of every routine's state, by routine id. */
  get routineStates(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [id, state] of this.#states) out[id] = structuredClone(state);
    return out;
  }

  /** A copy of one routine's state (empty when it never set any). */
  getRoutineState(routineId: string): Record<string, unknown> {
    const state = this.#states.get(routineId);
    return state === undefined ? {} : structuredClone(state);
  }

  /** The last activations, oldest first (capped at the runtime's `historyLimit`). */
  get executionHistory(): ActivationRecord[] {
    const numbers = this.#historyNumbers;
    const refs = this.#historyRefs;
    const out: ActivationRecord[] = [];
    if (numbers === undefined || refs === undefined) return out;
    const limit = this.#historyLimit;
    const count = Math.min(this.#historyCount, limit);
    const first = this.#historyCount - count;
    for (let k = 0; k < count; k++) {
      const i = (first + k) % limit;
      const status = refs[i * 4 + 1] as TraceEntry['status'];
      const jobIds = refs[i * 4 + 2] as string | readonly string[];
      const error = refs[i * 4 + 3] as TraceEntry['error'];
      const record = {
        routineId: refs[i * 4] as string,
        status: status === 'dropped' || status === 'expired' ? ('failed' as const) : status,
        startedAt: numbers[i * 3] as number,
        durationMs: numbers[i * 3 + 1] as number,
        items: numbers[i * 3 + 2] as number,
        jobIds: typeof jobIds === 'string' ? [jobIds] : [...jobIds],
      };
      out.push(error === undefined ? record : { ...record, error });
    }
    return out;
  }

  /** Snapshots of every slot queue of this worker. */
  queueStatus(): SlotStatus[] {
    return this.#hooks.queueStatus();
  }

  /** A plain copy. */
  toJSON(): WorkerSnapshot {
    return {
      workerId: this.workerId,
      flowId: this.flowId,
      status: this.#status,
      createdAt: new Date(this.createdAt).toISOString(),
      updatedAt: new Date(this.#updatedAt).toISOString(),
      counters: this.counters,
      routineStates: this.routineStates,
      executionHistory: this.executionHistory,
      queues: this.queueStatus(),
    };
  }

  /** @internal True when activations are recorded (`historyLimit > 0`). */
  get recordsHistory(): boolean {
    return this.#historyLimit > 0;
  }

  /** @internal Reads the live state object (the engine hands a frozen view to logic). */
  liveState(routineId: string): Record<string, unknown> | undefined {
    return this.#states.get(routineId);
  }

  /** @internal */
  [kMergeState](routineId: string, patch: Record<string, unknown>): void {
    const current = this.#states.get(routineId);
    if (current === undefined) this.#states.set(routineId, { ...patch });
    else Object.assign(current, patch);
    this.#updatedAt = Date.now();
  }

  /** @internal */
  [kRecord](
    routineId: string,
    status: TraceEntry['status'],
    startedAt: number,
    durationMs: number,
    items: number,
    jobIds: string | readonly string[],
    error: TraceEntry['error'],
  ): void {
    const limit = this.#historyLimit;
    if (limit === 0) return;
    const numbers = (this.#historyNumbers ??= new Float64Array(limit * 3));
    const refs = (this.#historyRefs ??= new Array<unknown>(limit * 4).fill(undefined));
    const i = this.#historyCount % limit;
    this.#historyCount++;
    numbers[i * 3] = startedAt;
    numbers[i * 3 + 1] = durationMs;
    numbers[i * 3 + 2] = items;
    refs[i * 4] = routineId;
    refs[i * 4 + 1] = status;
    refs[i * 4 + 2] = jobIds;
    refs[i * 4 + 3] = error;
  }

  /** @internal */
  [kSetStatus](status: WorkerStatus): void {
    this.#status = status;
    this.#updatedAt = Date.now();
  }
}

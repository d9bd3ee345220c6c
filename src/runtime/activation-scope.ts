/**
 * One activation (a run of a routine's logic over the items its policy took) and its scope:
 * the `ctx` logic receives, which is also what `currentJob()`, `currentWorker()` and `emit()`
 * read from AsyncLocalStorage.
 */
import type { ActivationScope, EmitOptions, ItemEntry } from '../core/context.ts';
import { ErrorCode, RoutineError, SluiceError, describeValue } from '../core/errors.ts';
import { kEnd, type JobContext } from '../core/job-context.ts';
import type { QueuedItem } from '../core/slot.ts';
import { kMergeState, type WorkerState } from '../core/worker-state.ts';
import type { BreakerPermit } from '../resilience/index.ts';
import { jobList, type Jobs } from './jobs.ts';

/** A queued item with its job set. */
export type Item = QueuedItem<Jobs>;

/** What a scope needs from the runner of its routine. */
export interface ScopeOwner {
  readonly id: string;
  readonly entry: { readonly routine: object };
  readonly config: Readonly<Record<string, unknown>>;
  readonly host: { readonly worker: WorkerState; readonly workerSignal: AbortSignal };
  entriesOf(activation: Activation, slot: string): readonly ItemEntry[];
  emitFrom(activation: Activation, event: string, data: unknown, options: EmitOptions | undefined): void;
}

/** One run of the logic over the items its policy took. */
export interface Activation {
  readonly items: Item[];
  /** Items per slot index, parallel to the runner's slots. */
  readonly bySlot: Item[][];
  readonly jobs: Jobs;
  readonly message: unknown;
  readonly attempt: number;
  startMono: number;
  /** Breaker permits held while the logic runs; released when the activation settles. */
  permits?: readonly BreakerPermit[];
  /**
   * What a stream's chunk emitted, held until its logic succeeds: a chunk that fails is split and
   * run again, and the emits of the failed attempt must not reach anyone. Flat: event, data,
   * options, event, data, options, …
   */
  buffered?: unknown[];
  /** True when the items went to the routine's fallback instead of its logic. */
  fellBack?: boolean;
  /**
   * True once the activation was split off a batch that failed as a whole (a crashed thread, a
   * timeout, a poison item): it runs alone from then on (a pool task of its own), so only the
   * culprit meets the error handler.
   */
  isolated?: boolean;
}

/**
 * A new activation, every field present from the start: activations made in different places
 * then share one hidden class, and the engine's property reads on them stay monomorphic.
 */
export function newActivation(
  items: Item[],
  bySlot: Item[][],
  jobs: Jobs,
  message: unknown,
  attempt: number,
  isolated: boolean | undefined = undefined,
): Activation {
  return { items, bySlot, jobs, message, attempt, startMono: 0, permits: undefined, buffered: undefined, fellBack: undefined, isolated };
}

/**
 * The context of one activation (what `ctx` is, and what `currentJob()` & co. read). A class,
 * not an object literal: literals with accessors are an order of magnitude slower to create.
 */
export class Scope implements ActivationScope {
  readonly routineId: string;
  readonly routine: object;
  readonly worker: WorkerState;
  readonly job: JobContext;
  readonly message: unknown;
  readonly attempt: number;
  readonly config: Readonly<Record<string, unknown>>;
  readonly #runner: ScopeOwner;
  readonly #activation: Activation;
  #signal: AbortSignal | undefined;
  #abort: AbortController | undefined;

  constructor(runner: ScopeOwner, activation: Activation, first: JobContext) {
    this.routineId = runner.id;
    this.routine = runner.entry.routine;
    this.worker = runner.host.worker;
    this.job = first;
    this.message = activation.message;
    this.attempt = activation.attempt;
    this.config = runner.config;
    this.#runner = runner;
    this.#activation = activation;
  }

  get jobs(): readonly JobContext[] {
    return jobList(this.#activation.jobs);
  }

  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    this.#signal ??= AbortSignal.any([
      this.#runner.host.workerSignal,
      this.#abort.signal,
      ...jobList(this.#activation.jobs).map((j) => j.signal),
    ]);
    return this.#signal;
  }

  /** Aborts this activation's signal (its timeout passed). */
  abort(reason: unknown): void {
    this.#abort ??= new AbortController();
    this.#abort.abort(reason);
  }

  get state(): Readonly<Record<string, unknown>> {
    return { ...this.worker.liveState(this.routineId) };
  }

  entries(slot: string): readonly ItemEntry[] {
    return this.#runner.entriesOf(this.#activation, slot);
  }

  setState(patch: Record<string, unknown>): void {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected routine "${this.routineId}" setState patch to be an object, got ${describeValue(patch)}`,
      );
    }
    this.worker[kMergeState](this.routineId, patch);
  }

  emit(event: string, data: unknown, options?: EmitOptions): void {
    this.#runner.emitFrom(this.#activation, event, data, options);
  }

  failJob(job: JobContext, error: unknown): void {
    const jobs = jobList(this.#activation.jobs);
    if (!jobs.includes(job)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Routine "${this.routineId}" called failJob() with ${describeJob(job)}, which is not a job of this activation`,
      );
    }
    job[kEnd]('failed', jobFailure(this.routineId, job.jobId, error));
  }
}

function describeJob(job: unknown): string {
  return typeof job === 'object' && job !== null && typeof (job as { jobId?: unknown }).jobId === 'string'
    ? `job "${(job as JobContext).jobId}"`
    : describeValue(job);
}

/** The error a job fails with when logic fails it alone (`ctx.failJob`), inline or on the pool. */
export function jobFailure(routineId: string, jobId: string, error: unknown): SluiceError {
  const message = error instanceof Error ? error.message : describeValue(error);
  return new RoutineError(ErrorCode.RoutineFailed, `Routine "${routineId}" failed job "${jobId}": ${message}`, {
    cause: error,
    details: { routineId, jobId },
  });
}

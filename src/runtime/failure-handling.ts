/**
 * What happens to an activation that failed: its error wrapped as a coded `RoutineError`, a
 * batch of one slot bisected to find its poison item (as AWS Lambda's BisectBatchOnFunctionError
 * does), then the routine's error strategy — STOP fails its jobs, CONTINUE records the error on
 * them and goes on, SKIP drops the items, RETRY runs it again after a backoff until
 * `maxAttempts`. Retries and split halves wait here until the runner takes them.
 */
import type { TimerHandle } from '../core/clock.ts';
import { retryDelay, type ErrorHandler } from '../core/error-handler.ts';
import { ErrorCode, RoutineError, SluiceError, describeValue } from '../core/errors.ts';
import { kAddError, kEnd, kStream, type TraceEntry } from '../core/job-context.ts';
import type { WorkerState } from '../core/worker-state.ts';
import { newActivation, type Activation, type Item } from './activation-scope.ts';
import { allTerminal, distinctJobs, jobIdsOf, jobList, releaseJobs } from './jobs.ts';
import type { EngineEvents } from './runtime-events.ts';

/** The routine whose failures are handled, as the handling sees it. */
export interface FailingRoutine {
  readonly id: string;
  readonly worker: WorkerState;
  readonly events: EngineEvents;
  readonly clock: { setTimeout(fn: () => void, ms: number): TimerHandle };
  readonly random: () => number;
  /** A retry is due: the runner should evaluate again. */
  retryDue(): void;
}

const kNoItems: Item[] = [];

/** Failures no item of the activation caused: charged whole, never split. */
const kNoSplit: ReadonlySet<string> = new Set([
  ErrorCode.CircuitOpen,
  ErrorCode.QueueFull,
  ErrorCode.PoolClosed,
  ErrorCode.PoolUnavailable,
  ErrorCode.JobCancelled,
  ErrorCode.FlowModuleInvalid,
  ErrorCode.RoutineNotFound,
  ErrorCode.RuntimeClosed,
]);

/** The failure handling of one routine of one worker. */
export class FailureHandling {
  readonly #routine: FailingRoutine;
  readonly #handler: ErrorHandler;
  readonly #retries: Activation[] = [];
  readonly #timers = new Set<TimerHandle>();
  /** Retries whose backoff has not run out yet, by their timer. */
  readonly #backingOff = new Map<TimerHandle, Activation>();

  constructor(routine: FailingRoutine, handler: ErrorHandler) {
    this.#routine = routine;
    this.#handler = handler;
  }

  /** The routine's error strategy. */
  get strategy(): string {
    return this.#handler.strategy;
  }

  /** Activations waiting to run again (due now, or waiting for their backoff). */
  get pending(): number {
    return this.#retries.length + this.#timers.size;
  }

  /** True when an activation is due to run again now. */
  get hasDue(): boolean {
    return this.#retries.length > 0;
  }

  /** The next activation due to run again. */
  takeDue(): Activation | undefined {
    return this.#retries.shift();
  }

  /** `error` as a coded error: a `SluiceError` as it is, anything else as `SLUICE_ERR_ROUTINE_FAILED`. */
  wrap(error: unknown): SluiceError {
    if (error instanceof SluiceError) return error;
    const id = this.#routine.id;
    const message = error instanceof Error ? error.message : describeValue(error);
    return new RoutineError(ErrorCode.RoutineFailed, `Routine "${id}" failed: ${message}`, { cause: error, details: { routineId: id } });
  }

  /** Handles a failed activation; returns the status its trace records. */
  fail(activation: Activation, error: SluiceError): TraceEntry['status'] {
    return this.#splittable(activation, error) ? this.#split(activation) : this.#apply(activation, error);
  }

  /** Cancels the backoff timers and drops every waiting retry (worker stop, destroy). */
  shutdown(): void {
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    this.#backingOff.clear();
    for (const activation of this.#retries.splice(0)) for (const item of activation.items) releaseJobs(item.jobs);
  }

  #apply(activation: Activation, error: SluiceError): TraceEntry['status'] {
    const handler = this.#handler;
    const id = this.#routine.id;
    switch (handler.strategy) {
      case 'continue':
        for (const job of jobList(activation.jobs)) job[kAddError]({ routineId: id, code: error.code, message: error.message });
        return 'continued';
      case 'skip':
        return 'skipped';
      case 'retry': {
        if (activation.attempt < handler.maxAttempts) {
          this.#scheduleRetry(activation);
          return 'retrying';
        }
        const exhausted = new SluiceError(
          ErrorCode.RetriesExhausted,
          `Routine "${id}" failed ${activation.attempt} times (maxAttempts ${handler.maxAttempts}); last error: ${error.message}`,
          { cause: error, details: { routineId: id, attempts: activation.attempt } },
        );
        this.#failJobs(activation, exhausted);
        return 'failed';
      }
      default:
        this.#failJobs(activation, error);
        return 'failed';
    }
  }

  /** Fails the activation's jobs; a stream job counts its failed items instead and goes on. */
  #failJobs(activation: Activation, error: SluiceError): void {
    for (const job of jobList(activation.jobs)) {
      const tally = job[kStream];
      if (tally === undefined) {
        job[kEnd]('failed', error);
        continue;
      }
      tally.failed += activation.items.length;
      tally.firstError ??= { code: error.code, message: error.message, routineId: this.#routine.id };
    }
  }

  /**
   * True when a failed activation over several items of one slot may owe its failure to one
   * poison item: it is split rather than charged whole. Joins (items of several slots belong
   * together) and failures that are nobody's item (an open breaker, a full slot, a closed pool)
   * are charged as they are.
   */
  #splittable(activation: Activation, error: SluiceError): boolean {
    if (activation.items.length < 2 || activation.fellBack === true || kNoSplit.has(error.code)) return false;
    let slots = 0;
    for (const list of activation.bySlot) if (list.length > 0) slots++;
    return slots === 1;
  }

  /**
   * Bisects a failed activation: each half runs again at once, same attempt, alone, until the
   * failing item fails by itself and meets the error strategy while its batch-mates complete.
   * Items of a half that fails again run more than once, as under RETRY: what they emitted
   * before the failure is not taken back.
   */
  #split(activation: Activation): TraceEntry['status'] {
    const index = activation.bySlot.findIndex((list) => list.length > 0);
    const items = activation.items;
    const mid = Math.ceil(items.length / 2);
    for (const half of [items.slice(0, mid), items.slice(mid)]) {
      const bySlot = activation.bySlot.map((_list, i) => (i === index ? half : kNoItems));
      this.#retries.push(newActivation(half, bySlot, distinctJobs(half), activation.message, activation.attempt, true));
    }
    return 'split';
  }

  #scheduleRetry(activation: Activation): void {
    const routine = this.#routine;
    const delay = retryDelay(this.#handler, activation.attempt, routine.random);
    routine.events.retry(routine.worker.workerId, routine.id, activation.attempt + 1, delay, () => jobIdsOf(activation.jobs));
    const next = newActivation(activation.items, activation.bySlot, activation.jobs, activation.message, activation.attempt + 1);
    next.isolated = activation.isolated;
    next.fellBack = activation.fellBack;
    const timer = routine.clock.setTimeout(() => {
      this.#timers.delete(timer);
      this.#backingOff.delete(timer);
      if (allTerminal(next.jobs)) {
        for (const item of next.items) releaseJobs(item.jobs);
        return;
      }
      this.#retries.push(next);
      routine.retryDue();
    }, delay);
    this.#timers.add(timer);
    this.#backingOff.set(timer, next);
  }

  /** Every activation waiting to run again (due, or in its backoff): what a checkpoint saves. */
  waitingActivations(): Activation[] {
    return [...this.#retries, ...this.#backingOff.values()];
  }
}

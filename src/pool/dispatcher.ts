/**
 * Packs pool activations into dispatch batches and keeps at most `limit` batches in flight
 * (the pool's effective size: one batch per thread). Activations of one routine of one worker
 * share a queue; a queue is sent as soon as it holds a full batch, and a partial batch waits at
 * most `flushMs` for company. When a batch returns and work waits, the oldest queue goes at once,
 * full or not: the pool never idles while activations wait.
 */
import type { TimerHandle } from '../core/clock.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { deserializeError, type ActivationOutcome, type ActivationPayload, type BatchResult, type BatchTask } from './protocol.ts';

/** What one pool activation needs besides its payload. */
export interface PoolTarget {
  /** Activations with the same key share dispatch batches (one routine of one worker). */
  readonly key: object;
  readonly moduleUrl: string;
  readonly params: unknown;
  readonly flowKey: string;
  readonly flowId: string;
  readonly routineId: string;
  /** Per-activation timeout in ms (0 = none). */
  readonly timeoutMs: number;
}

/** Runs one task on the pool; rejects when the thread dies or the signal aborts. */
export type RunTask = (task: BatchTask, signal: AbortSignal | undefined) => Promise<BatchResult>;

interface Pending {
  readonly payload: ActivationPayload;
  resolve(outcome: ActivationOutcome): void;
  reject(error: Error): void;
}

interface Queue {
  readonly target: PoolTarget;
  items: Pending[];
  listed: boolean;
}

/** The dispatcher's counters (a snapshot). */
export interface DispatcherStats {
  /** Batches running on threads now. */
  readonly inFlight: number;
  /** Activations waiting to be packed. */
  readonly queued: number;
  readonly batchesSent: number;
  readonly activationsSent: number;
  /** Mean activations per batch sent so far. */
  readonly meanBatch: number;
}

/** Packs and sends dispatch batches. */
export class Dispatcher {
  readonly #run: RunTask;
  readonly #setTimer: (fn: () => void, ms: number) => TimerHandle;
  readonly #queues = new Map<object, Queue>();
  readonly #order: Queue[] = [];
  #limit: number;
  #batch: number;
  #flushMs: number;
  #inFlight = 0;
  #queued = 0;
  #timer: TimerHandle | undefined;
  #batchesSent = 0;
  #activationsSent = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(run: RunTask, options: { limit: number; batch: number; flushMs: number; setTimer: (fn: () => void, ms: number) => TimerHandle }) {
    this.#run = run;
    this.#limit = options.limit;
    this.#batch = options.batch;
    this.#flushMs = options.flushMs;
    this.#setTimer = options.setTimer;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Sets the in-flight limit (validated by the facade) and sends what now fits. */
  set limit(n: number) {
    this.#limit = n;
    this.#pump(true);
  }

  get batch(): number {
    return this.#batch;
  }

  set batch(n: number) {
    this.#batch = n;
    this.#pump(false);
  }

  /** Queues one activation; resolves with its outcome or rejects with a coded error. */
  submit(target: PoolTarget, payload: ActivationPayload): Promise<ActivationOutcome> {
    return new Promise<ActivationOutcome>((resolve, reject) => {
      let queue = this.#queues.get(target.key);
      if (queue === undefined) {
        queue = { target, items: [], listed: false };
        this.#queues.set(target.key, queue);
      }
      queue.items.push({ payload, resolve, reject });
      this.#queued++;
      if (!queue.listed) {
        queue.listed = true;
        this.#order.push(queue);
      }
      if (this.#inFlight < this.#limit) this.#pump(false);
    });
  }

  /** Rejects everything queued (pool destroyed); in-flight batches reject through their tasks. */
  rejectQueued(error: Error): void {
    for (const queue of this.#order.splice(0)) {
      queue.listed = false;
      for (const item of queue.items.splice(0)) item.reject(error);
    }
    this.#queues.clear();
    this.#queued = 0;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#notifyIdle();
  }

  /** Forgets the queue of `key` (its worker stopped); nothing must be queued in it. */
  forget(key: object): void {
    const queue = this.#queues.get(key);
    if (queue !== undefined && queue.items.length === 0 && !queue.listed) this.#queues.delete(key);
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0 && this.#queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stats(): DispatcherStats {
    return {
      inFlight: this.#inFlight,
      queued: this.#queued,
      batchesSent: this.#batchesSent,
      activationsSent: this.#activationsSent,
      meanBatch: this.#batchesSent === 0 ? 0 : this.#activationsSent / this.#batchesSent,
    };
  }

  #pump(partialOk: boolean): void {
    while (this.#inFlight < this.#limit && this.#order.length > 0) {
      let index = this.#order.findIndex((q) => q.items.length >= this.#batch);
      if (index < 0) {
        if (!partialOk) break;
        index = 0;
      }
      const queue = this.#order[index] as Queue;
      const items = queue.items.length <= this.#batch ? queue.items.splice(0) : queue.items.splice(0, this.#batch);
      if (queue.items.length === 0) {
        queue.listed = false;
        this.#order.splice(index, 1);
      }
      this.#send(queue.target, items);
    }
    if (this.#order.length > 0 && this.#inFlight < this.#limit && this.#timer === undefined) {
      this.#timer = this.#setTimer(() => {
        this.#timer = undefined;
        this.#pump(true);
      }, this.#flushMs);
    }
  }

  #send(target: PoolTarget, items: Pending[]): void {
    this.#queued -= items.length;
    this.#inFlight++;
    this.#batchesSent++;
    this.#activationsSent += items.length;
    const started = target.timeoutMs > 0 ? new SharedArrayBuffer(8) : undefined;
    const task: BatchTask = {
      kind: 'batch',
      moduleUrl: target.moduleUrl,
      params: target.params,
      flowKey: target.flowKey,
      flowId: target.flowId,
      routineId: target.routineId,
      activations: items.map((p) => p.payload),
      ...(started === undefined ? {} : { started }),
    };
    let abort: AbortController | undefined;
    let timer: TimerHandle | undefined;
    if (target.timeoutMs > 0) {
      abort = new AbortController();
      const ms = target.timeoutMs * items.length;
      const startedAt = new BigInt64Array(started as SharedArrayBuffer);
      // The clock runs from when a thread starts the batch: waiting for a thread (or for a
      // replacement thread to boot and build the flow) is not the routine's time.
      const check = (): void => {
        const at = Number(Atomics.load(startedAt, 0));
        const left = at === 0 ? ms : at + ms - Date.now();
        if (left > 0) timer = this.#setTimer(check, left);
        else abort?.abort(new SluiceError(ErrorCode.ActivationTimeout, `timeout ${ms} ms`));
      };
      timer = this.#setTimer(check, ms);
    }
    let result: Promise<BatchResult>;
    try {
      result = this.#run(task, abort?.signal);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (batch) => {
        timer?.cancel();
        this.#done();
        if (batch.error !== undefined) {
          const error = deserializeError(batch.error);
          for (const item of items) item.reject(error);
          return;
        }
        for (let i = 0; i < items.length; i++) (items[i] as Pending).resolve(batch.outcomes[i] as ActivationOutcome);
      },
      (error: unknown) => {
        timer?.cancel();
        this.#done();
        const failure = classify(error, target, items.length, abort?.signal.aborted === true);
        for (const item of items) item.reject(failure);
      },
    );
  }

  #done(): void {
    this.#inFlight--;
    this.#pump(true);
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.#inFlight === 0 && this.#queued === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/** Turns a failed pool task into the coded error its activations fail with. */
function classify(error: unknown, target: PoolTarget, count: number, timedOut: boolean): SluiceError {
  const message = error instanceof Error ? error.message : String(error);
  const details = { routineId: target.routineId, flowId: target.flowId, activations: count };
  if (error instanceof SluiceError) return error;
  if (timedOut) {
    return new SluiceError(
      ErrorCode.ActivationTimeout,
      `Routine "${target.routineId}" ran past its timeout of ${target.timeoutMs} ms per activation on a pool thread (batch of ${count}); the thread was replaced`,
      { cause: error, details: { ...details, timeoutMs: target.timeoutMs } },
    );
  }
  if (error instanceof Error && error.name === 'DataCloneError') {
    return new SluiceError(ErrorCode.NotClonable, `A value of routine "${target.routineId}" could not cross threads: ${message}`, { cause: error, details });
  }
  return new SluiceError(ErrorCode.WorkerCrashed, `A pool thread died while running ${count} activation(s) of routine "${target.routineId}": ${message}`, {
    cause: error,
    details: { ...details, reason: (error as { code?: unknown })?.code ?? message },
  });
}

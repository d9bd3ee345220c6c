/**
 * Packs pool activations into dispatch batches and keeps at most `limit` batches in flight
 * (the pool's effective size: one batch per thread). Activations of one routine of one worker
 * share a queue; a queue is sent as soon as it holds a full batch. A batch never holds work back
 * from an idle thread: while several threads idle, what waits is shared among them (8 jobs on 2
 * idle threads go as 4 + 4, not 8 on one), and whole batches go once the pool is busy. A partial batch goes at the
 * end of the current turn of the event loop when a thread is free (so what one burst of posts
 * produced travels together, and a lone activation never waits for a timer), or after `flushMs`
 * when that is set. When a batch returns and work waits, the oldest queue goes at once, full or
 * not: the pool never idles while activations wait.
 *
 * The dispatcher knows nothing of what it carries: a target encodes a whole batch into one task
 * and settles a whole batch from its result, in one pass each (no promise per activation).
 */
import type { TimerHandle } from '../core/clock.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { BatchResult, BatchTask, StartMark } from './protocol.ts';
import type { StartBoard } from './start-board.ts';

/** Where pool activations of one routine of one worker go, and how their batches are built and settled. */
export interface PoolTarget<T = unknown> {
  /** Activations with the same key share dispatch batches (one routine of one worker). */
  readonly key: object;
  readonly flowId: string;
  readonly routineId: string;
  /** Per-activation timeout in ms (0 = none). */
  readonly timeoutMs: number;
  /** Builds the task of a batch (called once per batch, when it is sent); `start` goes into the task as it is. */
  encode(items: readonly T[], start: StartMark | undefined): BatchTask;
  /**
   * Settles every activation of a batch: from `result`, or with `error` (a coded error: crash,
   * timeout, non-clonable data, pool closed) when the batch did not run.
   */
  settle(items: readonly T[], result: BatchResult | undefined, error: SluiceError | undefined): void;
}

/** Runs one task on the pool; rejects when the thread dies or the signal aborts. */
export type RunTask = (task: BatchTask, signal: AbortSignal | undefined) => Promise<BatchResult>;

interface Queue {
  readonly target: PoolTarget;
  items: unknown[];
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
  readonly #board: StartBoard;
  /** The pool's balancer keeps to `depth` batches per thread (an owned pool); otherwise signals do. */
  readonly #balanced: boolean;
  readonly #queues = new Map<object, Queue>();
  readonly #order: Queue[] = [];
  /** Activations that must travel alone (split off a batch that failed as a whole), first come first sent. */
  #solo: Array<{ readonly target: PoolTarget; readonly item: unknown }> = [];
  #limit: number;
  #depth = 1;
  #batch: number;
  #flushMs: number;
  #inFlight = 0;
  #queued = 0;
  #timer: TimerHandle | undefined;
  #flushQueued = false;
  readonly #requeues = new WeakMap<object, number>();
  #batchesSent = 0;
  #activationsSent = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(
    run: RunTask,
    options: {
      limit: number;
      batch: number;
      flushMs: number;
      setTimer: (fn: () => void, ms: number) => TimerHandle;
      board: StartBoard;
      balanced: boolean;
    },
  ) {
    this.#run = run;
    this.#board = options.board;
    this.#balanced = options.balanced;
    this.#limit = options.limit;
    this.#batch = options.batch;
    this.#flushMs = options.flushMs;
    this.#setTimer = options.setTimer;
  }

  get flushMs(): number {
    return this.#flushMs;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Sets the in-flight limit (validated by the facade) and sends what now fits. */
  set limit(n: number) {
    this.#limit = n;
    this.#pump(true);
  }

  /**
   * Batches each thread may hold at once: 2 keeps the next batch waiting inside the thread, so
   * it never idles for a round trip to the main thread (the facade turns this on only when the
   * pool cannot start threads beyond `limit`).
   */
  get depth(): number {
    return this.#depth;
  }

  set depth(n: number) {
    this.#depth = n;
    this.#pump(true);
  }

  get batch(): number {
    return this.#batch;
  }

  set batch(n: number) {
    this.#batch = n;
    this.#pump(false);
  }

  /** Queues one activation; its target settles it when its batch returns or fails. */
  submit<T>(target: PoolTarget<T>, item: T): void {
    let queue = this.#queues.get(target.key);
    if (queue === undefined) {
      queue = { target: target as PoolTarget, items: [], listed: false };
      this.#queues.set(target.key, queue);
    }
    queue.items.push(item);
    this.#queued++;
    if (!queue.listed) {
      queue.listed = true;
      this.#order.push(queue);
    }
    if (this.#inFlight < this.#limit * this.#depth) this.#pump(false);
  }

  /**
   * Queues one activation to be sent as a batch of its own, ahead of the regular queues: a
   * batch that failed as a whole is split this way, so each activation meets its fate alone.
   */
  submitAlone<T>(target: PoolTarget<T>, item: T): void {
    this.#solo.push({ target: target as PoolTarget, item });
    this.#queued++;
    if (this.#inFlight < this.#limit * this.#depth) this.#pump(true);
  }

  /** Settles everything queued with `error` (pool destroyed); in-flight batches settle through their tasks. */
  rejectQueued(error: SluiceError): void {
    for (const { target, item } of this.#solo.splice(0)) settleSafely(target, [item], undefined, error);
    for (const queue of this.#order.splice(0)) {
      queue.listed = false;
      const items = queue.items.splice(0);
      if (items.length > 0) settleSafely(queue.target, items, undefined, error);
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
    const limit = this.#limit * this.#depth;
    while (this.#inFlight < limit && this.#solo.length > 0) {
      const { target, item } = this.#solo.shift() as { target: PoolTarget; item: unknown };
      this.#send(target, [item]);
    }
    while (this.#inFlight < limit && this.#order.length > 0) {
      let index = -1;
      for (let i = 0; i < this.#order.length; i++) {
        if ((this.#order[i] as Queue).items.length >= this.#batch) {
          index = i;
          break;
        }
      }
      if (index < 0) {
        if (!partialOk) break;
        index = 0;
      }
      const queue = this.#order[index] as Queue;
      const size = this.#batchSize();
      const items = queue.items.length <= size ? queue.items.splice(0) : queue.items.splice(0, size);
      if (queue.items.length === 0) {
        queue.listed = false;
        this.#order.splice(index, 1);
      }
      this.#send(queue.target, items);
    }
    if ((this.#order.length === 0 && this.#solo.length === 0) || this.#inFlight >= limit) return;
    // A partial batch and a free thread: send it at the end of this turn (with everything the
    // same burst adds), or after flushMs when asked to wait for company.
    if (this.#flushMs <= 0) {
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(this.#flush);
      }
    } else if (this.#timer === undefined) {
      this.#timer = this.#setTimer(() => {
        this.#timer = undefined;
        this.#pump(true);
      }, this.#flushMs);
    }
  }

  /**
   * The size of the next batch: the dispatch batch, unless fewer activations wait than would
   * fill one batch per idle thread: then what waits is shared among the idle threads, so a
   * small burst spreads over the pool instead of queueing in one thread while others idle.
   * A busy pool (one idle thread or none) gets whole batches, so a stream still batches.
   */
  #batchSize(): number {
    const idle = this.#limit - this.#inFlight;
    if (idle <= 1) return this.#batch;
    return Math.min(this.#batch, Math.max(1, Math.ceil(this.#queued / idle)));
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    this.#pump(true);
  };

  #send(target: PoolTarget, items: unknown[]): void {
    this.#queued -= items.length;
    this.#inFlight++;
    this.#batchesSent++;
    this.#activationsSent += items.length;
    // The thread stamps the time it starts a batch: the timeout clock runs from it, and a
    // batch that was still waiting inside a thread that crashed is known innocent.
    const board = this.#board;
    const start = target.timeoutMs > 0 || this.#depth > 1 ? board.take() : undefined;
    // One batch per thread, as the effective size says, unless the extra batch per thread is
    // allowed: an owned pool's balancer sees to it; in an injected pool a signal does (Piscina
    // never gives a task with a signal to a busy thread). Creating an AbortController costs
    // several µs, as much as the rest of dispatching a batch of one.
    const abort: AbortController | undefined =
      target.timeoutMs > 0 || (this.#depth === 1 && !this.#balanced) ? new AbortController() : undefined;
    let timer: TimerHandle | undefined;
    if (target.timeoutMs > 0 && start !== undefined) {
      const ms = target.timeoutMs * items.length;
      // The clock runs from when a thread starts the batch: waiting for a thread (or for a
      // replacement thread to boot and build the flow) is not the routine's time.
      const check = (): void => {
        const at = board.startedAt(start);
        const left = at === 0 ? ms : at + ms - Date.now();
        if (left > 0) timer = this.#setTimer(check, left);
        else abort?.abort(new SluiceError(ErrorCode.ActivationTimeout, `timeout ${ms} ms`));
      };
      timer = this.#setTimer(check, ms);
    }
    let result: Promise<BatchResult>;
    // A throw while sending (postMessage reading the task: a throwing getter, a revoked Proxy)
    // means the batch never reached a thread: a clone failure of its data, not a crash.
    let unsent = false;
    try {
      result = this.#run(target.encode(items, start), abort?.signal);
    } catch (error) {
      unsent = true;
      result = Promise.reject(error);
    }
    result.then(
      (batch) => {
        timer?.cancel();
        if (start !== undefined) board.release(start);
        this.#inFlight--;
        // The thread is free: give it the next batch before applying this one's results.
        this.#pump(true);
        settleSafely(target, items, batch, undefined);
        this.#afterBatch();
      },
      (error: unknown) => {
        timer?.cancel();
        this.#inFlight--;
        const innocent = start !== undefined && board.startedAt(start) === 0;
        if (start !== undefined) board.release(start);
        const failure = classify(error, target, items.length, abort?.signal.aborted === true && target.timeoutMs > 0, unsent);
        if (failure.code === ErrorCode.WorkerCrashed && innocent && this.#requeueInnocent(target, items)) {
          this.#afterBatch();
          return;
        }
        settleSafely(target, items, undefined, failure);
        this.#afterBatch();
      },
    );
  }

  /**
   * A thread died holding this batch, which it had not started (it waited behind the batch that
   * crashed): the batch goes back to the front of its queue, a few times at most, instead of
   * failing for another batch's crash.
   */
  #requeueInnocent(target: PoolTarget, items: unknown[]): boolean {
    const first = items[0];
    const tries = typeof first === 'object' && first !== null ? (this.#requeues.get(first) ?? 0) : kMaxRequeues;
    if (tries >= kMaxRequeues) return false;
    this.#requeues.set(first as object, tries + 1);
    let queue = this.#queues.get(target.key);
    if (queue === undefined) {
      queue = { target, items: [], listed: false };
      this.#queues.set(target.key, queue);
    }
    queue.items.unshift(...items);
    this.#queued += items.length;
    if (!queue.listed) {
      queue.listed = true;
      this.#order.unshift(queue);
    }
    return true;
  }

  #afterBatch(): void {
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

const kMaxRequeues = 3;

/** Settles a batch; a target that throws must not leave the dispatcher's counters wrong. */
function settleSafely(target: PoolTarget, items: unknown[], result: BatchResult | undefined, error: SluiceError | undefined): void {
  try {
    target.settle(items, result, error);
  } catch (failure) {
    queueMicrotask(() => {
      throw failure;
    });
  }
}

/** Turns a failed pool task into the coded error its activations fail with. */
function classify(error: unknown, target: PoolTarget, count: number, timedOut: boolean, unsent: boolean): SluiceError {
  const message = error instanceof Error ? error.message : String(error);
  const details = { routineId: target.routineId, flowId: target.flowId, activations: count };
  if (error instanceof SluiceError) return error;
  if (timedOut) {
    return new SluiceError(
      ErrorCode.ActivationTimeout,
      `Routine "${target.routineId}" ran past its timeout of ${target.timeoutMs} ms per activation on a pool thread (batch of ` +
        `${count}); the thread was replaced`,
      { cause: error, details: { ...details, timeoutMs: target.timeoutMs } },
    );
  }
  if ((error instanceof Error && error.name === 'DataCloneError') || unsent) {
    return new SluiceError(ErrorCode.NotClonable, `A value of routine "${target.routineId}" could not cross threads: ${message}`, {
      cause: error,
      details: { ...details, dataClone: true },
    });
  }
  return new SluiceError(
    ErrorCode.WorkerCrashed,
    `A pool thread died while running ${count} activation(s) of routine "${target.routineId}": ${message}`,
    {
      cause: error,
      details: { ...details, reason: (error as { code?: unknown })?.code ?? message },
    },
  );
}

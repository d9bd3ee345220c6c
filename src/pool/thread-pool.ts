/**
 * The runtime's thread pool: a thin facade over Piscina (kept in `#piscina`) plus the
 * dispatcher that packs activations into batches. The effective size is an in-flight limit
 * (`resize(n)`, a validated setter); growing past the Piscina pool's `maxThreads` swaps in a
 * larger pool and drains the old one. Readers get snapshots (`stats()`), never live internals.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { setLongTimeout, type TimerHandle } from '../core/clock.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { assertInteger, assertMs } from '../core/validate.ts';
import { ControlPlane, isControlAnnouncement, type ThreadStats } from './control-plane.ts';
import { Dispatcher, type PoolTarget } from './dispatcher.ts';
import { resolveThreadPoolOptions, type ResolvedThreadPoolOptions, type ThreadPoolOptions } from './pool-options.ts';
import { kRejectClassInstancesKey, type BatchResult, type BatchTask, type WarmTask } from './protocol.ts';
import { StartBoard, kStartBoardKey } from './start-board.ts';
import { pickThread } from './balancer.ts';

/** Where a pool is in its life. */
export type ThreadPoolStatus = 'created' | 'running' | 'closing' | 'closed';

/** Percentiles of a Piscina histogram, in milliseconds. */
export interface TimePercentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** A snapshot of the pool. */
export interface ThreadPoolStats {
  readonly status: ThreadPoolStatus;
  /** Effective size: batches that may run in parallel. */
  readonly threads: number;
  /** Ceiling of the current Piscina pool. */
  readonly maxThreads: number;
  /** Threads alive now (all Piscina pools, a draining one included). */
  readonly threadsAlive: number;
  /** Batches running now. */
  readonly busy: number;
  /** Activations waiting for a thread (in the dispatcher and in Piscina's queue). */
  readonly queueDepth: number;
  /** Piscina's utilisation of the current pool (0–1). */
  readonly utilization: number;
  /** Task run time on threads, ms. */
  readonly runTime: TimePercentiles;
  /** Task wait time in Piscina's queue, ms. */
  readonly waitTime: TimePercentiles;
  /** Activations per dispatch batch now (the knob). */
  readonly dispatchBatch: number;
  /** Mean activations per batch actually sent. */
  readonly meanBatch: number;
  readonly batchesSent: number;
  readonly activationsSent: number;
  /** Pools swapped out by `resize()` past `maxThreads` and still draining. */
  readonly draining: number;
  readonly injected: boolean;
  /**
   * Threads that died of an error outside any running batch (a throw from a timer, an unhandled
   * rejection, while the thread was idle): each was replaced, and none took the process down.
   * Errors of a thread running a batch fail that batch's activations with `SLUICE_ERR_WORKER_CRASHED` instead.
   */
  readonly threadErrors: number;
  /** The last such error, as `{ name, message }`. */
  readonly lastThreadError: { readonly name: string; readonly message: string } | undefined;
}

/**
 * The worker entry Piscina loads: compiled JS next to this file, or a bootstrap under tsx. A
 * path, not a URL: Piscina turns a `file:` URL into a path again on every `run()`.
 */
function workerFilename(): string {
  const here = import.meta.url;
  return fileURLToPath(here.endsWith('.ts') ? new URL('./worker-bootstrap.mjs', here) : new URL('./worker-entry.js', here));
}

/**
 * The pool routines run on.
 *
 * @example
 * ```ts
 * const runtime = new Runtime({ pool: { threads: 2, dispatchBatch: 64 } });
 * runtime.pool.resize(4);            // four batches in parallel from now on
 * runtime.pool.setDispatchBatch(16); // smaller batches, lower latency
 * console.log(runtime.pool.stats());
 * ```
 */
export class ThreadPool {
  readonly #options: ResolvedThreadPoolOptions;
  readonly #filename = workerFilename();
  /** The options of a task without a signal, made once. */
  readonly #runOptions = { filename: this.#filename };
  readonly #control = new ControlPlane();
  readonly #dispatcher: Dispatcher;
  /** Start stamps of in-flight batches, shared with the threads of the pools this pool creates. */
  readonly #board: StartBoard;
  readonly #retired = new Set<Piscina>();
  readonly #flowKeys = new WeakMap<object, string>();
  /** Flows dispatched so far, so a warm-up can build them in new threads before work arrives. */
  readonly #knownFlows = new Map<string, { moduleUrl: string; params: unknown }>();
  readonly #announceWaiters: Array<() => void> = [];
  #flowCounter = 0;
  #piscina: Piscina | undefined;
  #maxThreads: number;
  #status: ThreadPoolStatus = 'created';
  #closing: Promise<void> | undefined;
  #threadErrors = 0;
  #lastThreadError: { name: string; message: string } | undefined;
  readonly #errorListeners = new Set<(error: Error) => void>();

  constructor(options?: ThreadPoolOptions) {
    this.#options = resolveThreadPoolOptions(options);
    this.#maxThreads = this.#options.maxThreads;
    this.#board = new StartBoard(this.#options.piscina === undefined);
    this.#dispatcher = new Dispatcher((task, signal) => this.#runTask(task, signal), {
      limit: this.#options.threads,
      batch: this.#options.dispatchBatch,
      flushMs: this.#options.flushMs,
      board: this.#board,
      balanced: this.#options.piscina === undefined,
      // A flush timer keeps the process alive: a lone activation must still go out.
      setTimer: (fn, ms) => setLongTimeout(fn, ms),
    });
  }

  /** The resolved options this pool was created with. */
  get options(): ResolvedThreadPoolOptions {
    return this.#options;
  }

  get status(): ThreadPoolStatus {
    return this.#status;
  }

  /** Effective size: dispatch batches that may run in parallel. */
  get threads(): number {
    return this.#dispatcher.limit;
  }

  /** Activations per dispatch batch. */
  get dispatchBatch(): number {
    return this.#dispatcher.batch;
  }

  /**
   * Activations a pool routine of one worker may have in flight: every batch a thread may hold,
   * plus one more batch per thread filling on the main thread.
   */
  get window(): number {
    return this.#dispatcher.limit * this.#dispatcher.batch * (this.#dispatcher.depth + 1);
  }

  /** Starts the Piscina pool (threads begin loading the worker entry). Idempotent. */
  start(): this {
    if (this.#status !== 'created') return this;
    this.#status = 'running';
    this.#piscina = this.#options.piscina ?? this.#createPiscina(this.#maxThreads);
    this.#piscina.on('message', this.#onMessage);
    this.#piscina.on('error', this.#onThreadError);
    this.#updateDepth();
    return this;
  }

  /**
   * Sets how many dispatch batches run in parallel, at once. Past the Piscina pool's
   * `maxThreads`, a pool with room for `n` threads is swapped in and the old one drains.
   */
  resize(n: number): void {
    assertInteger('threads', n, 1);
    this.#assertOpen('resize');
    if (n > this.#maxThreads) {
      if (this.#options.piscina !== undefined) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Expected \`threads\` to be <= the injected Piscina's maxThreads (${this.#maxThreads}), got \`${n}\` (number)`,
          {
            details: { threads: n, maxThreads: this.#maxThreads },
          },
        );
      }
      this.#maxThreads = n;
      if (this.#piscina !== undefined) {
        const old = this.#piscina;
        this.#piscina = this.#createPiscina(n, n);
        this.#piscina.on('message', this.#onMessage);
        this.#piscina.on('error', this.#onThreadError);
        this.#retired.add(old);
        // close() lets running tasks finish; their results still come back to the dispatcher.
        void old.close().finally(() => {
          this.#retired.delete(old);
          old.off('message', this.#onMessage);
          old.off('error', this.#onThreadError);
        });
      }
    }
    const grew = n > this.#dispatcher.limit;
    this.#dispatcher.limit = n;
    this.#updateDepth();
    // Start the new threads now rather than when work first finds none idle.
    if (grew && this.#status === 'running') void this.warmUp().catch(() => undefined);
  }

  /** Sets the activations packed into one pool task (the governor turns this knob). */
  setDispatchBatch(n: number): void {
    assertInteger('dispatchBatch', n, 1);
    this.#dispatcher.batch = n;
  }

  /**
   * @internal Queues one activation for a pool thread; its target encodes and settles its batch.
   * Throws `SLUICE_ERR_POOL_CLOSED` when the pool is closing or closed.
   */
  submit<T>(target: PoolTarget<T>, item: T): void {
    if (this.#status === 'closing' || this.#status === 'closed') {
      throw new SluiceError(ErrorCode.PoolClosed, `Routine "${target.routineId}" was dispatched to a pool that is ${this.#status}`, {
        details: { routineId: target.routineId },
      });
    }
    if (this.#status === 'created') this.start();
    this.#dispatcher.submit(target, item);
  }

  /**
   * @internal Queues one activation to travel alone (a batch of its own, sent first): how a
   * batch that failed as a whole is split. Throws `SLUICE_ERR_POOL_CLOSED` like `submit()`.
   */
  submitAlone<T>(target: PoolTarget<T>, item: T): void {
    if (this.#status === 'closing' || this.#status === 'closed') {
      throw new SluiceError(ErrorCode.PoolClosed, `Routine "${target.routineId}" was dispatched to a pool that is ${this.#status}`, {
        details: { routineId: target.routineId },
      });
    }
    if (this.#status === 'created') this.start();
    this.#dispatcher.submitAlone(target, item);
  }

  /** @internal The thread cache key of a flow object (its module, params and identity). */
  flowKey(flow: object, moduleUrl: string): string {
    let key = this.#flowKeys.get(flow);
    if (key === undefined) {
      key = `${moduleUrl}#${++this.#flowCounter}`;
      this.#flowKeys.set(flow, key);
      this.#knownFlows.set(key, { moduleUrl, params: (flow as { source?: { params?: unknown } }).source?.params });
    }
    return key;
  }

  /**
   * Starts the pool and waits until every thread of the effective size has loaded the worker
   * entry, then builds every flow dispatched so far (and `flows`) in every thread, through the
   * control plane. `resize()` up runs it in the background.
   */
  async warmUp(
    options: { flows?: ReadonlyArray<{ flow: object; moduleUrl: string; params: unknown }>; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<{ threads: number }> {
    this.#assertOpen('warmUp');
    this.start();
    const timeoutMs = options.timeoutMs ?? 10_000;
    assertMs('warmUp timeoutMs', timeoutMs, 0, { noLimit: true });
    const deadline = Date.now() + timeoutMs;
    const wanted = Math.min(this.threads, this.#maxThreads);
    // Warm tasks hold their thread until `wanted` of them run at once, so Piscina starts every
    // thread of the effective size (it starts threads only for tasks that find none idle).
    const arrived = new SharedArrayBuffer(4);
    const piscina = this.#piscina as Piscina;
    const task: WarmTask = { kind: 'warm', arrived, wanted, maxWaitMs: timeoutMs };
    // A signal on every warm task: Piscina never gives a task with a signal to a busy thread,
    // so each warm task starts (or finds) a thread of its own.
    const signal = options.signal ?? new AbortController().signal;
    await Promise.all(Array.from({ length: wanted }, () => piscina.run(task, { filename: this.#filename, signal })));
    while (this.#control.threadIds.length < wanted && Date.now() < deadline) {
      options.signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const timer = unrefTimer(resolve, Math.min(deadline - Date.now(), 50));
        this.#announceWaiters.push(() => {
          timer.cancel();
          resolve();
        });
      });
    }
    for (const f of options.flows ?? [])
      this.#knownFlows.set(this.flowKey(f.flow, f.moduleUrl), { moduleUrl: f.moduleUrl, params: f.params });
    // A fresh thread imports and builds each flow once (under tsx that is the slow part): do it
    // now for every flow seen so far, not when the first batch arrives.
    for (const [key, f] of this.#knownFlows) {
      await this.#control.each((remote) => remote.loadFlow(f.moduleUrl, f.params, key), { signal: options.signal, timeoutMs });
    }
    return { threads: this.#control.threadIds.length };
  }

  /** Per-thread counters, asked of every live thread through the control plane. */
  async threadStats(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ThreadStats[]> {
    this.#control.prune(this.#aliveIds());
    return this.#control.each((remote) => remote.stats(), options);
  }

  /** @internal Aborts the signals of running activations of `jobIds` in every thread. */
  cancelJobs(jobIds: readonly string[], reason: string): void {
    if (this.#status !== 'running' || jobIds.length === 0 || this.#dispatcher.stats().inFlight === 0) return;
    void this.#control.each((remote) => remote.cancelJobs(jobIds, reason));
  }

  /** A snapshot. */
  stats(): ThreadPoolStats {
    const d = this.#dispatcher.stats();
    const p = this.#piscina;
    const pick = (h: { p50: number; p90: number; p99: number; max: number } | undefined): TimePercentiles => ({
      p50: h?.p50 ?? 0,
      p90: h?.p90 ?? 0,
      p99: h?.p99 ?? 0,
      max: h?.max ?? 0,
    });
    let alive = p?.threads.length ?? 0;
    let piscinaQueue = p?.queueSize ?? 0;
    for (const old of this.#retired) {
      alive += old.threads.length;
      piscinaQueue += old.queueSize;
    }
    return {
      status: this.#status,
      threads: this.threads,
      maxThreads: this.#maxThreads,
      threadsAlive: alive,
      busy: d.inFlight,
      queueDepth: d.queued + piscinaQueue,
      utilization: p?.utilization ?? 0,
      runTime: pick(p?.histogram.runTime),
      waitTime: pick(p?.histogram.waitTime),
      dispatchBatch: this.dispatchBatch,
      meanBatch: d.meanBatch,
      batchesSent: d.batchesSent,
      activationsSent: d.activationsSent,
      draining: this.#retired.size,
      injected: this.#options.piscina !== undefined,
      threadErrors: this.#threadErrors,
      lastThreadError: this.#lastThreadError === undefined ? undefined : { ...this.#lastThreadError },
    };
  }

  /**
   * Listens for errors of threads that died outside a running batch (see `stats().threadErrors`);
   * returns a disposer. The runtime publishes them as `pool.thread_error`.
   *
   * @example
   * ```ts
   * const off = runtime.pool.onThreadError((error) => console.warn('pool thread died:', error.message));
   * ```
   */
  onThreadError(listener: (error: Error) => void): () => void {
    this.#errorListeners.add(listener);
    return () => void this.#errorListeners.delete(listener);
  }

  /**
   * Lets queued and running batches finish (at most `timeout` ms, then destroys), then closes
   * the Piscina pool (an injected one is left open). Idempotent.
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    const timeout = options.timeout ?? 30_000;
    assertMs('pool close timeout', timeout, 0, { noLimit: true });
    this.#closing ??= (async () => {
      if (this.#status === 'created') {
        this.#status = 'closed';
        return;
      }
      this.#status = 'closing';
      let timer: TimerHandle | undefined;
      const drained = await Promise.race([
        this.#dispatcher.idle().then(() => true),
        new Promise<boolean>((resolve) => (timer = unrefTimer(() => resolve(false), timeout))),
      ]);
      timer?.cancel();
      if (!drained) {
        await this.#shutdown(true);
        return;
      }
      await this.#shutdown(false);
    })();
    return this.#closing;
  }

  /** Rejects queued activations, terminates the threads (of an owned pool) at once. Idempotent. */
  destroy(): Promise<void> {
    if (this.#status === 'closed') return this.#closing ?? Promise.resolve();
    this.#closing = this.#shutdown(true);
    return this.#closing;
  }

  async #shutdown(abrupt: boolean): Promise<void> {
    this.#status = 'closed';
    this.#dispatcher.rejectQueued(
      new SluiceError(ErrorCode.PoolClosed, 'The thread pool was closed before these activations were dispatched'),
    );
    this.#control.close();
    const pools = [...this.#retired];
    if (this.#piscina !== undefined) {
      this.#piscina.off('message', this.#onMessage);
      // An owned pool keeps its error listener while it is destroyed: a late thread error must not crash.
      if (this.#options.piscina !== undefined) this.#piscina.off('error', this.#onThreadError);
      if (this.#options.piscina === undefined) pools.push(this.#piscina);
    }
    await Promise.allSettled(pools.map((p) => (abrupt ? p.destroy() : p.close())));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Piscina emits `error` for a thread that died with no task of its own (an idle thread's timer
   * threw, or a rejection went unhandled): it has already replaced the thread. Without a
   * listener the event would be thrown and take the whole process down.
   */
  readonly #onThreadError = (error: unknown): void => {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.#threadErrors++;
    this.#lastThreadError = { name: failure.name, message: failure.message };
    for (const listener of this.#errorListeners) {
      try {
        listener(failure);
      } catch {
        // A failing listener must not turn a contained thread error into a crash.
      }
    }
  };

  readonly #onMessage = (message: unknown): void => {
    if (!isControlAnnouncement(message)) return;
    this.#control.accept(message);
    for (const wake of this.#announceWaiters.splice(0)) wake();
  };

  #aliveIds(): Set<number> {
    const ids = new Set<number>();
    for (const t of this.#piscina?.threads ?? []) ids.add(t.threadId);
    for (const old of this.#retired) for (const t of old.threads) ids.add(t.threadId);
    return ids;
  }

  #createPiscina(maxThreads: number, minThreads = Math.min(this.#options.threads, maxThreads)): Piscina {
    return new Piscina({
      filename: this.#filename,
      minThreads,
      maxThreads,
      idleTimeout: this.#options.idleTimeout,
      ...(this.#options.resourceLimits === undefined ? {} : { resourceLimits: this.#options.resourceLimits }),
      workerData: { [kStartBoardKey]: this.#board.buffer, [kRejectClassInstancesKey]: this.#options.rejectClassInstances },
      // Threads wait for tasks on their event loop (not Atomics.wait), so control-plane calls
      // and cancellations are answered between batches.
      atomics: 'disabled',
      // Room for the extra batch per thread (see #updateDepth); the balancer decides.
      concurrentTasksPerWorker: 2,
      loadBalancer: (task, workers) => pickThread(task, workers, this.#dispatcher.depth),
    });
  }

  /**
   * One extra batch per thread waits inside the thread (no idle round trip between batches)
   * only where that cannot add parallelism: an owned pool whose ceiling is the effective size,
   * so Piscina can start no thread beyond it.
   */
  #updateDepth(): void {
    const pipelined = this.#options.piscina === undefined && this.#maxThreads === this.#dispatcher.limit;
    this.#dispatcher.depth = pipelined ? 2 : 1;
  }

  #runTask(task: BatchTask, signal: AbortSignal | undefined): Promise<BatchResult> {
    const piscina = this.#piscina as Piscina;
    return piscina.run(task, signal === undefined ? this.#runOptions : { filename: this.#filename, signal }) as Promise<BatchResult>;
  }

  #assertOpen(method: string): void {
    if (this.#status === 'closing' || this.#status === 'closed') {
      throw new SluiceError(ErrorCode.PoolClosed, `pool.${method}() was called while the pool is ${this.#status}`, {
        details: { status: this.#status },
      });
    }
  }
}

function unrefTimer(fn: () => void, ms: number): TimerHandle {
  return setLongTimeout(fn, ms, false);
}

/**
 * Posting: `post()`, `postAsync()` and `postAll()` of the Runtime — validation of the target,
 * admission under a governor, backpressure on full slots, and the job each post creates. The
 * Runtime facade forwards here; what it needs from the runtime comes through {@link PostHost}.
 */
import type { Clock } from '../core/clock.ts';
import { ErrorCode, SlotQueueFullError, SluiceError } from '../core/errors.ts';
import type { Flow } from '../core/flow.ts';
import type { JobContext } from '../core/job-context.ts';
import type { Slot } from '../core/slot.ts';
import {
  checkStreamOptions,
  iteratorOf,
  startStream,
  type StreamOptions,
  type StreamRun,
  type StreamSource,
  type StreamTarget,
} from './stream-run.ts';
import { assertInteger, assertKnownKeys, assertName, assertObject } from '../core/validate.ts';
import type { WorkerState } from '../core/worker-state.ts';
import type { AdmissionGate } from '../governor/index.ts';
import type { DurableSink } from '../store/index.ts';
import type { Jobs } from './jobs.ts';
import type { RoutineRunner } from './routine-runner.ts';
import type { RouteTarget } from './emit-router.ts';
import type { RuntimeEvents } from './runtime-events.ts';
import type { WorkerEngine } from './worker-engine.ts';

/**
 * Options of `runtime.post()`.
 *
 * @category Runtime
 */
export interface PostOptions {
  /**
   * The worker to post to. By default the flow's first `exec()`'d worker that is still running
   * (so `exec()` then `post()` reach the same worker); when the flow has none, one is exec'd.
   * With several workers, name the one you mean.
   */
  workerId?: string;
  /** The job's id; by default a generated one. Must be unique in the runtime. */
  jobId?: string;
  /** Attached to the job as `job.metadata`. */
  metadata?: Record<string, unknown>;
  /**
   * The post's priority for load shedding: under a governor, posts whose priority is below the
   * current shed level are refused with `SLUICE_ERR_LOAD_SHED` (counted, never silent).
   * @default 0
   */
  priority?: number;
}

/**
 * Options of `runtime.postAsync()`.
 *
 * @category Runtime
 */
export interface PostAsyncOptions extends PostOptions {
  /** Stops waiting for room; the job is cancelled. */
  signal?: AbortSignal;
}

/**
 * Options of `runtime.postAll()`.
 *
 * @category Runtime
 */
export interface PostAllOptions {
  /** The worker to post to; by default the same one `post()` picks (see `PostOptions.workerId`). */
  workerId?: string;
  /** Attached to every job as `job.metadata`. */
  metadata?: Record<string, unknown>;
  /** Stops posting; items not yet posted are not. */
  signal?: AbortSignal;
  /** Called every 1024 posted items and at the end with the count so far. */
  onPosted?: (posted: number) => void;
  /**
   * Priority of every post (see `PostOptions.priority`); items shed under load are counted in
   * the result's `shed`, throttled posts wait.
   * @default 0
   */
  priority?: number;
}

const kPostKeys = ['workerId', 'jobId', 'metadata', 'signal', 'priority'] as const;

const kAdmitted = { admitted: true } as const;

/** What posting needs from its runtime. */
export interface PostHost {
  readonly clock: Clock;
  /** `postAsync()` calls that may wait at once. */
  readonly maxParkedPosts: number;
  /** Unfinished jobs the runtime may hold (`Infinity`: no bound). */
  readonly maxPendingJobs: number;
  /** Unfinished jobs now. */
  activeJobs(): number;
  readonly events: RuntimeEvents;
  /** Throws unless the runtime admits work (starting it on first use when it can). */
  assertOpen(method: string): void;
  /** The admission gate, when the runtime is governed. */
  gate(): AdmissionGate | undefined;
  /** The durable sink recording the run, when it records: admission waits while it is behind. */
  sink(): DurableSink | undefined;
  /** Creates and registers the job of one post. */
  newJob(engine: WorkerEngine, options: PostOptions): JobContext;
  hasJob(jobId: string): boolean;
  getFlow(flowId: string): Flow;
  /** The worker named, or the flow's default worker. */
  worker(flowId: string, workerId: string | undefined): WorkerEngine;
}

/** Posts work into a runtime's workers. */
export class Poster {
  readonly #host: PostHost;
  /** `postAsync()` calls waiting now (for slot room or for the recording). */
  #parked = 0;
  /** Posts waiting for a job to end (`maxPendingJobs`), first come first served. */
  #jobWaiters: Array<() => void> = [];

  /** A job ended: a post waiting for room under `maxPendingJobs` may go. */
  jobEnded(): void {
    if (this.#jobWaiters.length > 0 && this.#host.activeJobs() < this.#host.maxPendingJobs) (this.#jobWaiters.shift() as () => void)();
  }

  /** True when the runtime holds `maxPendingJobs` unfinished jobs. */
  #jobsFull(): boolean {
    const max = this.#host.maxPendingJobs;
    return max !== Number.POSITIVE_INFINITY && this.#host.activeJobs() >= max;
  }

  /** Resolves when a job ends (or `signal` aborts, rejecting). */
  #jobRoom(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#jobWaiters.indexOf(wake);
        if (i >= 0) this.#jobWaiters.splice(i, 1);
        reject(
          new SluiceError(ErrorCode.Aborted, 'A post was aborted while waiting for a job to end (maxPendingJobs)', {
            cause: signal?.reason,
          }),
        );
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#jobWaiters.push(wake);
    });
  }

  constructor(host: PostHost) {
    this.#host = host;
  }

  /**
   * Posts `data` into `routineId.slot` of a worker of `flowId` and returns the worker and the
   * new job. Throws a `SlotQueueFullError` when the slot is full and does not drop (use
   * `postAsync()` to wait for room in a `block` slot).
   */
  post(flowId: string, routineId: string, slot: string, data: unknown, options: PostOptions = {}): [WorkerState, JobContext] {
    const { engine, runner, target } = this.#target('post', flowId, routineId, slot, data, options);
    if ((target.isFull || target.waiting > 0) && target.spec.overflow !== 'dropOldest') {
      target.counters.rejected++;
      this.#host.events.overflow(engine.worker.workerId, routineId, slot, 'rejected', undefined);
      throw new SlotQueueFullError(
        `Slot ${routineId}.${slot} of worker "${engine.worker.workerId}" is full (${target.spec.maxQueueLength} items, overflow ` +
          `"${target.spec.overflow}")${target.spec.overflow === 'block' ? '; use postAsync() to wait for room' : ''}`,
        { details: { flowId, routineId, slot, workerId: engine.worker.workerId } },
      );
    }
    this.#host.gate()?.admit(options.priority ?? 0);
    const sink = this.#host.sink();
    if (sink?.isPressured) throw recordingBehind(sink, 'post');
    if (this.#jobsFull()) throw this.#tooManyJobs('post');
    const job = this.#host.newJob(engine, options);
    runner.offer(target, { data, jobs: job });
    return [engine.worker, job];
  }

  /** Pushes `source` through the flow as one job (stream mode; see stream-run.ts). */
  stream<T>(flowId: string, routineId: string, slot: string, source: StreamSource, options: StreamOptions = {}): StreamRun<T> {
    const highWaterMark = checkStreamOptions(options);
    const postOptions: PostOptions = {
      ...(options.workerId === undefined ? {} : { workerId: options.workerId }),
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    };
    const { engine, runner, target } = this.#target('stream', flowId, routineId, slot, source, postOptions);
    let output: StreamTarget['output'];
    if (options.output !== undefined) {
      const outRunner = engine.runner(options.output.routine);
      if (!outRunner.entry.routine.hasEvent(options.output.event)) {
        throw new SluiceError(
          ErrorCode.UnknownEvent,
          `Routine "${options.output.routine}" of flow "${flowId}" has no event "${options.output.event}" (declared: ` +
            `${outRunner.entry.routine.events.map((e) => `"${e.name}"`).join(', ') || 'none'})`,
          { details: { flowId, routineId: options.output.routine, event: options.output.event } },
        );
      }
      output = { runner: outRunner, event: options.output.event };
    }
    const iterator = iteratorOf(source);
    this.#host.gate()?.admit(0);
    if (this.#jobsFull()) throw this.#tooManyJobs('stream');
    const job = this.#host.newJob(engine, postOptions);
    // #target refuses a distributed routine for stream(): this is a runner of this process.
    return startStream<T>({ job, runner: runner as RoutineRunner, slot: target, output }, iterator, highWaterMark, options.signal);
  }

  /**
   * Like `post()`, but when the slot is full and its overflow is `block`, waits for room
   * (backpressure) instead of throwing.
   */
  async postAsync(
    flowId: string,
    routineId: string,
    slot: string,
    data: unknown,
    options: PostAsyncOptions = {},
  ): Promise<[WorkerState, JobContext]> {
    this.#target('postAsync', flowId, routineId, slot, data, options);
    // A slow disk slows posting: wait until the recording is back under its high-water mark.
    const sink = this.#host.sink();
    if ((sink?.isPressured && !sink.isClosed) || this.#jobsFull()) {
      this.#park(`${routineId}.${slot}`);
      try {
        while (sink?.isPressured && !sink.isClosed) await sink.ready(options.signal === undefined ? {} : { signal: options.signal });
        while (this.#jobsFull()) {
          this.#host.assertOpen('postAsync');
          await this.#jobRoom(options.signal);
        }
      } finally {
        this.#parked--;
      }
    }
    const { engine, runner, target } = this.#target('postAsync', flowId, routineId, slot, data, options);
    if (!(target.isFull || target.waiting > 0) || target.spec.overflow !== 'block')
      return this.post(flowId, routineId, slot, data, options);
    if (options.signal?.aborted === true) {
      throw new SluiceError(ErrorCode.Aborted, `postAsync to ${routineId}.${slot} was aborted before it could wait for room`, {
        cause: options.signal.reason,
      });
    }
    this.#park(`${routineId}.${slot}`);
    let job: JobContext;
    try {
      this.#host.gate()?.admit(options.priority ?? 0);
      job = this.#host.newJob(engine, options);
    } catch (error) {
      this.#parked--;
      throw error;
    }
    await new Promise<void>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => {
        this.#parked--;
        job.cancel('postAsync aborted while waiting for room');
        reject(
          new SluiceError(ErrorCode.Aborted, `postAsync to ${routineId}.${slot} was aborted while waiting for room`, {
            cause: signal?.reason,
          }),
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      runner.park(target, { data, jobs: job }, () => {
        if (signal?.aborted !== true) this.#parked--;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    return [engine.worker, job];
  }

  /**
   * Posts every item of `items` (an iterable or async iterable) into `routineId.slot`, one job
   * each, waiting for room whenever the slot is full, whatever its overflow policy — nothing is
   * refused or dropped at the entry. Resolves once everything is posted; await
   * `waitUntilAllJobsFinished()` for the jobs to end.
   *
   * @example
   * ```ts
   * await runtime.postAll('pipeline', 'source', 'in', readings, { onPosted: (n) => bar.update(n) });
   * await runtime.waitUntilAllJobsFinished();
   * ```
   */
  async postAll(
    flowId: string,
    routineId: string,
    slot: string,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: PostAllOptions = {},
  ): Promise<{ posted: number; shed: number }> {
    assertObject('postAll options', options);
    assertKnownKeys('postAll options', options as Record<string, unknown>, ['workerId', 'metadata', 'signal', 'onPosted', 'priority']);
    const { signal, onPosted, ...postOptions } = options;
    const { engine, runner, target, check } = this.#target('postAll', flowId, routineId, slot, null, postOptions);
    let posted = 0;
    let shed = 0;
    const gate = this.#host.gate();
    const sink = this.#host.sink();
    const priority = options.priority ?? 0;
    // Under a governor: wait out a throttle, count what is shed (reported in the result).
    const admitted = async (): Promise<boolean> => {
      for (;;) {
        const verdict = gate?.tryAdmit(priority) ?? kAdmitted;
        if (verdict.admitted) return true;
        if (verdict.reason === 'shed') {
          shed++;
          return false;
        }
        await new Promise<void>((resolve) => this.#host.clock.setTimeout(resolve, Math.max(1, verdict.retryAfterMs)));
      }
    };
    const postOne = (data: unknown): void => {
      this.#host.assertOpen('postAll');
      if (engine.worker.status !== 'running') {
        throw new SluiceError(ErrorCode.WorkerNotRunning, `Worker "${engine.worker.workerId}" stopped while postAll() was posting`, {
          details: { workerId: engine.worker.workerId },
        });
      }
      if (data === undefined) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Expected postAll() item ${posted} for ${flowId}.${routineId}.${slot} to be a value, got \`undefined\` (undefined)`,
        );
      }
      check?.(data);
      runner.offer(target, { data, jobs: this.#host.newJob(engine, postOptions) });
      posted++;
      if (onPosted !== undefined && (posted & 1023) === 0) onPosted(posted);
    };
    // Await only when the slot is full (an await per item would cost more than the post
    // itself), and give the event loop a turn every 1024 posts so signals, timers and I/O are
    // served even when the slot is large enough to take everything.
    const room = async (): Promise<void> => {
      while (target.isFull || target.waiting > 0) await target.room();
      // A slow disk slows posting (the recording's backlog stays under its high-water mark).
      while (sink?.isPressured && !sink.isClosed) await sink.ready(signal === undefined ? {} : { signal });
      while (this.#jobsFull()) {
        this.#host.assertOpen('postAll');
        await this.#jobRoom(signal);
      }
      if ((posted & 1023) === 1023) await new Promise<void>((resolve) => setImmediate(resolve));
    };
    if (Symbol.iterator in items) {
      for (const data of items as Iterable<unknown>) {
        signal?.throwIfAborted();
        if (target.isFull || target.waiting > 0 || (posted & 1023) === 1023 || sink?.isPressured || this.#jobsFull()) await room();
        if (gate === undefined || (await admitted())) postOne(data);
      }
    } else {
      for await (const data of items as AsyncIterable<unknown>) {
        signal?.throwIfAborted();
        await room();
        if (gate === undefined || (await admitted())) postOne(data);
      }
    }
    onPosted?.(posted);
    return { posted, shed };
  }

  #tooManyJobs(method: string): SluiceError {
    const max = this.#host.maxPendingJobs;
    return new SluiceError(
      ErrorCode.TooManyJobs,
      `${method}() was refused: the runtime holds ${this.#host.activeJobs()} unfinished jobs (maxPendingJobs ${max}); use postAsync() ` +
        `or postAll(), which wait for a job to end, or retry later`,
      { details: { activeJobs: this.#host.activeJobs(), maxPendingJobs: max } },
    );
  }

  /** Counts one more waiting `postAsync()`, or refuses it when too many wait already. */
  #park(where: string): void {
    const max = this.#host.maxParkedPosts;
    if (this.#parked >= max) {
      throw new SluiceError(
        ErrorCode.TooManyWaiting,
        `postAsync() to ${where} was refused: ${this.#parked} postAsync() calls already wait for room (maxParkedPosts ${max}); await ` +
          `some of them, or raise maxParkedPosts`,
        { details: { parked: this.#parked, maxParkedPosts: max } },
      );
    }
    this.#parked++;
  }

  #target(
    method: string,
    flowId: string,
    routineId: string,
    slot: string,
    data: unknown,
    options: PostAsyncOptions,
  ): { engine: WorkerEngine; runner: RoutineRunner | RouteTarget; target: Slot<Jobs>; check: ((data: unknown) => void) | undefined } {
    this.#host.assertOpen(method);
    assertObject(`${method} options`, options);
    assertKnownKeys(`${method} options`, options as Record<string, unknown>, kPostKeys);
    if (options.priority !== undefined) assertInteger(`${method} priority`, options.priority, Number.MIN_SAFE_INTEGER);
    if (data === undefined) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected ${method}() data for ${flowId}.${routineId}.${slot} to be a value, got \`undefined\` (undefined)`,
      );
    }
    this.#host.getFlow(flowId);
    const engine = this.#host.worker(flowId, options.workerId);
    if (engine.flow.id !== flowId) {
      throw new SluiceError(ErrorCode.InvalidArgument, `Worker "${engine.worker.workerId}" runs flow "${engine.flow.id}", not "${flowId}"`);
    }
    if (engine.worker.status !== 'running') {
      throw new SluiceError(
        ErrorCode.WorkerNotRunning,
        `Worker "${engine.worker.workerId}" is ${engine.worker.status} and takes no new posts`,
        {
          details: { workerId: engine.worker.workerId, status: engine.worker.status },
        },
      );
    }
    const runner = engine.runner(routineId);
    const target = runner.slot(slot);
    if (target === undefined) {
      throw new SluiceError(
        ErrorCode.UnknownSlot,
        `Routine "${routineId}" of flow "${flowId}" has no slot "${slot}" (declared: ` +
          `${runner.slots.map((s) => `"${s.spec.name}"`).join(', ') || 'none'})`,
        { details: { flowId, routineId, slot } },
      );
    }
    // A distributed routine's slot: the item goes to the transport through its bounded queue.
    const remote = engine.remote(routineId, slot);
    if (remote !== undefined) {
      if (method === 'stream') {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `stream() runs in one process, but routine "${routineId}" of flow "${flowId}" is distributed: post its items instead`,
          { details: { flowId, routineId, slot } },
        );
      }
      this.#checkJobId(options);
      // Before the job exists: an item that cannot cross processes is refused, not half-posted.
      if (method !== 'postAll') remote.check(data);
      return { engine, runner: remote.target, target: remote.slot, check: (item) => remote.check(item) };
    }
    this.#checkJobId(options);
    return { engine, runner, target, check: undefined };
  }

  #checkJobId(options: PostOptions): void {
    if (options.jobId !== undefined) {
      assertName('jobId', options.jobId);
      if (this.#host.hasJob(options.jobId))
        throw new SluiceError(ErrorCode.JobExists, `A job with id "${options.jobId}" already exists`, {
          details: { jobId: options.jobId },
        });
    }
  }
}

/** The refusal of a post that cannot wait while the run's recording is behind. */
function recordingBehind(sink: DurableSink, method: string): SluiceError {
  const { pending, highWaterMark } = sink.stats();
  return new SluiceError(
    ErrorCode.StoreBackpressure,
    `${method}() was refused: the durable log recording this run is behind (${pending} events not yet committed, high-water mark ` +
      `${highWaterMark}); use postAsync() or postAll(), which wait, or retry later`,
    { details: { pending, highWaterMark } },
  );
}

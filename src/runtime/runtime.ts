/**
 * The Runtime, the one public door to running flows: this file holds its API and its docs; the
 * machinery (flows, workers, the job table, the scheduler, the pool bridge, the services) is the
 * `RuntimeEngine` it holds (runtime-engine.ts). Nothing here is global, so several runtimes can
 * live in one process.
 */
import type { TransportStats } from './transport.ts';
import type { DisposableHandle } from '../core/disposable.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import type { Flow } from '../core/flow.ts';
import type { FlowModule } from '../core/flow-module.ts';
import type { JobContext } from '../core/job-context.ts';
import type { WorkerState } from '../core/worker-state.ts';
import type { JobFilter } from './job-table.ts';
import type { RuntimeOptions } from './runtime-options.ts';
import type { ThreadPool, ThreadPoolStats } from '../pool/index.ts';
import type { PlacementStats } from './placement.ts';
import type { EventBus } from '../bus/index.ts';
import type { AdmissionStats, Governor } from '../governor/index.ts';
import type { CheckpointInfo } from '../core/checkpoint-info.ts';
import type { ServeOptions, SluiceServer } from '../serve/index.ts';
import type { DurableSink } from '../store/index.ts';
import type { BreakerRegistry, HealthCheck, HealthCheckOptions, HealthSnapshot, RuntimeState } from '../resilience/index.ts';
import type { DurationSnapshot } from './duration-stats.ts';
import type { FailureTallySnapshot } from './failure-tally.ts';
import type { PostAllOptions, PostAsyncOptions, PostOptions } from './poster.ts';
import type { StreamOptions, StreamRun, StreamSource } from './stream-run.ts';
import { RuntimeEngine } from './runtime-engine.ts';
import { kObserve, kOnDuration, type DurationListener, type RuntimeObservation } from './runtime-observation.ts';

export type { PostAllOptions, PostAsyncOptions, PostOptions } from './poster.ts';

/**
 * Where the runtime is in its life: `created → starting → running ⇄ degraded → stopping →
 * stopped`, or `error` when `start()` failed.
 * @category Runtime
 */
export type RuntimeStatus = RuntimeState;

/**
 * What `close()` reports.
 *
 * @category Runtime
 */
export interface CloseReport {
  /** True when every job finished before the timeout. */
  drained: boolean;
  /** Jobs that had not finished and were cancelled. */
  cancelled: string[];
  /** True when the durable log took every recorded event (also true when nothing is recorded). */
  flushed: boolean;
  /**
   * Recorded events that are not in the durable log: not committed before the timeout, or lost
   * because the log stopped taking writes (disk full, read-only, I/O error). 0 when nothing is
   * recorded.
   */
  notPersisted: number;
  /** The log's last error when events were not persisted (`SLUICE_ERR_STORE_FAILED`, the SQLite code in its message). */
  recordingError?: { code: string; message: string };
}

/**
 * A plain snapshot of the runtime.
 *
 * @category Runtime
 */
export interface RuntimeStats {
  name: string;
  status: RuntimeStatus;
  flows: string[];
  workers: number;
  activeJobs: number;
  jobsEvicted: number;
  queuedItems: number;
  /** The thread pool, when one was created. */
  pool: ThreadPoolStats | undefined;
  /** Placement of every `pool` and `auto` routine, per worker (for `auto`: the measured cost and the decision). */
  placements: PlacementStats[];
  /** Job latency (post to end) per flow, in ms: count, average, p50, p99, max (omega's `get_metrics()`). */
  jobLatency: Record<string, DurationSnapshot>;
  /** Activation durations per routine of each worker, in ms. */
  activations: Array<{ workerId: string; routineId: string } & DurationSnapshot>;
  /** Why jobs failed: the first 10 distinct failures (code, message, routine) with their count of jobs. */
  failures: FailureTallySnapshot;
  /**
   * Under a governor: what admission at `post()` let in and refused (shed by priority, throttled,
   * overloaded past the wait limit), and the knobs in effect; undefined when not governed.
   */
  admission: AdmissionStats | undefined;
  /** With a transport (`RuntimeOptions.transport`): what crossed processes, and the backlog it sends into. */
  transport: TransportStats | undefined;
}

/**
 * Runs flows.
 *
 * @example
 * ```ts
 * await using runtime = new Runtime();
 * runtime.register(pipelineModule);
 * const [, job] = runtime.post('pipeline', 'source', 'in', { n: 1 });
 * await runtime.waitForJob(job.jobId, { timeout: 5_000 });
 * ```
 * @category Runtime
 */
export class Runtime {
  readonly #engine: RuntimeEngine;
  readonly #servers = new Set<SluiceServer>();

  /** A runtime with `options` (all optional; see {@link RuntimeOptions}). Nothing starts until it is used. */
  constructor(options?: RuntimeOptions) {
    this.#engine = new RuntimeEngine(options);
  }

  /** The runtime's name. */
  get name(): string {
    return this.#engine.name;
  }

  /** Where the runtime is in its life. */
  get status(): RuntimeStatus {
    return this.#engine.status;
  }

  /** The governor the runtime registers with (`RuntimeOptions.governor`), if any. */
  get governor(): Governor | undefined {
    return this.#engine.governor;
  }

  /** Health of every subsystem (store, pool, bus, governor, each breaker) and the worst of them. */
  health(): HealthSnapshot {
    return this.#engine.health();
  }

  /**
   * Adds a health check of your own (a database, a downstream API) beside the runtime's (store,
   * pool, bus, governor, breakers): polled every `intervalMs`, it feeds the same lifecycle, so
   * the runtime reads `degraded` while it fails — after `failureThreshold` failures in a row
   * (default 3: one failed check degrades nothing), checked again after `recoveryTimeoutMs`.
   * The disposable removes it.
   *
   * @example
   * ```ts
   * const check = async () => ((await pingDb()) ? { status: 'healthy' } : { status: 'unhealthy', detail: 'no answer' });
   * const db = runtime.addHealthCheck('postgres', check, { intervalMs: 2_000 });
   * runtime.health().subsystems.postgres; // { status, consecutiveErrors, lastCheckTime, … }
   * db.dispose();
   * ```
   */
  addHealthCheck(name: string, check: HealthCheck, options?: HealthCheckOptions): DisposableHandle {
    return this.#engine.addHealthCheck(name, check, options);
  }

  /** The circuit breakers of the routines and dependencies of this runtime. */
  get breakers(): BreakerRegistry {
    return this.#engine.breakers;
  }

  /** The bus the runtime publishes on (topics in `RuntimeTopic`). */
  get bus(): EventBus {
    return this.#engine.bus;
  }

  /** The id of this run: the stream key of everything the runtime publishes and records. */
  get runId(): string {
    return this.#engine.runId;
  }

  /** The durable sink recording this run, when `record` is set and the runtime started. */
  get recorder(): DurableSink | undefined {
    return this.#engine.recorder;
  }

  /**
   * Starts what needs starting: opens the durable log (when `record` is set), resumes the run's
   * sequence from it and attaches the recording sink, then publishes `run.started`. Idempotent
   * while the runtime runs; after `close()` or `destroy()` it rejects with
   * `SLUICE_ERR_RUNTIME_CLOSED`. A runtime without `record` works without `start()` too.
   */
  start(): Promise<void> {
    return this.#engine.start();
  }

  /**
   * Registers a flow (or builds one from a flow module with `params`) and freezes it. Returns
   * the registered flow.
   */
  register(flow: Flow | FlowModule, params?: Record<string, unknown>): Flow {
    return this.#engine.register(flow, params);
  }

  /** Imports a flow module (or loads a flow file: `.yaml`, `.yml`, `.json`) by path or URL and registers its flow. */
  async load(specifier: string, params?: Record<string, unknown>): Promise<Flow> {
    return this.#engine.load(specifier, params);
  }

  /** The registered flow with `flowId`, or a coded error. */
  getFlow(flowId: string): Flow {
    return this.#engine.getFlow(flowId);
  }

  /** Ids of the registered flows. */
  listFlows(): string[] {
    return this.#engine.listFlows();
  }

  /**
   * Starts a new worker (instance) of a flow, with its own queues and state. With `resume` (a
   * worker id, or `'latest'`), the worker starts from that worker's newest checkpoint of this
   * flow: its routine states, its queued items and their jobs (same ids, metadata and data) come
   * back and the work continues; the worker keeps the saved id unless `workerId` is given. A
   * flow that changed since (a routine removed or added, a slot or event renamed, another class)
   * is refused with `SLUICE_ERR_CHECKPOINT_INCOMPATIBLE` naming the differences.
   *
   * @example
   * ```ts
   * const worker = runtime.exec('pipeline', { resume: 'latest' });
   * await runtime.waitUntilAllJobsFinished();
   * ```
   */
  exec(flowId: string, options: { workerId?: string; resume?: string } = {}): WorkerState {
    return this.#engine.exec(flowId, options);
  }

  /** Saves worker `workerId` (same as `worker.checkpoint()`). */
  checkpoint(workerId: string): Promise<CheckpointInfo> {
    return this.#engine.checkpoint(workerId);
  }

  /** Saved checkpoints in the runtime's checkpoint store, newest first (of `flowId` when given). */
  checkpoints(flowId?: string): CheckpointInfo[] {
    return this.#engine.checkpoints(flowId);
  }

  /** The worker with `workerId`, or undefined. */
  getWorker(workerId: string): WorkerState | undefined {
    return this.#engine.getWorker(workerId);
  }

  /** Every worker, running or stopped. */
  listWorkers(): WorkerState[] {
    return this.#engine.listWorkers();
  }

  /**
   * Stops a worker: no new posts; its unfinished jobs get `timeout` ms to finish, then are
   * cancelled. Returns the ids of cancelled jobs.
   */
  async stopWorker(workerId: string, options: { timeout?: number } = {}): Promise<string[]> {
    return this.#engine.stopWorker(workerId, options);
  }

  /**
   * Posts `data` into `routineId.slot` of a worker of `flowId` and returns the worker and the
   * new job. Throws a `SlotQueueFullError` when the slot is full and does not drop (use
   * `postAsync()` to wait for room in a `block` slot).
   */
  post(flowId: string, routineId: string, slot: string, data: unknown, options: PostOptions = {}): [WorkerState, JobContext] {
    return this.#engine.post(flowId, routineId, slot, data, options);
  }

  /**
   * Like `post()`, but when the slot is full and its overflow is `block`, waits for room
   * (backpressure) instead of throwing.
   */
  postAsync(
    flowId: string,
    routineId: string,
    slot: string,
    data: unknown,
    options: PostAsyncOptions = {},
  ): Promise<[WorkerState, JobContext]> {
    return this.#engine.postAsync(flowId, routineId, slot, data, options);
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
  postAll(
    flowId: string,
    routineId: string,
    slot: string,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: PostAllOptions = {},
  ): Promise<{ posted: number; shed: number }> {
    return this.#engine.postAll(flowId, routineId, slot, items, options);
  }

  /** The job with `jobId` (unfinished, or finished and still kept), or undefined. */
  /**
   * Pushes an iterable, async iterable or Node Readable through a flow as **one job** (stream
   * mode): items are not tracked one by one — an immediate routine takes them in chunks, a failed
   * item is counted (`failed`, `firstError`) and the job goes on — and backpressure runs end to
   * end: the source is pulled only while the entry slot has room and the output is below
   * `highWaterMark`. With `output: { routine, event }`, what that routine emits on that event for
   * this stream is `run.output`, an async iterable (or `run.output.readable()` for
   * `stream.pipeline`). `run.done()` resolves when the source is exhausted and every item's
   * effects settled. See docs/jobs-and-errors.md ("Stream mode").
   *
   * @example
   * ```ts
   * const run = runtime.stream('pipeline', 'source', 'in', readings, { output: { routine: 'transform', event: 'converted' } });
   * for await (const converted of run.output!) console.log(converted);
   * const { items, failed } = await run.done();
   * ```
   */
  stream<T = unknown>(flowId: string, routineId: string, slot: string, source: StreamSource, options?: StreamOptions): StreamRun<T> {
    return this.#engine.stream<T>(flowId, routineId, slot, source, options);
  }

  getJob(jobId: string): JobContext | undefined {
    return this.#engine.getJob(jobId);
  }

  /** Jobs matching `filter`, newest first (unfinished before finished). */
  listJobs(filter?: JobFilter): JobContext[] {
    return this.#engine.listJobs(filter);
  }

  /** Resolves with the job once it has ended; rejects with `SLUICE_ERR_JOB_TIMEOUT` after `timeout` ms. */
  async waitForJob(jobId: string, options: { timeout?: number } = {}): Promise<JobContext> {
    return this.#engine.waitForJob(jobId, options);
  }

  /** Resolves `true` once no job is unfinished, or `false` after `timeout` ms. */
  waitUntilAllJobsFinished(options: { timeout?: number } = {}): Promise<boolean> {
    return this.#engine.waitUntilAllJobsFinished(options);
  }

  /**
   * Caps the batch size of a routine's batching policy at run time (for every worker of the
   * flow); `undefined` removes the cap. The governor turns this knob.
   */
  setBatchLimit(flowId: string, routineId: string, limit: number | undefined): void {
    this.#engine.setBatchLimit(flowId, routineId, limit);
  }

  /**
   * The thread pool that `pool` and `auto` routines run on, created on first use (a flow with
   * pool routines starts it at `exec`). Resize it with `runtime.pool.resize(n)`.
   */
  get pool(): ThreadPool {
    return this.#engine.pool;
  }

  /** A plain snapshot. */
  stats(): RuntimeStats {
    return this.#engine.stats();
  }

  /** @internal What a metrics exporter reads at scrape time. */
  [kObserve](): RuntimeObservation {
    return this.#engine.observe();
  }

  /** @internal Registers a listener of every job latency and activation duration. */
  [kOnDuration](listener: DurationListener): DisposableHandle {
    return this.#engine.onDuration(listener);
  }

  /**
   * Serves this runtime over HTTP (see docs/serve.md): the API under `/api/v1/`, `/metrics`, and
   * the live dashboard at `/`, on 127.0.0.1:7070 by default, behind a token (given, from
   * `SLUICE_TOKEN`, or generated and printed once). `close()` of the runtime closes the server
   * first. The server's code loads only when this is called.
   *
   * @example
   * ```ts
   * const server = await runtime.serve({ port: 0 });
   * console.log(`${server.url}/?token=${server.token}`);
   * ```
   */
  async serve(options?: ServeOptions): Promise<SluiceServer> {
    this.#engine.assertOpen('serve');
    const { createServer } = await import('../serve/index.ts');
    const server = await createServer(this, options);
    this.#servers.add(server);
    try {
      await server.listen();
    } catch (error) {
      this.#servers.delete(server);
      await server.close();
      throw error;
    }
    return server;
  }

  /**
   * Stops admitting work, gives unfinished jobs `timeout` ms to finish, cancels the rest and
   * stops every worker. Idempotent: a second call returns the first call's report. With
   * `checkpoint: true`, every running worker is first checkpointed (see `worker.checkpoint()`)
   * and its unfinished jobs are cancelled as "checkpointed" instead of run: a resume finishes them.
   */
  close(options: { timeout?: number; checkpoint?: boolean } = {}): Promise<CloseReport> {
    const closing = this.#engine.close(options);
    if (this.#servers.size === 0) return closing;
    // Servers close beside the drain: requests meanwhile get the coded "closed" refusal.
    const servers = [...this.#servers];
    this.#servers.clear();
    return Promise.all([closing, ...servers.map((server) => server.close())]).then(([report]) => report);
  }

  /**
   * Cancels every unfinished job and stops every worker at once; what the recording sink holds
   * is flushed in the background. Idempotent. During a `close()` it cuts the drain short: the
   * close then reports `drained: false` with these jobs among its `cancelled`.
   */
  destroy(): void {
    for (const server of this.#servers) void server.close();
    this.#servers.clear();
    this.#engine.destroy();
  }

  /**
   * Runs `body` with a started runtime and always closes it, also when `body` throws: what
   * `await using` gives TypeScript, in plain JavaScript on Node 20. Resolves with what `body`
   * returns; rejects with what it throws (after the close).
   *
   * @example
   * ```js
   * const done = await Runtime.with({ name: 'etl' }, async (runtime) => {
   *   runtime.register(pipelineModule);
   *   const [, job] = runtime.post('pipeline', 'source', 'in', { celsius: 21 });
   *   return job.done();
   * });
   * ```
   */
  static async with<T>(options: RuntimeOptions | undefined, body: (runtime: Runtime) => T | Promise<T>): Promise<T> {
    if (typeof body !== 'function') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected Runtime.with() to get a function as its second argument, got ${describeValue(body)}`,
      );
    }
    const runtime = new Runtime(options);
    try {
      await runtime.start();
      return await body(runtime);
    } finally {
      await runtime.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

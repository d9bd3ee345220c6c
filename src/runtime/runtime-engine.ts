/**
 * The runtime's engine: everything `Runtime` (the facade in runtime.ts) does, kept out of the
 * public class. See {@link RuntimeEngine}.
 */
import type { DisposableHandle } from '../core/disposable.ts';
import { ErrorCode, SluiceError, TimeoutError, describeValue } from '../core/errors.ts';
import { Flow } from '../core/flow.ts';
import { isFlowFilePath, isFlowModule, loadFlowModule, type FlowModule } from '../core/flow-module.ts';
import { JobContext, kJobSerial, type JobHooks } from '../core/job-context.ts';
import { JobTracing } from './job-tracing.ts';
import type { StreamOptions, StreamRun, StreamSource } from './stream-run.ts';
import { kCounters, type WorkerState } from '../core/worker-state.ts';
import type { Slot } from '../core/slot.ts';
import type { DurationListener, RuntimeObservation, WorkerObservation } from './runtime-observation.ts';
import { DurationFeed } from './duration-feed.ts';
import { assertInteger, assertKnownKeys, assertMs, assertName, assertObject } from '../core/validate.ts';
import { JobTable, type JobFilter } from './job-table.ts';
import { resolveRuntimeOptions, type ResolvedRuntimeOptions, type RuntimeOptions } from './runtime-options.ts';
import { Scheduler } from './scheduler.ts';
import { WorkerEngine } from './worker-engine.ts';
import { ThreadPool, assertNotInFlowModuleImport, assertNotPoolThread, resolveThreadPoolOptions } from '../pool/index.ts';
import { PoolBridge } from './pool-bridge.ts';
import type { PlacementStats } from './placement.ts';
import { nanoid } from 'nanoid';
import type { EventBus } from '../bus/index.ts';
import type { DurableSink } from '../store/index.ts';
import type { BreakerRegistry, HealthCheck, HealthCheckOptions, HealthSnapshot } from '../resilience/index.ts';
import type { GovernedRuntime } from './runtime-governable.ts';
import { RuntimeServices } from './runtime-services.ts';
import { DurationStats } from './duration-stats.ts';
import { FailureTally } from './failure-tally.ts';
import type { RecordingOutcome } from './run-recording.ts';
import { RuntimeEvents, RuntimeTopic } from './runtime-events.ts';
import { Poster, type PostAllOptions, type PostAsyncOptions, type PostOptions } from './poster.ts';

import type { CloseReport, RuntimeStats, RuntimeStatus } from './runtime.ts';
import type { PostHost } from './poster.ts';
import type { Clock } from '../core/clock.ts';
import type { AdmissionGate, Governor } from '../governor/index.ts';
import type { CheckpointInfo } from '../store/index.ts';
import { WorkerCheckpoints } from './checkpoint.ts';
import type { TransportBinding } from './transport.ts';

/**
 * The machinery behind the {@link Runtime} facade: flows, workers, the job table, the scheduler,
 * the pool bridge and the services. The facade validates nothing it does not have to and
 * forwards; a posted item goes down from here: poster → engine → runner → slot.
 * @internal
 */
export class RuntimeEngine implements PostHost {
  readonly #options: ResolvedRuntimeOptions;
  readonly #flows = new Map<string, Flow>();
  readonly #workers = new Map<string, WorkerEngine>();
  readonly #defaultWorkers = new Map<string, string>();
  /** Batch caps set with `setBatchLimit()`, by flow then routine, so later workers get them too. */
  readonly #batchLimits = new Map<string, Map<string, number>>();
  readonly #jobs: JobTable;
  readonly #scheduler: Scheduler;
  readonly #jobPrefix = `job-${nanoid(8)}-`;
  readonly #hooks: JobHooks;
  #jobCounter = 0;
  /** Job latency per flow. */
  readonly #jobLatency = new Map<string, DurationStats>();
  /** Why jobs failed, for `stats().failures`. */
  readonly #failures = new FailureTally(10);
  readonly #durations = new DurationFeed(() => ({ jobs: this.#jobLatency, workers: this.#workers.values() }));
  readonly #checkpoints: WorkerCheckpoints;
  readonly #tracing: JobTracing | undefined;
  #workerCounter = 0;
  #closing: Promise<CloseReport> | undefined;
  readonly #events: RuntimeEvents;
  #starting: Promise<void> | undefined;
  readonly #services: RuntimeServices;
  readonly #poster: Poster;
  #destroyed = false;
  /** Jobs `destroy()` cancelled while a `close()` was draining: that close reports them. */
  #destroyCancelled: string[] = [];
  #pool: ThreadPool | undefined;
  readonly #poolBridge: PoolBridge;

  constructor(options?: RuntimeOptions) {
    // A one-file program's top level, run again by a pool thread importing its flow: refused, loudly.
    assertNotInFlowModuleImport();
    this.#options = resolveRuntimeOptions(options);
    this.#poolBridge = new PoolBridge(() => this.pool, resolveThreadPoolOptions(this.#options.pool));
    this.#jobs = new JobTable(this.#options.jobHistoryLimit, this.#jobPrefix);
    this.#scheduler = new Scheduler(this.#options.drainBudgetMs);
    this.#events = new RuntimeEvents(this.#options.bus, this.#options.runId);
    this.#services = new RuntimeServices(this.#options, () => this.#pool);
    this.#poster = new Poster(this);
    this.#tracing = this.#options.tracerProvider === undefined ? undefined : new JobTracing(this.#options.tracerProvider);
    this.#checkpoints = new WorkerCheckpoints({
      name: this.name,
      storePath: this.#options.checkpoints ?? (typeof this.#options.record?.log === 'string' ? this.#options.record.log : undefined),
      engine: (workerId) => this.#engine(workerId),
      workers: () => this.#workers.values(),
      events: this.#events,
      activeJobs: () => this.#jobs.active(),
      exec: (flowId, workerId) => this.exec(flowId, { workerId }),
      newJob: (engine, options) => this.#newJob(engine, options),
    });
    this.#hooks = {
      cancel: (job, reason) => {
        // Ended jobs' items are purged on the next pass; end first so the purge sees it.
        queueMicrotask(() => this.#workers.get(job.workerId)?.purgeEnded());
        this.#pool?.cancelJobs([job.jobId], reason.message);
      },
      settled: (job) => this.#jobSettled(job),
    };
  }

  // What the poster needs (PostHost): the engine itself, so a post only goes down.

  get clock(): Clock {
    return this.#options.clock;
  }

  get maxParkedPosts(): number {
    return this.#options.maxParkedPosts;
  }

  get maxPendingJobs(): number {
    return this.#options.maxPendingJobs;
  }

  get events(): RuntimeEvents {
    return this.#events;
  }

  activeJobs(): number {
    return this.#jobs.activeCount;
  }

  assertOpen(method: string): void {
    this.#assertOpen(method);
  }

  gate(): AdmissionGate | undefined {
    return this.#services.governance?.gate;
  }

  sink(): DurableSink | undefined {
    return this.#services.recording?.sink;
  }

  newJob(engine: WorkerEngine, options: PostOptions): JobContext {
    return this.#newJob(engine, options);
  }

  hasJob(jobId: string): boolean {
    return this.#jobs.has(jobId);
  }

  worker(flowId: string, workerId: string | undefined): WorkerEngine {
    return workerId === undefined ? this.#defaultWorker(flowId) : this.#engine(workerId);
  }

  get name(): string {
    return this.#options.name;
  }

  get status(): RuntimeStatus {
    return this.#services.state;
  }

  health(): HealthSnapshot {
    return this.#services.health.snapshot();
  }

  addHealthCheck(name: string, check: HealthCheck, options?: HealthCheckOptions): DisposableHandle {
    return this.#services.health.register(name, check, options);
  }

  get breakers(): BreakerRegistry {
    return this.#services.breakers;
  }

  get bus(): EventBus {
    return this.#options.bus;
  }

  get runId(): string {
    return this.#options.runId;
  }

  get governor(): Governor | undefined {
    return this.#options.governor;
  }

  get recorder(): DurableSink | undefined {
    return this.#services.recording?.sink;
  }

  start(): Promise<void> {
    // After close() or destroy() there is nothing to start, whether or not start() ran before.
    if (this.#closing !== undefined || this.#destroyed) {
      return Promise.reject(
        new SluiceError(
          ErrorCode.RuntimeClosed,
          `runtime.start() was called after runtime "${this.name}" was closed (${this.#services.state})`,
          { details: { status: this.#services.state } },
        ),
      );
    }
    if (this.#starting === undefined) {
      if (this.#services.state !== 'created') {
        this.#assertOpen('start');
        return Promise.resolve();
      }
      this.#starting = this.#services.start(this.#governedView()).then(() => this.#published());
    }
    return this.#starting;
  }

  #published(): void {
    this.#events.packCompletedJobs(this.#services.recording?.tap, this.#jobPrefix);
    // heartbeatMs tells a reader of the log how long a silence means the process died (0: no heartbeats).
    this.#events.publish(RuntimeTopic.RunStarted, () => ({
      runtime: this.name,
      runId: this.runId,
      flows: this.listFlows(),
      pid: process.pid,
      node: process.version,
      heartbeatMs: this.#options.heartbeatMs,
    }));
  }

  register(flow: Flow | FlowModule, params?: Record<string, unknown>): Flow {
    this.#assertOpen('register');
    let built: Flow;
    if (flow instanceof Flow) built = flow;
    else if (isFlowModule(flow)) built = flow.build(params);
    else
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected register() to get a Flow or a flow module (defineFlow), got ${describeValue(flow)}`,
      );
    if (this.#flows.has(built.id)) {
      throw new SluiceError(ErrorCode.FlowExists, `A flow with id "${built.id}" is already registered in runtime "${this.name}"`, {
        details: { flowId: built.id },
      });
    }
    built.freeze();
    this.#flows.set(built.id, built);
    return built;
  }

  async load(specifier: string, params?: Record<string, unknown>): Promise<Flow> {
    if (isFlowFilePath(specifier)) {
      const { loadFlowFile } = await import('../flowfile/index.ts');
      return this.register(await loadFlowFile(specifier), params);
    }
    return this.register(await loadFlowModule(specifier), params);
  }

  getFlow(flowId: string): Flow {
    const flow = this.#flows.get(flowId);
    if (flow === undefined) {
      throw new SluiceError(
        ErrorCode.FlowNotFound,
        `No flow "${flowId}" is registered in runtime "${this.name}" (registered: ` +
          `${[...this.#flows.keys()].map((f) => `"${f}"`).join(', ') || 'none'})`,
        {
          details: { flowId },
        },
      );
    }
    return flow;
  }

  listFlows(): string[] {
    return [...this.#flows.keys()];
  }

  exec(flowId: string, options: { workerId?: string; resume?: string } = {}): WorkerState {
    this.#assertOpen('exec');
    const flow = this.getFlow(flowId);
    assertObject('exec options', options);
    assertKnownKeys('exec options', options as Record<string, unknown>, ['workerId', 'resume']);
    if (options.resume !== undefined) return this.#checkpoints.resume(flow, options.resume, options.workerId);
    const pooled = flow.routines.filter((entry) => entry.placement === 'pool');
    if (pooled.length > 0 && flow.source === undefined) {
      const ids = pooled.map((entry) => `"${entry.id}"`).join(', ');
      throw new SluiceError(
        ErrorCode.PoolUnavailable,
        `Flow "${flowId}" puts routine ${ids} on the pool, but the flow was not built from a module by defineFlow(), so pool threads ` +
          `cannot rebuild it`,
        { details: { flowId, routineIds: pooled.map((entry) => entry.id) } },
      );
    }
    const workerId = options.workerId ?? `${flowId}-w${++this.#workerCounter}`;
    assertName('workerId', workerId);
    if (pooled.length > 0) this.pool.start();
    if (this.#workers.has(workerId)) {
      throw new SluiceError(ErrorCode.WorkerExists, `A worker with id "${workerId}" already exists`, { details: { workerId } });
    }
    const engine = new WorkerEngine(workerId, flow, {
      clock: this.#options.clock,
      random: this.#options.random,
      historyLimit: this.#options.historyLimit,
      scheduler: this.#scheduler,
      events: this.#events,
      pool: this.#poolBridge,
      breakersFor: (entry) => this.#services.breakersFor(flowId, entry),
      checkpoint: (id) => this.checkpoint(id),
      bindTransport: (engine) => this.#bindTransport(engine),
    });
    for (const [routineId, limit] of this.#batchLimits.get(flowId) ?? []) engine.setBatchLimit(routineId, limit);
    this.#workers.set(workerId, engine);
    engine.transport?.start();
    this.#durations.worker(engine);
    this.#events.publish(RuntimeTopic.WorkerStarted, () => ({ workerId, flowId }));
    return engine.worker;
  }

  getWorker(workerId: string): WorkerState | undefined {
    return this.#workers.get(workerId)?.worker;
  }

  listWorkers(): WorkerState[] {
    return [...this.#workers.values()].map((e) => e.worker);
  }

  async stopWorker(workerId: string, options: { timeout?: number } = {}): Promise<string[]> {
    const engine = this.#engine(workerId);
    const timeout = options.timeout ?? 30_000;
    assertMs('stopWorker timeout', timeout, 0, { noLimit: true });
    if (engine.worker.status === 'stopped') return [];
    engine.setStopping();
    const unbinding = engine.transport?.stop();
    await this.#within(engine.idle(), timeout);
    const cancelled = this.#jobs.active().filter((job) => job.workerId === workerId);
    for (const job of cancelled) job.cancel(`worker "${workerId}" stopped`);
    engine.stop();
    if (unbinding !== undefined) await this.#within(unbinding, 5_000);
    this.#events.publish(RuntimeTopic.WorkerStopped, () => ({ workerId, flowId: engine.flow.id, cancelled: cancelled.length }));
    return cancelled.map((job) => job.jobId);
  }

  post(flowId: string, routineId: string, slot: string, data: unknown, options: PostOptions = {}): [WorkerState, JobContext] {
    return this.#poster.post(flowId, routineId, slot, data, options);
  }

  postAsync(
    flowId: string,
    routineId: string,
    slot: string,
    data: unknown,
    options: PostAsyncOptions = {},
  ): Promise<[WorkerState, JobContext]> {
    return this.#poster.postAsync(flowId, routineId, slot, data, options);
  }

  postAll(
    flowId: string,
    routineId: string,
    slot: string,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: PostAllOptions = {},
  ): Promise<{ posted: number; shed: number }> {
    return this.#poster.postAll(flowId, routineId, slot, items, options);
  }

  stream<T>(flowId: string, routineId: string, slot: string, source: StreamSource, options?: StreamOptions): StreamRun<T> {
    return this.#poster.stream<T>(flowId, routineId, slot, source, options);
  }

  getJob(jobId: string): JobContext | undefined {
    return this.#jobs.get(jobId);
  }

  listJobs(filter?: JobFilter): JobContext[] {
    return this.#jobs.list(filter);
  }

  async waitForJob(jobId: string, options: { timeout?: number } = {}): Promise<JobContext> {
    const job = this.#jobs.get(jobId);
    if (job === undefined)
      throw new SluiceError(ErrorCode.JobNotFound, `No job "${jobId}" in runtime "${this.name}"`, { details: { jobId } });
    const timeout = options.timeout ?? Number.POSITIVE_INFINITY;
    assertMs('waitForJob timeout', timeout, 0, { noLimit: true });
    if (job.isTerminal) return job;
    if (!(await this.#within(job.done(), timeout))) {
      throw new TimeoutError(
        ErrorCode.JobTimeout,
        `Job "${jobId}" did not finish within ${timeout} ms (status ${job.status}, ${job.inFlight} items in flight)`,
        {
          details: { jobId, timeout },
        },
      );
    }
    return job;
  }

  waitUntilAllJobsFinished(options: { timeout?: number } = {}): Promise<boolean> {
    const timeout = options.timeout ?? Number.POSITIVE_INFINITY;
    assertMs('waitUntilAllJobsFinished timeout', timeout, 0, { noLimit: true });
    return this.#within(this.#jobs.idle(), timeout);
  }

  setBatchLimit(flowId: string, routineId: string, limit: number | undefined): void {
    const flow = this.getFlow(flowId);
    if (flow.getRoutine(routineId) === undefined) {
      throw new SluiceError(ErrorCode.RoutineNotFound, `Flow "${flowId}" has no routine "${routineId}"`, {
        details: { flowId, routineId },
      });
    }
    if (limit !== undefined) assertInteger(`batch limit of ${flowId}.${routineId}`, limit, 1);
    const limits = this.#batchLimits.get(flowId) ?? new Map<string, number>();
    if (limit === undefined) limits.delete(routineId);
    else limits.set(routineId, limit);
    this.#batchLimits.set(flowId, limits);
    for (const engine of this.#workers.values()) {
      if (engine.flow === flow) engine.setBatchLimit(routineId, limit);
    }
  }

  get pool(): ThreadPool {
    if (this.#pool === undefined) {
      assertNotPoolThread();
      this.#pool = new ThreadPool(this.#options.pool);
      this.#pool.onThreadError((error) =>
        this.#events.publish(RuntimeTopic.PoolThreadError, () => ({ name: error.name, message: error.message })),
      );
    }
    return this.#pool;
  }

  stats(): RuntimeStats {
    let queuedItems = 0;
    const placements: PlacementStats[] = [];
    const activations: RuntimeStats['activations'] = [];
    for (const engine of this.#workers.values()) {
      queuedItems += engine.queuedItems();
      for (const runner of engine.runners.values()) {
        if (runner.placement.requested !== 'inline') placements.push(runner.placement.snapshot(engine.worker.workerId, runner.id));
        activations.push({ workerId: engine.worker.workerId, routineId: runner.id, ...runner.durations.snapshot() });
      }
    }
    return {
      pool: this.#pool?.stats(),
      placements,
      name: this.name,
      status: this.#services.state,
      flows: this.listFlows(),
      workers: this.#workers.size,
      activeJobs: this.#jobs.activeCount,
      jobsEvicted: this.#jobs.evicted,
      queuedItems,
      jobLatency: Object.fromEntries([...this.#jobLatency].map(([flowId, stats]) => [flowId, stats.snapshot()])),
      activations,
      failures: this.#failures.snapshot(),
      admission: this.#services.governance?.gate.stats(),
      transport: this.#options.transport?.stats(),
    };
  }

  /**
   * Calls `listener` with every job latency and activation duration from now on (what an
   * OpenTelemetry histogram records); nothing is called, and nothing costs, with no listener.
   */
  onDuration(listener: DurationListener): DisposableHandle {
    return this.#durations.add(listener);
  }

  /** See `WorkerCheckpoints.save`. */
  checkpoint(workerId: string, options: { stop?: boolean } = {}): Promise<CheckpointInfo> {
    return this.#checkpoints.save(workerId, options);
  }

  /** Saved checkpoints, newest first (of `flowId` when given). */
  checkpoints(flowId?: string): CheckpointInfo[] {
    return this.#checkpoints.store().list(flowId);
  }

  /** The live counters and histograms a metrics exporter reads (see runtime-observation.ts). */
  observe(): RuntimeObservation {
    const workers: WorkerObservation[] = [];
    for (const engine of this.#workers.values()) {
      const routines = [...engine.runners.values()].map((runner) => ({
        routineId: runner.id,
        placement: runner.placement.onPool ? ('pool' as const) : ('inline' as const),
        durations: runner.durations,
        slots: runner.slots as readonly Slot<unknown>[],
      }));
      const { worker } = engine;
      workers.push({ workerId: worker.workerId, flowId: engine.flow.id, status: worker.status, counters: worker[kCounters], routines });
    }
    return { workers, jobLatency: this.#jobLatency };
  }

  close(options: { timeout?: number; checkpoint?: boolean } = {}): Promise<CloseReport> {
    const timeout = options.timeout ?? 30_000;
    assertMs('close timeout', timeout, 0, { noLimit: true });
    if (options.checkpoint !== undefined && typeof options.checkpoint !== 'boolean') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected close \`checkpoint\` to be a boolean, got ${describeValue(options.checkpoint)}`,
      );
    }
    // Checkpointing needs a store: refused before anything stops.
    if (options.checkpoint === true && this.#closing === undefined) this.#checkpoints.store();
    const checkpointing = options.checkpoint === true && this.#closing === undefined ? this.#checkpoints.saveAll() : undefined;
    // Admission stops now, synchronously, unless a start is still opening its log.
    if (this.#closing === undefined && this.#services.state !== 'starting') this.#services.beginStop();
    this.#closing ??= (async () => {
      await this.#starting?.catch(() => undefined);
      this.#services.beginStop();
      // Saved workers' jobs end here (cancelled: "checkpointed"): a resume runs them, not this close.
      await checkpointing;
      // Taking nothing more from the transport; what was taken finishes with the drain.
      const unbinding = Promise.all([...this.#workers.values()].map((engine) => engine.transport?.stop()));
      const drained = (await this.#within(this.#jobs.idle(), timeout)) && !this.#destroyed;
      const cancelled = [...this.#destroyCancelled, ...this.#cancelAll('runtime closed before the job finished')];
      const destroyed = this.#destroyed;
      await this.#within(unbinding, destroyed ? 0 : 5_000);
      await this.#options.transport?.close();
      this.#events.publish(RuntimeTopic.RunStopped, () => ({
        runtime: this.name,
        runId: this.runId,
        drained,
        cancelled: cancelled.length,
        ...(destroyed ? { destroyed } : {}),
        ...this.#recordedFact(),
      }));
      await this.#pool?.close({ timeout: destroyed ? 0 : Math.min(timeout, 5_000) });
      const recording = await this.#services.stop(destroyed ? 1_000 : Math.max(timeout, 5_000));
      this.#services.finishStop();
      return closeReport(drained, cancelled, recording);
    })();
    return this.#closing;
  }

  destroy(): void {
    if (this.#services.state === 'stopped' || this.#destroyed) return;
    this.#destroyed = true;
    if (this.#closing !== undefined) {
      // A close() is draining: cut it short. It still publishes `run.stopped` (once, with the
      // jobs cancelled here) and flushes the recording briefly; its report is this call's.
      this.#destroyCancelled = this.#cancelAll('runtime destroyed');
      void this.#pool?.destroy();
      return;
    }
    this.#services.beginStop();
    this.#services.finishStop();
    const cancelled = this.#cancelAll('runtime destroyed');
    this.#events.publish(RuntimeTopic.RunStopped, () => ({
      runtime: this.name,
      runId: this.runId,
      drained: false,
      cancelled: cancelled.length,
      destroyed: true,
      ...this.#recordedFact(),
    }));
    void this.#pool?.destroy();
    void this.#options.transport?.close();
    const flushing = this.#services.stop(1_000);
    this.#closing ??= flushing.then((recording) => closeReport(false, cancelled, recording));
  }

  /** What the governor sees of this runtime. */
  #governedView(): GovernedRuntime {
    return {
      name: this.name,
      flows: () => [...this.#flows.values()],
      queues: () => [...this.#workers.values()].flatMap((engine) => (engine.worker.status === 'running' ? engine.queueStatus() : [])),
      existingPool: () => this.#pool,
      activeJobs: () => this.#jobs.activeCount,
      transportBacklog: () => {
        const stats = this.#options.transport?.stats();
        if (stats === undefined) return undefined;
        let backlog = stats.unsent;
        for (const n of Object.values(stats.backlog)) backlog += n;
        return backlog;
      },
      batchLimit: (flowId, routineId) => this.#batchLimits.get(flowId)?.get(routineId),
      setBatchLimit: (flowId, routineId, limit) => this.setBatchLimit(flowId, routineId, limit),
    };
  }

  /** The worker's binding to the transport, when there is one and the flow has distributed routines. */
  #bindTransport(engine: WorkerEngine): TransportBinding | undefined {
    const transport = this.#options.transport;
    if (transport === undefined || engine.flow.routines.every((entry) => entry.distributed === undefined)) return undefined;
    return transport.bind({
      flow: engine.flow,
      workerId: engine.worker.workerId,
      hasJob: (jobId) => this.#jobs.has(jobId),
      run: (routineId, slot, data, jobId, metadata) => {
        if (engine.worker.status !== 'running') {
          throw new SluiceError(ErrorCode.WorkerNotRunning, `Worker "${engine.worker.workerId}" is ${engine.worker.status}`);
        }
        const runner = engine.runner(routineId);
        const target = runner.slot(slot);
        if (target === undefined) {
          throw new SluiceError(ErrorCode.UnknownSlot, `Routine "${routineId}" of flow "${engine.flow.id}" has no slot "${slot}"`, {
            details: { flowId: engine.flow.id, routineId, slot },
          });
        }
        const job = this.#newJob(engine, { jobId, metadata });
        const item = { data, jobs: job };
        // Taken from the transport: it waits for room rather than being refused or dropping another.
        if (target.isFull || target.waiting > 0) runner.park(target, item, () => {});
        else runner.offer(target, item);
        return job;
      },
    });
  }

  #cancelAll(reason: string): string[] {
    const cancelled = this.#jobs.active();
    for (const job of cancelled) job.cancel(reason);
    for (const engine of this.#workers.values()) if (engine.worker.status !== 'stopped') engine.stop();
    return cancelled.map((job) => job.jobId);
  }

  #newJob(engine: WorkerEngine, options: PostOptions): JobContext {
    const job = new JobContext(
      options.jobId ?? this.#jobPrefix + ++this.#jobCounter,
      engine.flow.id,
      engine.worker.workerId,
      options.metadata,
      this.#options.traceLimit,
      this.#options.clock.now(),
      this.#hooks,
      engine.runners.size,
    );
    if (options.jobId === undefined) job[kJobSerial] = this.#jobCounter;
    this.#tracing?.started(job);
    this.#jobs.add(job, options.jobId === undefined);
    engine.jobStarted();
    engine.worker[kCounters].jobsPosted++;
    return job;
  }

  /** `{ recorded }` for run.stopped: the events the recording took, this one included (see docs/bus-and-log.md). */
  #recordedFact(): { recorded?: number } {
    const recorded = this.#services.recordedCount(1);
    return recorded === undefined ? {} : { recorded };
  }

  #jobSettled(job: JobContext): void {
    this.#jobs.settled(job);
    this.#tracing?.ended(job);
    this.#poster.jobEnded();
    // The activation that ended the job already read the clock; others (cancel, failure) read it here.
    const latencyMs = (job.finishedMono ?? this.#options.clock.now()) - job.createdMono;
    let latency = this.#jobLatency.get(job.flowId);
    if (latency === undefined) {
      this.#jobLatency.set(job.flowId, (latency = new DurationStats()));
      this.#durations.job(job.flowId, latency);
    }
    latency.record(latencyMs);
    this.#services.governance?.governable.jobEnded(latencyMs);
    const engine = this.#workers.get(job.workerId);
    if (engine === undefined) return;
    // A failed job's items still queued elsewhere (another branch, a join) go now, not when reached.
    if (job.status === 'failed') {
      queueMicrotask(() => engine.purgeEnded());
      this.#pool?.cancelJobs([job.jobId], job.error?.message ?? 'job failed');
    }
    this.#events.jobEnded(job);
    const counters = engine.worker[kCounters];
    if (job.status === 'completed') counters.jobsProcessed++;
    else if (job.status === 'failed') {
      counters.jobsFailed++;
      this.#failures.record(job);
      if (job.error?.code === ErrorCode.ItemDropped) counters.jobsDropped++;
    } else counters.jobsCancelled++;
    engine.jobEnded();
  }

  /**
   * The worker a post without `workerId` goes to: the flow's first exec'd worker that still runs
   * (so `exec()` then `post()` reach the same worker, as in Routilux); a worker is exec'd when
   * the flow has none running.
   */
  #defaultWorker(flowId: string): WorkerEngine {
    const id = this.#defaultWorkers.get(flowId);
    const current = id === undefined ? undefined : this.#workers.get(id);
    if (current !== undefined && current.worker.status === 'running') return current;
    for (const engine of this.#workers.values()) {
      if (engine.flow.id === flowId && engine.worker.status === 'running') {
        this.#defaultWorkers.set(flowId, engine.worker.workerId);
        return engine;
      }
    }
    const worker = this.exec(flowId);
    this.#defaultWorkers.set(flowId, worker.workerId);
    return this.#engine(worker.workerId);
  }

  #engine(workerId: string): WorkerEngine {
    const engine = this.#workers.get(workerId);
    if (engine === undefined) {
      throw new SluiceError(ErrorCode.WorkerNotFound, `No worker "${workerId}" in runtime "${this.name}"`, { details: { workerId } });
    }
    return engine;
  }

  #assertOpen(method: string): void {
    const state = this.#services.state;
    if (state === 'created') {
      if (this.#services.needsStart) {
        if (method === 'register') return;
        throw new SluiceError(
          ErrorCode.RuntimeNotStarted,
          `runtime.${method}() was called before \`await runtime.start()\`; runtime "${this.name}" ` +
            `${
              this.#options.record !== undefined
                ? 'records its run and must open its log'
                : 'is governed and must register with its ' + 'governor'
            } first`,
        );
      }
      // Nothing to wait for: start on first use.
      this.#services.startNow();
      this.#published();
      return;
    }
    if (state === 'starting') {
      if (method === 'register') return;
      throw new SluiceError(
        ErrorCode.RuntimeNotStarted,
        `runtime.${method}() was called while runtime "${this.name}" is still starting; await runtime.start() first`,
      );
    }
    if (!this.#services.isServing || this.#destroyed || this.#closing !== undefined) {
      throw new SluiceError(ErrorCode.RuntimeClosed, `runtime.${method}() was called while runtime "${this.name}" is ${state}`, {
        details: { status: state },
      });
    }
  }

  /** Resolves true when `promise` settles within `timeout` ms, false otherwise. */
  async #within(promise: Promise<unknown>, timeout: number): Promise<boolean> {
    if (timeout === Number.POSITIVE_INFINITY) {
      await promise;
      return true;
    }
    let timer: { cancel(): void } | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = this.#options.clock.setTimeout(() => resolve(false), timeout);
    });
    try {
      return await Promise.race([promise.then(() => true as const), expired]);
    } finally {
      timer?.cancel();
    }
  }
}

function closeReport(drained: boolean, cancelled: string[], recording: RecordingOutcome): CloseReport {
  const report: CloseReport = { drained, cancelled, flushed: recording.flushed, notPersisted: recording.notPersisted };
  if (recording.error !== undefined) report.recordingError = { ...recording.error };
  return report;
}

/**
 * The worker entry: the only sluice code that runs in pool threads. Module-level state lives
 * here and only here (one copy per thread): the flows this thread has built, keyed by module
 * URL and params, and the activations running now (so a cancel can reach their signals).
 *
 * A task is a dispatch batch of one routine. Each activation runs inside this thread's
 * AsyncLocalStorage scope, so `currentJob()`, `currentWorker()`, `emit()`, `ctx.setState()` work
 * as they do inline; their effects are recorded in order and returned with the result, and the
 * main thread applies them (routing, overflow rules and job accounting stay on the main thread).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { runInScope, type ActivationScope, type EmitOptions, type ItemEntry } from '../core/context.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { ensureTypeScriptLoader } from '../core/ts-loader.ts';
import { isThenable } from '../core/validate.ts';
import type { Flow } from '../core/flow.ts';
import type { Logic } from '../core/routine.ts';
import type { JobContext } from '../core/job-context.ts';
import type { WorkerState } from '../core/worker-state.ts';
import { findClassInstance, findUnclonable, isDetached } from './clonable.ts';
import { exposeControl, type ControlApi } from './control-plane.ts';
import { kStartBoardKey, stampStart } from './start-board.ts';
import { importFlowModule, markPoolThread } from './pool-thread.ts';
import { BatchDecoder, OpWriter } from './batch-codec.ts';
import { kRejectClassInstancesKey, serializeError, type BatchResult, type BatchTask, type WarmTask } from './protocol.ts';

interface BuiltRoutine {
  readonly routine: {
    hasEvent(name: string): boolean;
    getConfig(): Record<string, unknown>;
    resolveLogic(): Logic | undefined;
    readonly kind: string;
  };
  readonly logic: Logic;
  readonly config: Readonly<Record<string, unknown>>;
}

interface BuiltFlow {
  readonly flowId: string;
  readonly routines: Map<string, BuiltRoutine>;
}

markPoolThread();
const flows = new Map<string, Promise<BuiltFlow>>();
/** Flows built and ready, by key: a batch of a built flow runs without waiting for a promise. */
const readyFlows = new Map<string, BuiltFlow>();
const running = new Set<PoolScope>();
const counters = { batches: 0, activations: 0, busyMs: 0 };
/** This thread's view of the pool's start board (absent in an injected Piscina's threads). */
/** Whether emitted class instances are refused (`rejectClassInstances`, set by an owned pool). */
const rejectClassInstances = (workerData as Record<string, unknown> | null | undefined)?.[kRejectClassInstancesKey] === true;
const startBoard: BigInt64Array | undefined = (() => {
  const buffer = (workerData as Record<string, unknown> | null | undefined)?.[kStartBoardKey];
  return buffer instanceof SharedArrayBuffer ? new BigInt64Array(buffer) : undefined;
})();

function loadFlow(moduleUrl: string, params: unknown, flowKey: string): Promise<BuiltFlow> {
  let built = flows.get(flowKey);
  if (built === undefined) {
    built = buildFlow(moduleUrl, params);
    flows.set(flowKey, built);
    built.then(
      (flow) => readyFlows.set(flowKey, flow),
      () => undefined,
    );
    // A failed load is not cached: the next batch tries again (and fails with the same error).
    built.catch(() => flows.delete(flowKey));
  }
  return built;
}

async function buildFlow(moduleUrl: string, params: unknown): Promise<BuiltFlow> {
  let mod: Record<string, unknown>;
  try {
    await ensureTypeScriptLoader(moduleUrl);
    mod = await importFlowModule(moduleUrl);
  } catch (cause) {
    // The module's top level started a program: that error names the cause and the fix, as is.
    if ((cause as { code?: unknown } | null)?.code === ErrorCode.RuntimeInPoolThread) throw cause;
    throw new SluiceError(
      ErrorCode.FlowModuleInvalid,
      `A pool thread could not import flow module ${moduleUrl}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
  const isModule = (v: unknown): v is { build(p: unknown): Flow; prepare?: (p: unknown) => Promise<void> } =>
    typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'sluice.flow-module';
  const candidate = isModule(mod.default) ? mod.default : mod.flow;
  if (!isModule(candidate)) {
    throw new SluiceError(ErrorCode.FlowModuleInvalid, `Flow module ${moduleUrl} has no defineFlow() export in the pool thread`);
  }
  if (typeof candidate.prepare === 'function') await candidate.prepare(params);
  const flow = candidate.build(params as Record<string, unknown>);
  flow.freeze();
  const routines = new Map<string, BuiltRoutine>();
  for (const entry of flow.routines) {
    const logic = entry.routine.resolveLogic();
    if (logic !== undefined) routines.set(entry.id, { routine: entry.routine, logic, config: Object.freeze(entry.routine.getConfig()) });
  }
  return { flowId: flow.id, routines };
}

const kNoData: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** A job as logic in a pool thread sees it: ids, metadata, `data` (writes go back), signal. */
class PoolJob {
  readonly jobId: string;
  readonly flowId: string;
  readonly workerId: string;
  readonly status = 'running';
  readonly isTerminal = false;
  /** The W3C trace context of the job's span, when the runtime traces jobs (`tracerProvider`). */
  readonly traceparent: string | undefined;
  readonly #scope: PoolScope;
  #metadata: Record<string, unknown> | undefined;
  #data: Record<string, unknown> | undefined;
  touched = false;

  constructor(
    jobId: string,
    scope: PoolScope,
    metadata: Record<string, unknown> | undefined,
    data: Record<string, unknown> | undefined,
    traceparent: string | undefined,
  ) {
    this.jobId = jobId;
    this.traceparent = traceparent;
    this.flowId = scope.flowId;
    this.workerId = scope.workerId;
    this.#scope = scope;
    this.#metadata = metadata;
    this.#data = data;
  }

  get metadata(): Record<string, unknown> {
    return (this.#metadata ??= {});
  }

  get data(): Record<string, unknown> {
    this.touched = true;
    return (this.#data ??= {});
  }

  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /** @internal */
  rawData(): Record<string, unknown> {
    return this.#data ?? kNoData;
  }
}

/** The effects of a batch as they are recorded (the codec's op writer), and the buffers its emits move. */
interface Recorder {
  readonly ops: OpWriter;
  readonly buffers: Set<ArrayBuffer>;
}

/** The context of one activation in a pool thread; records effects in order. */
class PoolScope implements ActivationScope {
  readonly routineId: string;
  readonly flowId: string;
  readonly workerId: string;
  readonly routine: object;
  readonly message: unknown;
  readonly attempt: number;
  readonly config: Readonly<Record<string, unknown>>;
  readonly poolJobs: PoolJob[] = [];
  readonly #built: BuiltRoutine;
  /** Items by slot name (what logic receives). */
  readonly slots: Record<string, unknown[]>;
  readonly #itemJobs: Record<string, number[][]> | undefined;
  readonly #recorder: Recorder;
  #state: Record<string, unknown>;
  #abort: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  #worker: WorkerState | undefined;

  constructor(
    routineId: string,
    flowId: string,
    workerId: string,
    built: BuiltRoutine,
    slots: Record<string, unknown[]>,
    state: Record<string, unknown>,
    message: unknown,
    attempt: number,
    itemJobs: Record<string, number[][]> | undefined,
    recorder: Recorder,
  ) {
    this.routineId = routineId;
    this.flowId = flowId;
    this.workerId = workerId;
    this.routine = built.routine;
    this.config = built.config;
    this.message = message;
    this.attempt = attempt;
    this.#built = built;
    this.slots = slots;
    this.#state = state;
    this.#itemJobs = itemJobs;
    this.#recorder = recorder;
  }

  get jobs(): readonly JobContext[] {
    return this.poolJobs as unknown as JobContext[];
  }

  get job(): JobContext {
    return this.poolJobs[0] as unknown as JobContext;
  }

  get worker(): WorkerState {
    if (this.#worker === undefined) {
      const scope = this;
      const routineId = this.routineId;
      this.#worker = {
        workerId: this.workerId,
        flowId: this.flowId,
        status: 'running',
        getRoutineState(id: string): Record<string, unknown> | undefined {
          return id === routineId ? { ...scope.#state } : undefined;
        },
      } as unknown as WorkerState;
    }
    return this.#worker;
  }

  /** The activation's signal, made on first use (most logic never asks). */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#aborted) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
  }

  /** Aborts the signal (now, or as it is made). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#abort?.abort(reason);
  }

  get state(): Readonly<Record<string, unknown>> {
    return { ...this.#state };
  }

  entries(slot: string): readonly ItemEntry[] {
    const items = this.slots[slot];
    if (items === undefined) {
      throw new SluiceError(
        ErrorCode.UnknownSlot,
        `Routine "${this.routineId}" has no slot "${slot}" (declared: ${Object.keys(this.slots).join(', ')})`,
      );
    }
    const itemJobs = this.#itemJobs?.[slot];
    const out: ItemEntry[] = [];
    items.forEach((data, i) => {
      for (const j of itemJobs?.[i] ?? [0]) out.push({ data, job: this.jobs[j] as JobContext });
    });
    return out;
  }

  setState(patch: Record<string, unknown>): void {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected routine "${this.routineId}" setState patch to be an object, got ${describeValue(patch)}`,
      );
    }
    const bad = findUnclonable(patch, 'patch');
    if (bad !== undefined) throw notClonable(this.routineId, `state ${bad.path}`, bad.type);
    this.#state = { ...this.#state, ...patch };
    this.#recorder.ops.state({ ...patch });
  }

  emit(event: string, data: unknown, options?: EmitOptions): void {
    if (!this.#built.routine.hasEvent(event)) {
      throw new SluiceError(ErrorCode.UnknownEvent, `Routine "${this.routineId}" emitted on undeclared event "${event}"`, {
        details: { routineId: this.routineId, event },
      });
    }
    let job = -1;
    if (options?.job !== undefined) {
      job = this.poolJobs.indexOf(options.job as unknown as PoolJob);
      if (job < 0) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Routine "${this.routineId}" emitted "${event}" for job "${options.job.jobId}", which is not a job of this activation`,
        );
      }
    }
    if (options?.transfer !== undefined) this.#transfer(event, options.transfer);
    if (typeof data === 'object' && data !== null) {
      const bad = findUnclonable(data, 'data') ?? (rejectClassInstances ? findClassInstance(data, 'data') : undefined);
      if (bad !== undefined) throw notClonable(this.routineId, `event "${event}" ${bad.path}`, bad.type);
    } else if (typeof data === 'function' || typeof data === 'symbol') {
      const bad = findUnclonable(data, 'data') as { path: string; type: string };
      throw notClonable(this.routineId, `event "${event}" ${bad.path}`, bad.type);
    }
    this.#recorder.ops.emit(event, data, job);
  }

  failJob(job: JobContext, error: unknown): void {
    const index = this.poolJobs.indexOf(job as unknown as PoolJob);
    if (index < 0) {
      const id = typeof job === 'object' && job !== null ? (job as { jobId?: unknown }).jobId : undefined;
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Routine "${this.routineId}" called failJob() with ${typeof id === 'string' ? `job "${id}"` : describeValue(job)}, which is ` +
          `not a job of this activation`,
      );
    }
    this.#recorder.ops.failJob(index, serializeError(error));
  }

  /** Adds the buffers an emit asked to move (not copy) to the batch's transfer list. */
  #transfer(event: string, buffers: readonly ArrayBuffer[]): void {
    if (!Array.isArray(buffers)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected routine "${this.routineId}" emit("${event}") \`transfer\` to be an array of ArrayBuffers, got ${describeValue(buffers)}`,
      );
    }
    for (const buffer of buffers) {
      if (!(buffer instanceof ArrayBuffer)) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Expected routine "${this.routineId}" emit("${event}") \`transfer\` to hold ArrayBuffers only, got ${describeValue(buffer)}`,
        );
      }
      if (isDetached(buffer))
        throw notClonable(this.routineId, `event "${event}" transfer list`, 'detached ArrayBuffer (already transferred)');
      this.#recorder.buffers.add(buffer);
    }
  }
}

function notClonable(routineId: string, where: string, type: string): SluiceError {
  return new SluiceError(
    ErrorCode.NotClonable,
    `Routine "${routineId}" produced a value that cannot cross threads: ${where} is a ${type}`,
    {
      details: { routineId, where, type },
    },
  );
}

/** Records the job data writes of an activation after its logic ran; returns a non-clonable error, if any. */
function recordJobData(scope: PoolScope, recorder: Recorder): SluiceError | undefined {
  let error: SluiceError | undefined;
  const jobs = scope.poolJobs;
  for (let index = 0; index < jobs.length; index++) {
    const job = jobs[index] as PoolJob;
    if (!job.touched) continue;
    const data = job.rawData();
    const bad = findUnclonable(data, 'data');
    if (bad !== undefined) error ??= notClonable(scope.routineId, `job "${job.jobId}" ${bad.path}`, bad.type);
    else recorder.ops.jobData(index, data);
  }
  return error;
}

/** Reads a batch task's activations into scopes, one at a time (the codec reads the columns). */
class BatchReader {
  readonly #task: BatchTask;
  readonly #decoder: BatchDecoder;

  constructor(task: BatchTask) {
    this.#task = task;
    this.#decoder = new BatchDecoder(task);
  }

  /** The scope of activation `i` (call in order). */
  next(i: number, built: BuiltRoutine, flowId: string, recorder: Recorder): PoolScope {
    const task = this.#task;
    const a = this.#decoder.next(i);
    const scope = new PoolScope(task.routineId, flowId, task.workerId, built, a.slots, a.state, a.message, a.attempt, a.itemJobs, recorder);
    for (const job of a.jobs) scope.poolJobs.push(new PoolJob(job.jobId, scope, job.metadata, job.data, job.traceparent));
    return scope;
  }
}

/**
 * The batch of async logic this thread is still running, if any. A thread may hold a second
 * batch (so it never idles for a round trip); it starts only when the first has finished, so a
 * thread runs one batch at a time, and a crash is the running batch's alone.
 */
let current: Promise<unknown> | undefined;

function track(batch: Promise<unknown>): Promise<unknown> {
  const tracked: Promise<unknown> = batch.finally(() => {
    if (current === tracked) current = undefined;
  });
  current = tracked;
  return tracked;
}

/** Runs one dispatch batch (the Piscina task handler); a warm task only holds its thread. */
export default function runBatch(task: BatchTask | WarmTask): unknown {
  if (task.kind === 'warm') return warm(task);
  if (current !== undefined) {
    const start = (): unknown => startBatch(task);
    return track(current.then(start, start));
  }
  const out = startBatch(task);
  return isThenable(out) ? track(Promise.resolve(out)) : out;
}

function startBatch(task: BatchTask): unknown {
  const started = performance.now();
  counters.batches++;
  // Most batches find their flow built: run them without a single await (sync logic stays sync).
  const built = readyFlows.get(task.flowKey);
  if (built !== undefined) return runBuilt(task, built, started);
  return loadFlow(task.moduleUrl, task.params, task.flowKey).then(
    (flow) => runBuilt(task, flow, started),
    // Failures to rebuild are returned, not thrown: a thrown error loses its code crossing threads.
    (error: unknown) => ({ ops: [], error: serializeError(error) }) satisfies BatchResult,
  );
}

function runBuilt(task: BatchTask, built: BuiltFlow, started: number): BatchResult | Promise<unknown> {
  const routine = built.routines.get(task.routineId);
  if (routine === undefined) {
    const error = new SluiceError(
      ErrorCode.RoutineNotFound,
      `Flow "${built.flowId}" rebuilt in a pool thread from ${task.moduleUrl} has no routine "${task.routineId}"`,
      {
        details: { flowId: built.flowId, routineId: task.routineId },
      },
    );
    return { ops: [], error: serializeError(error) } satisfies BatchResult;
  }
  // The timeout clock starts now: importing and building the flow is not the routine's time.
  stampStart(task, startBoard);
  return new BatchRun(task, routine, built.flowId, started).run(0) as BatchResult | Promise<unknown>;
}

/**
 * One batch running in this thread: its activations run in order, each inside this thread's
 * AsyncLocalStorage scope, and their effects are recorded in order. A class rather than
 * closures made per batch: the hot path allocates nothing it does not return.
 */
class BatchRun {
  readonly #task: BatchTask;
  readonly #routine: BuiltRoutine;
  readonly #flowId: string;
  readonly #started: number;
  readonly #reader: BatchReader;
  readonly #recorder: Recorder = { ops: new OpWriter(), buffers: new Set() };

  constructor(task: BatchTask, routine: BuiltRoutine, flowId: string, started: number) {
    this.#task = task;
    this.#routine = routine;
    this.#flowId = flowId;
    this.#started = started;
    this.#reader = new BatchReader(task);
  }

  /** Runs activations `from..count`; returns the result, or a promise of it once async logic is involved. */
  run(from: number): unknown {
    const task = this.#task;
    const routine = this.#routine;
    for (let i = from; i < task.count; i++) {
      const scope = this.#reader.next(i, routine, this.#flowId, this.#recorder);
      let result: unknown;
      try {
        result = runInScope(scope, () => routine.logic(scope.slots, scope));
      } catch (thrown) {
        this.#settle(i, scope, thrown ?? new Error('logic threw with no reason'));
        continue;
      }
      if (!isThenable(result)) {
        this.#settle(i, scope, undefined);
        continue;
      }
      // Async logic: the rest of the batch waits for it (activations of a batch run in order).
      running.add(scope);
      return Promise.resolve(result).then(
        () => this.#resume(i, scope, undefined),
        (thrown: unknown) => this.#resume(i, scope, thrown ?? new Error('logic rejected with no reason')),
      );
    }
    return this.#finish();
  }

  #resume(i: number, scope: PoolScope, thrown: unknown): unknown {
    running.delete(scope);
    this.#settle(i, scope, thrown);
    return this.run(i + 1);
  }

  #settle(i: number, scope: PoolScope, thrown: unknown): void {
    const dataError = recordJobData(scope, this.#recorder);
    const error = thrown ?? dataError;
    this.#recorder.ops.end(i, error === undefined ? undefined : serializeError(error));
  }

  #finish(): unknown {
    counters.activations += this.#task.count;
    counters.busyMs += performance.now() - this.#started;
    const result = this.#recorder.ops.result(this.#task.count);
    const buffers = this.#recorder.buffers;
    if (buffers.size === 0) return result;
    // postMessage drops a reply whose transfer list holds a detached buffer without a word, and
    // every job of the batch would wait forever: fail the batch, coded, instead.
    for (const buffer of buffers) {
      if (isDetached(buffer)) {
        const error = new SluiceError(
          ErrorCode.NotClonable,
          `Routine "${this.#task.routineId}" asked to transfer an ArrayBuffer that was detached before the batch's reply was sent ` +
            `(transferred twice, or used by two emits of one batch); the batch of ${this.#task.count} fails so that no job waits forever`,
          { details: { routineId: this.#task.routineId } },
        );
        return { ops: [], error: serializeError(error) } satisfies BatchResult;
      }
    }
    return Piscina.move({ [Piscina.transferableSymbol]: [...buffers], [Piscina.valueSymbol]: result } as never);
  }
}

async function warm(task: WarmTask): Promise<{ threadId: number }> {
  const arrived = new Int32Array(task.arrived);
  Atomics.add(arrived, 0, 1);
  Atomics.notify(arrived, 0);
  const deadline = performance.now() + task.maxWaitMs;
  for (;;) {
    const seen = Atomics.load(arrived, 0);
    const left = deadline - performance.now();
    if (seen >= task.wanted || left <= 0) break;
    // Atomics.waitAsync is in Node 20 but not in the ES2023 lib this project compiles against.
    const waited = (
      Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: unknown } }
    ).waitAsync(arrived, 0, seen, left);
    if (waited.async) await waited.value;
  }
  return { threadId };
}

const control: ControlApi = {
  ping: () => ({ threadId }),
  async loadFlow(moduleUrl, params, flowKey) {
    const built = await loadFlow(moduleUrl, params, flowKey);
    return { flowId: built.flowId, routines: [...built.routines.keys()] };
  },
  stats: () => ({
    threadId,
    flowsLoaded: flows.size,
    batches: counters.batches,
    activations: counters.activations,
    busyMs: counters.busyMs,
    running: running.size,
  }),
  cancelJobs(jobIds, reason) {
    const ids = new Set(jobIds);
    let aborted = 0;
    for (const scope of running) {
      if (scope.poolJobs.some((job) => ids.has(job.jobId))) {
        scope.abort(new SluiceError(ErrorCode.JobCancelled, reason));
        aborted++;
      }
    }
    return aborted;
  },
};

if (parentPort !== null) exposeControl(control, threadId, (message, transfer) => parentPort?.postMessage(message, transfer));

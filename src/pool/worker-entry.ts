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
import { parentPort, threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { runInScope, type ActivationScope, type EmitOptions, type ItemEntry } from '../core/context.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import type { Flow } from '../core/flow.ts';
import type { Logic } from '../core/routine.ts';
import type { JobContext } from '../core/job-context.ts';
import type { WorkerState } from '../core/worker-state.ts';
import { collectTransferables, findUnclonable } from './clonable.ts';
import { exposeControl, type ControlApi } from './control-plane.ts';
import { OpKind, serializeError, type ActivationOutcome, type ActivationPayload, type BatchResult, type BatchTask, type JobPayload, type Op, type WarmTask } from './protocol.ts';

interface BuiltRoutine {
  readonly routine: { hasEvent(name: string): boolean; getConfig(): Record<string, unknown>; resolveLogic(): Logic | undefined; readonly kind: string };
  readonly logic: Logic;
  readonly config: Readonly<Record<string, unknown>>;
}

interface BuiltFlow {
  readonly flowId: string;
  readonly routines: Map<string, BuiltRoutine>;
}

const kTsLoader = Symbol.for('sluice.tsLoaderRegistered');
const flows = new Map<string, Promise<BuiltFlow>>();
const running = new Set<PoolScope>();
const counters = { batches: 0, activations: 0, busyMs: 0 };

async function ensureTsLoader(moduleUrl: string): Promise<void> {
  const g = globalThis as Record<symbol, unknown>;
  if (!/\.[cm]?tsx?$/.test(new URL(moduleUrl).pathname) || g[kTsLoader] === true) return;
  const api = (await import('tsx/esm/api')) as { register(): unknown };
  api.register();
  g[kTsLoader] = true;
}

function loadFlow(moduleUrl: string, params: unknown, flowKey: string): Promise<BuiltFlow> {
  let built = flows.get(flowKey);
  if (built === undefined) {
    built = buildFlow(moduleUrl, params);
    flows.set(flowKey, built);
    // A failed load is not cached: the next batch tries again (and fails with the same error).
    built.catch(() => flows.delete(flowKey));
  }
  return built;
}

async function buildFlow(moduleUrl: string, params: unknown): Promise<BuiltFlow> {
  let mod: Record<string, unknown>;
  try {
    await ensureTsLoader(moduleUrl);
    mod = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (cause) {
    throw new SluiceError(ErrorCode.FlowModuleInvalid, `A pool thread could not import flow module ${moduleUrl}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  const isModule = (v: unknown): v is { build(p: unknown): Flow } => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'sluice.flow-module';
  const candidate = isModule(mod.default) ? mod.default : mod.flow;
  if (!isModule(candidate)) {
    throw new SluiceError(ErrorCode.FlowModuleInvalid, `Flow module ${moduleUrl} has no defineFlow() export in the pool thread`);
  }
  const flow = candidate.build(params as Record<string, unknown>);
  flow.freeze();
  const routines = new Map<string, BuiltRoutine>();
  for (const entry of flow.routines) {
    const logic = entry.routine.resolveLogic();
    if (logic !== undefined) routines.set(entry.id, { routine: entry.routine, logic, config: Object.freeze(entry.routine.getConfig()) });
  }
  return { flowId: flow.id, routines };
}

/** A job as logic in a pool thread sees it: ids, metadata, `data` (writes go back), signal. */
class PoolJob {
  readonly jobId: string;
  readonly flowId: string;
  readonly workerId: string;
  readonly metadata: Record<string, unknown>;
  readonly status = 'running';
  readonly isTerminal = false;
  readonly #data: Record<string, unknown>;
  readonly #signal: AbortSignal;
  touched = false;

  constructor(payload: JobPayload, signal: AbortSignal) {
    this.jobId = payload.jobId;
    this.flowId = payload.flowId;
    this.workerId = payload.workerId;
    this.metadata = payload.metadata;
    this.#data = payload.data;
    this.#signal = signal;
  }

  get data(): Record<string, unknown> {
    this.touched = true;
    return this.#data;
  }

  get signal(): AbortSignal {
    return this.#signal;
  }

  /** @internal */
  rawData(): Record<string, unknown> {
    return this.#data;
  }
}

/** The context of one activation in a pool thread; records effects in order. */
class PoolScope implements ActivationScope {
  readonly routineId: string;
  readonly routine: object;
  readonly worker: WorkerState;
  readonly job: JobContext;
  readonly jobs: readonly JobContext[];
  readonly message: unknown;
  readonly attempt: number;
  readonly config: Readonly<Record<string, unknown>>;
  readonly ops: Op[] = [];
  readonly abort = new AbortController();
  readonly poolJobs: PoolJob[];
  readonly #built: BuiltRoutine;
  readonly #payload: ActivationPayload;
  #state: Record<string, unknown>;

  constructor(routineId: string, flowId: string, built: BuiltRoutine, payload: ActivationPayload) {
    this.routineId = routineId;
    this.routine = built.routine;
    this.config = built.config;
    this.message = payload.message;
    this.attempt = payload.attempt;
    this.#built = built;
    this.#payload = payload;
    this.#state = payload.state;
    this.poolJobs = payload.jobs.map((j) => new PoolJob(j, this.abort.signal));
    this.jobs = this.poolJobs as unknown as JobContext[];
    this.job = this.jobs[0] as JobContext;
    const scope = this;
    this.worker = {
      workerId: payload.workerId,
      flowId,
      status: 'running',
      getRoutineState(id: string): Record<string, unknown> | undefined {
        return id === routineId ? { ...scope.#state } : undefined;
      },
    } as unknown as WorkerState;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get state(): Readonly<Record<string, unknown>> {
    return { ...this.#state };
  }

  entries(slot: string): readonly ItemEntry[] {
    const items = this.#payload.slots[slot];
    if (items === undefined) {
      throw new SluiceError(ErrorCode.UnknownSlot, `Routine "${this.routineId}" has no slot "${slot}" (declared: ${Object.keys(this.#payload.slots).join(', ')})`);
    }
    const itemJobs = this.#payload.itemJobs?.[slot];
    const out: ItemEntry[] = [];
    items.forEach((data, i) => {
      for (const j of itemJobs?.[i] ?? [0]) out.push({ data, job: this.jobs[j] as JobContext });
    });
    return out;
  }

  setState(patch: Record<string, unknown>): void {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new SluiceError(ErrorCode.InvalidArgument, `Expected routine "${this.routineId}" setState patch to be an object, got ${describeValue(patch)}`);
    }
    const bad = findUnclonable(patch, 'patch');
    if (bad !== undefined) throw notClonable(this.routineId, `state ${bad.path}`, bad.type);
    this.#state = { ...this.#state, ...patch };
    this.ops.push([OpKind.State, { ...patch }]);
  }

  emit(event: string, data: unknown, options?: EmitOptions): void {
    if (!this.#built.routine.hasEvent(event)) {
      throw new SluiceError(ErrorCode.UnknownEvent, `Routine "${this.routineId}" emitted on undeclared event "${event}"`, { details: { routineId: this.routineId, event } });
    }
    let job = -1;
    if (options?.job !== undefined) {
      job = this.poolJobs.indexOf(options.job as unknown as PoolJob);
      if (job < 0) {
        throw new SluiceError(ErrorCode.InvalidArgument, `Routine "${this.routineId}" emitted "${event}" for job "${options.job.jobId}", which is not a job of this activation`);
      }
    }
    const bad = findUnclonable(data, 'data');
    if (bad !== undefined) throw notClonable(this.routineId, `event "${event}" ${bad.path}`, bad.type);
    this.ops.push([OpKind.Emit, event, data, job]);
  }
}

function notClonable(routineId: string, where: string, type: string): SluiceError {
  return new SluiceError(ErrorCode.NotClonable, `Routine "${routineId}" produced a value that cannot cross threads: ${where} is a ${type}`, {
    details: { routineId, where, type },
  });
}

async function runActivation(routineId: string, flowId: string, built: BuiltRoutine, payload: ActivationPayload): Promise<ActivationOutcome> {
  const scope = new PoolScope(routineId, flowId, built, payload);
  running.add(scope);
  let error: unknown;
  try {
    const result = runInScope(scope, () => built.logic(payload.slots, scope));
    if (result !== null && typeof result === 'object' && typeof (result as Promise<void>).then === 'function') await result;
  } catch (thrown) {
    error = thrown ?? new Error('logic rejected with no reason');
  } finally {
    running.delete(scope);
  }
  scope.poolJobs.forEach((job, index) => {
    if (!job.touched) return;
    const data = job.rawData();
    const bad = findUnclonable(data, 'data');
    if (bad !== undefined) error ??= notClonable(routineId, `job "${job.jobId}" ${bad.path}`, bad.type);
    else scope.ops.push([OpKind.JobData, index, data]);
  });
  return error === undefined ? { ops: scope.ops } : { ops: scope.ops, error: serializeError(error) };
}

/** Runs one dispatch batch (the Piscina task handler); a warm task only holds its thread. */
export default async function runBatch(task: BatchTask | WarmTask): Promise<unknown> {
  if (task.kind === 'warm') return warm(task);
  const started = performance.now();
  counters.batches++;
  // Failures to rebuild are returned, not thrown: a thrown error loses its code crossing threads.
  let built: BuiltFlow;
  try {
    built = await loadFlow(task.moduleUrl, task.params, task.flowKey);
  } catch (error) {
    return { threadId, outcomes: [], error: serializeError(error) } satisfies BatchResult;
  }
  const routine = built.routines.get(task.routineId);
  if (routine === undefined) {
    const error = new SluiceError(ErrorCode.RoutineNotFound, `Flow "${built.flowId}" rebuilt in a pool thread from ${task.moduleUrl} has no routine "${task.routineId}"`, {
      details: { flowId: built.flowId, routineId: task.routineId },
    });
    return { threadId, outcomes: [], error: serializeError(error) } satisfies BatchResult;
  }
  // The timeout clock starts now: importing and building the flow is not the routine's time.
  if (task.started !== undefined) Atomics.store(new BigInt64Array(task.started), 0, BigInt(Date.now()));
  const outcomes: ActivationOutcome[] = new Array(task.activations.length);
  for (let i = 0; i < task.activations.length; i++) {
    outcomes[i] = await runActivation(task.routineId, built.flowId, routine, task.activations[i] as ActivationPayload);
  }
  counters.activations += task.activations.length;
  counters.busyMs += performance.now() - started;
  const result: BatchResult = { threadId, outcomes };
  const buffers = new Set<ArrayBuffer>();
  for (const outcome of outcomes) for (const op of outcome.ops) if (op[0] === OpKind.Emit) collectTransferables(op[2], buffers);
  if (buffers.size === 0) return result;
  return Piscina.move({ [Piscina.transferableSymbol]: [...buffers], [Piscina.valueSymbol]: result } as never);
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
    const waited = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: unknown } }).waitAsync(arrived, 0, seen, left);
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
  stats: () => ({ threadId, flowsLoaded: flows.size, batches: counters.batches, activations: counters.activations, busyMs: counters.busyMs, running: running.size }),
  cancelJobs(jobIds, reason) {
    const ids = new Set(jobIds);
    let aborted = 0;
    for (const scope of running) {
      if (scope.poolJobs.some((job) => ids.has(job.jobId))) {
        scope.abort.abort(new SluiceError(ErrorCode.JobCancelled, reason));
        aborted++;
      }
    }
    return aborted;
  },
};

if (parentPort !== null) exposeControl(control, threadId, (message, transfer) => parentPort?.postMessage(message, transfer));

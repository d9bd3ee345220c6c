/**
 * The activation context, kept in `AsyncLocalStorage` so that `currentJob()`, `currentWorker()`,
 * `currentRoutine()` and `emit()` work anywhere inside a routine's logic — at any depth of the
 * flow and across `await` — without passing anything by hand. The engine enters the context
 * once per activation (not per item or per hop: once ALS is active every `await` costs more).
 */
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
import { ErrorCode, SluiceError } from './errors.ts';
import type { JobContext } from './job-context.ts';
import type { WorkerState } from './worker-state.ts';

/**
 * Options of `emit()`.
 *
 * @category Jobs and context
 */
export interface EmitOptions {
  /**
   * Attribute the emitted item to this job only. By default an item emitted by an activation
   * belongs to every job whose items the activation consumed (one job for `immediate`).
   */
  job?: JobContext;
  /**
   * On a pool thread, buffers to move to the main thread instead of copying them, as
   * `postMessage`'s transfer list does: fast for large typed arrays, but the routine must not
   * touch them afterwards (they are detached). Emitted data is copied unless listed here, so a
   * buffer a routine keeps (a per-thread cache) stays usable. A buffer already detached fails
   * the batch with `SLUICE_ERR_NOT_CLONABLE`. Inline, nothing crosses a thread and this is ignored.
   *
   * @example
   * ```ts
   * const embedding = new Float32Array(768);
   * emit('out', { id, embedding }, { transfer: [embedding.buffer] });
   * ```
   */
  transfer?: readonly ArrayBuffer[];
}

/**
 * One consumed item with the job it came from.
 *
 * @inline
 */
export interface ItemEntry {
  readonly data: unknown;
  readonly job: JobContext;
}

/**
 * What logic receives besides its items. `S` is the shape of the routine's state in a worker
 * (`ActivationContext<{ count: number }>` reads `ctx.state.count` as a number, absent until set),
 * `C` the shape of its `config` (as given to `flow.addRoutine(…, { config })`).
 * @category Jobs and context
 */
export interface ActivationContext<
  S extends Record<string, unknown> = Record<string, unknown>,
  C extends Record<string, unknown> = Record<string, unknown>,
> {
  /** The id of the running routine in its flow. */
  readonly routineId: string;
  /** The worker (flow instance) the activation runs in. */
  readonly worker: WorkerState;
  /** The first job of the activation (the only one for `immediate`). */
  readonly job: JobContext;
  /** Every job whose items the activation consumed. */
  readonly jobs: readonly JobContext[];
  /** What the activation policy attached (`batchSize` says whether the batch was partial). */
  readonly message: unknown;
  /** Fires when the job is cancelled or fails, the worker stops, or the runtime is destroyed. */
  readonly signal: AbortSignal;
  /** The routine's configuration (read-only). */
  readonly config: Readonly<C>;
  /** Retry attempt number, from 1 (1 for a first run). */
  readonly attempt: number;
  /** The consumed items of `slot` with their jobs (for batches that span jobs). */
  entries(slot: string): readonly ItemEntry[];
  /** This routine's state in this worker (a read-only view; change it with `setState`). */
  readonly state: Readonly<Partial<S>>;
  /** Merges `patch` into this routine's state in this worker (shallow). */
  setState(patch: Partial<S>): void;
  /** Emits `data` on `event` (same as `routine.emit()` and the free `emit()`). */
  emit(event: string, data: unknown, options?: EmitOptions): void;
  /**
   * Fails one job of this activation with `error` (as `SLUICE_ERR_ROUTINE_FAILED`, `error` as
   * its cause) without failing the others: the per-item way out of a batch, instead of throwing
   * for the whole activation. The job fails for good (no retry); what the activation emits for
   * it afterwards is discarded.
   *
   * @example
   * ```ts
   * for (const { data, job } of ctx.entries('in')) {
   *   if (!isValid(data)) ctx.failJob(job, new TypeError(`invalid reading ${JSON.stringify(data)}`));
   *   else ctx.emit('out', convert(data), { job });
   * }
   * ```
   */
  failJob(job: JobContext, error: unknown): void;
}

/** The ALS store: the context plus what the engine needs for emits. */
export interface ActivationScope extends ActivationContext {
  /** The routine instance. */
  readonly routine: object;
}

// One storage per thread, shared by every copy of this module in it (a pool thread may load the
// worker entry and a flow module through different copies: src/ and dist/, or two loaders).
const kStorageKey = Symbol.for('sluice.activationStorage');
const kStorage: AsyncLocalStorage<ActivationScope> = ((globalThis as Record<symbol, unknown>)[kStorageKey] ??=
  new AsyncLocalStorage<ActivationScope>()) as AsyncLocalStorage<ActivationScope>;

/**
 * The scope whose logic runs synchronously right now, and the async id it runs under: while the
 * id is unchanged nothing has switched context (running a callback bound to another context,
 * `AsyncResource.runInAsyncScope`, switches it), so `currentScope()` answers without asking
 * AsyncLocalStorage — an `emit()` per item then costs no async-resource lookup. Shared by every
 * copy of this module in the thread, as the storage is.
 */
interface SyncFrame {
  scope: ActivationScope | undefined;
  asyncId: number;
}
const kSyncKey = Symbol.for('sluice.activationSyncFrame');
const kSync: SyncFrame = ((globalThis as Record<symbol, unknown>)[kSyncKey] ??= { scope: undefined, asyncId: -1 }) as SyncFrame;

/** Runs `fn` inside `scope`. Engine use only. */
export function runInScope<R>(scope: ActivationScope, fn: () => R): R {
  const sync = kSync;
  const outerScope = sync.scope;
  const outerId = sync.asyncId;
  sync.scope = scope;
  sync.asyncId = executionAsyncId();
  try {
    return kStorage.run(scope, fn);
  } finally {
    sync.scope = outerScope;
    sync.asyncId = outerId;
  }
}

/** The scope of the running activation, or undefined outside logic. */
export function currentScope(): ActivationScope | undefined {
  const sync = kSync;
  if (sync.scope !== undefined && executionAsyncId() === sync.asyncId) return sync.scope;
  return kStorage.getStore();
}

function requireScope(what: string): ActivationScope {
  const scope = currentScope();
  if (scope === undefined) {
    throw new SluiceError(
      ErrorCode.NotInActivation,
      `${what} was called outside a routine's logic; it only works while an activation runs`,
    );
  }
  return scope;
}

/**
 * The job of the running activation (its first job when a batch spans several), or undefined
 * outside logic.
 *
 * @example
 * ```ts
 * routine.setLogic(async () => { await io(); currentJob()?.data.seen = true; });
 * ```
 * @category Jobs and context
 */
export function currentJob(): JobContext | undefined {
  return currentScope()?.job;
}

/**
 * Every job of the running activation; empty outside logic.
 *
 * @category Jobs and context
 */
export function currentJobs(): readonly JobContext[] {
  return currentScope()?.jobs ?? [];
}

/**
 * The worker of the running activation, or undefined outside logic.
 *
 * @category Jobs and context
 */
export function currentWorker(): WorkerState | undefined {
  return currentScope()?.worker;
}

/**
 * The running routine's id and instance, or undefined outside logic.
 *
 * @category Jobs and context
 */
export function currentRoutine(): { readonly id: string; readonly routine: object } | undefined {
  const scope = currentScope();
  return scope === undefined ? undefined : { id: scope.routineId, routine: scope.routine };
}

/**
 * Emits `data` on `event` of the running routine. Works at any depth inside logic, also after
 * `await`. Outside logic it throws `SLUICE_ERR_NOT_IN_ACTIVATION`.
 *
 * @example
 * ```ts
 * import { emit } from 'sluice';
 * routine.setLogic(async ({ in: items }) => { for (const x of items) emit('out', await enrich(x)); });
 * ```
 * @category Jobs and context
 */
export function emit(event: string, data: unknown, options?: EmitOptions): void {
  requireScope(`emit("${event}")`).emit(event, data, options);
}

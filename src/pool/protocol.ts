/**
 * What crosses the thread boundary on the data path: one Piscina task carries a dispatch batch
 * (activations of one routine), and its result carries, per activation, the ordered list of
 * effects the logic had (emits, state patches, job data writes) and its error, if any. Plain
 * structured-clonable shapes only; the main thread applies them.
 */
import { ErrorCode, RoutineError, SluiceError, type ErrorCodeValue } from '../core/errors.ts';

/**
 * One Piscina task: a dispatch batch of `count` activations of one routine of one worker, in
 * columns (one array per field, not one object per activation): structured clone writes every
 * property name of every object it copies, so columns of plain values are what keeps the copy
 * cheap. Optional columns are left out when every activation has the common value.
 */
export interface BatchTask {
  readonly kind: 'batch';
  /** The flow module and params to rebuild the flow from. */
  readonly moduleUrl: string;
  readonly params: unknown;
  /** `moduleUrl` + params, the thread's cache key for the built flow. */
  readonly flowKey: string;
  readonly flowId: string;
  readonly routineId: string;
  /** The worker (flow instance) every activation and job of the batch belongs to. */
  readonly workerId: string;
  /** Activations in the batch. */
  readonly count: number;
  /** The routine's slot names, in declaration order. */
  readonly slots: readonly string[];
  /** The items of every activation: activation after activation, slot after slot. */
  readonly items: readonly unknown[];
  /**
   * Per activation and slot (`count × slots.length`), how many of `items` it holds. Absent when
   * the routine has one slot and every activation holds one item.
   */
  readonly itemCounts?: readonly number[];
  /** The job ids of every activation, activation after activation. */
  readonly jobIds: readonly string[];
  /** Per activation, how many of `jobIds` are its jobs. Absent when every activation has one job. */
  readonly jobCounts?: readonly number[];
  /** Per entry of `jobIds`, `[metadata, data]` of the job. Absent when every job has neither. */
  readonly jobExtras?: ReadonlyArray<JobExtra>;
  /** Routine states as of dispatch (distinct snapshots); `stateAt` picks one per activation. */
  readonly states: readonly Record<string, unknown>[];
  /** Per activation, an index into `states`. Absent when every activation uses `states[0]`. */
  readonly stateAt?: readonly number[];
  /** Per activation, the policy's message. Absent when none has one. */
  readonly messages?: readonly unknown[];
  /** Per activation, the attempt (1 = first run). Absent when every activation is a first run. */
  readonly attempts?: readonly number[];
  /**
   * Per activation spanning several jobs, per slot, per item, the indexes of its jobs (among the
   * activation's jobs); `0` for an activation of one job. Absent when no activation spans several.
   */
  readonly itemJobs?: ReadonlyArray<Record<string, number[][]> | 0>;
  /**
   * With a timeout or an extra batch per thread: the slot of the pool's start board where the
   * thread stores the epoch ms it started the batch at (see `StartBoard`).
   */
  readonly startSlot?: number;
  /** As `startSlot`, in a buffer of the batch's own (BigInt64 slot 0) when no board slot is free. */
  readonly started?: SharedArrayBuffer;
}

/** Where the thread stamps the start of one batch: a slot of the shared board, or a buffer of its own. */
export type StartMark = { readonly startSlot: number } | { readonly started: SharedArrayBuffer };

/** A protocol object while it is being built (optional fields are set only when present). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The `workerData` key telling an owned pool's threads to refuse emitting class instances (`rejectClassInstances`). */
export const kRejectClassInstancesKey = 'sluice.rejectClassInstances';

/**
 * Effects of a batch, flat, activation after activation, each in the order logic caused it;
 * written and read only by batch-codec.ts (`OpWriter`, `OpReader`), which defines its layout.
 */
export type OpStream = unknown[];

/** An error as it crosses threads. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly details?: Record<string, unknown>;
  readonly stack?: string;
}

/** A warm-up task: holds its thread until `wanted` warm tasks run at once (or `maxWaitMs`). */
export interface WarmTask {
  readonly kind: 'warm';
  readonly arrived: SharedArrayBuffer;
  readonly wanted: number;
  readonly maxWaitMs: number;
}

/** The result of a batch task. */
export interface BatchResult {
  /** The effects of every activation (see {@link OpStream}). */
  readonly ops: OpStream;
  /** Per activation, the index in `ops` where its effects end. Absent for a batch of one (all of `ops`). */
  readonly ends?: readonly number[];
  /** The activations that failed (indexes), with `errors` beside them. */
  readonly failed?: readonly number[];
  readonly errors?: readonly SerializedError[];
  /** Set when the batch could not run at all (the flow could not be rebuilt). */
  readonly error?: SerializedError;
}

/** Makes a plain, clonable copy of an error. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof SluiceError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      details: { ...error.details },
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    };
  }
  return { name: 'Error', message: typeof error === 'string' ? error : `non-error thrown: ${String(error)}` };
}

const kCodes = new Set<string>(Object.values(ErrorCode));

/**
 * Turns a serialized error back into an error on the main thread: a {@link SluiceError} when it
 * carried a sluice code, otherwise a plain `Error` with the same name, message and stack (the
 * runner wraps it into `SLUICE_ERR_ROUTINE_FAILED` exactly as for inline logic).
 */
export function deserializeError(error: SerializedError): Error {
  if (error.code !== undefined && kCodes.has(error.code)) {
    const Ctor = error.name === 'RoutineError' ? RoutineError : SluiceError;
    const out = new Ctor(error.code as ErrorCodeValue, error.message, { details: error.details ?? {} });
    if (error.stack !== undefined) out.stack = error.stack;
    return out;
  }
  const out = new Error(error.message);
  out.name = error.name;
  if (error.stack !== undefined) out.stack = error.stack;
  return out;
}

/** A job's metadata, data and (when traced) W3C trace context, as a batch carries them. */
export type JobExtra = readonly [metadata: Record<string, unknown>, data: Record<string, unknown>, traceparent?: string];

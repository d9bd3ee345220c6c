/**
 * What crosses the thread boundary on the data path: one Piscina task carries a dispatch batch
 * (activations of one routine), and its result carries, per activation, the ordered list of
 * effects the logic had (emits, state patches, job data writes) and its error, if any. Plain
 * structured-clonable shapes only; the main thread applies them.
 */
import { ErrorCode, RoutineError, SluiceError, type ErrorCodeValue } from '../core/errors.ts';

/** A job as a pool thread sees it. */
export interface JobPayload {
  readonly jobId: string;
  readonly flowId: string;
  readonly workerId: string;
  readonly metadata: Record<string, unknown>;
  readonly data: Record<string, unknown>;
}

/** One activation shipped to a thread. */
export interface ActivationPayload {
  /** Items by slot name. */
  readonly slots: Record<string, unknown[]>;
  /** The jobs of the activation; emits and data writes refer to them by index. */
  readonly jobs: readonly JobPayload[];
  /** The routine's state in its worker when the activation started (a snapshot). */
  readonly state: Record<string, unknown>;
  readonly message: unknown;
  readonly attempt: number;
  readonly workerId: string;
  /** Per slot, per item, the indexes of its jobs; only when the activation spans several jobs. */
  readonly itemJobs?: Record<string, number[][]>;
}

/** One Piscina task: a batch of activations of one routine of one flow. */
export interface BatchTask {
  readonly kind: 'batch';
  /** The flow module and params to rebuild the flow from. */
  readonly moduleUrl: string;
  readonly params: unknown;
  /** `moduleUrl` + params, the thread's cache key for the built flow. */
  readonly flowKey: string;
  readonly flowId: string;
  readonly routineId: string;
  readonly activations: readonly ActivationPayload[];
  /** With a timeout: the thread stores the epoch ms it started the batch at (BigInt64 slot 0). */
  readonly started?: SharedArrayBuffer;
}

/** Effect kinds, in the order logic caused them. */
export const OpKind = { Emit: 0, State: 1, JobData: 2 } as const;

/** One effect of an activation. `job` is an index into the activation's jobs. */
export type Op =
  | readonly [typeof OpKind.Emit, string, unknown, number]
  | readonly [typeof OpKind.State, Record<string, unknown>]
  | readonly [typeof OpKind.JobData, number, Record<string, unknown>];

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

/** What happened in one activation. */
export interface ActivationOutcome {
  readonly ops: readonly Op[];
  readonly error?: SerializedError | undefined;
}

/** The result of a batch task. */
export interface BatchResult {
  readonly threadId: number;
  readonly outcomes: readonly ActivationOutcome[];
  /** Set when the batch could not run at all (the flow could not be rebuilt). */
  readonly error?: SerializedError;
}

/** Makes a plain, clonable copy of an error. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof SluiceError) {
    return { name: error.name, message: error.message, code: error.code, details: { ...error.details }, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...(error.stack === undefined ? {} : { stack: error.stack }) };
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

/**
 * Every error sluice throws is a {@link SluiceError} with a stable `code`. Callers branch on
 * `code` (or the `is*Error` guards), never on message text. `docs/errors.md` lists every code.
 *
 * @example
 * ```ts
 * try { runtime.post('pipeline', 'source', 'in', item); }
 * catch (err) { if (isSluiceError(err) && err.code === ErrorCode.QueueFull) backOff(); }
 * ```
 */

/**
 * The stable error codes.
 *
 * @category Errors
 */
export const ErrorCode = {
  InvalidArgument: 'SLUICE_ERR_INVALID_ARGUMENT',
  DuplicateName: 'SLUICE_ERR_DUPLICATE_NAME',
  UnknownEvent: 'SLUICE_ERR_UNKNOWN_EVENT',
  UnknownSlot: 'SLUICE_ERR_UNKNOWN_SLOT',
  RoutineNotFound: 'SLUICE_ERR_ROUTINE_NOT_FOUND',
  FlowNotFound: 'SLUICE_ERR_FLOW_NOT_FOUND',
  FlowExists: 'SLUICE_ERR_FLOW_EXISTS',
  FlowFrozen: 'SLUICE_ERR_FLOW_FROZEN',
  FlowModuleInvalid: 'SLUICE_ERR_FLOW_MODULE_INVALID',
  DuplicateConnection: 'SLUICE_ERR_DUPLICATE_CONNECTION',
  QueueFull: 'SLUICE_ERR_QUEUE_FULL',
  ItemDropped: 'SLUICE_ERR_ITEM_DROPPED',
  TooManyWaiting: 'SLUICE_ERR_TOO_MANY_WAITING',
  TooManyJobs: 'SLUICE_ERR_TOO_MANY_JOBS',
  WorkerNotFound: 'SLUICE_ERR_WORKER_NOT_FOUND',
  WorkerNotRunning: 'SLUICE_ERR_WORKER_NOT_RUNNING',
  WorkerExists: 'SLUICE_ERR_WORKER_EXISTS',
  JobNotFound: 'SLUICE_ERR_JOB_NOT_FOUND',
  JobExists: 'SLUICE_ERR_JOB_EXISTS',
  JobTimeout: 'SLUICE_ERR_JOB_TIMEOUT',
  JobCancelled: 'SLUICE_ERR_JOB_CANCELLED',
  JoinTimeout: 'SLUICE_ERR_JOIN_TIMEOUT',
  RuntimeClosed: 'SLUICE_ERR_RUNTIME_CLOSED',
  RuntimeNotStarted: 'SLUICE_ERR_RUNTIME_NOT_STARTED',
  NotInActivation: 'SLUICE_ERR_NOT_IN_ACTIVATION',
  InvalidPolicyDecision: 'SLUICE_ERR_INVALID_POLICY_DECISION',
  RoutineFailed: 'SLUICE_ERR_ROUTINE_FAILED',
  RetriesExhausted: 'SLUICE_ERR_RETRIES_EXHAUSTED',
  Aborted: 'SLUICE_ERR_ABORTED',
  StoreClosed: 'SLUICE_ERR_STORE_CLOSED',
  StoreFailed: 'SLUICE_ERR_STORE_FAILED',
  StoreBackpressure: 'SLUICE_ERR_STORE_BACKPRESSURE',
  BusClosed: 'SLUICE_ERR_BUS_CLOSED',
  BusHandlerFailed: 'SLUICE_ERR_BUS_HANDLER_FAILED',
  BusSinkFailed: 'SLUICE_ERR_BUS_SINK_FAILED',
  StoreSchemaUnsupported: 'SLUICE_ERR_STORE_SCHEMA_UNSUPPORTED',
  StoreDuplicateEvent: 'SLUICE_ERR_STORE_DUPLICATE_EVENT',
  ProbeFailed: 'SLUICE_ERR_PROBE_FAILED',
  UnknownKnob: 'SLUICE_ERR_UNKNOWN_KNOB',
  UnknownAction: 'SLUICE_ERR_UNKNOWN_ACTION',
  InvalidKnob: 'SLUICE_ERR_INVALID_KNOB',
  Throttled: 'SLUICE_ERR_THROTTLED',
  LoadShed: 'SLUICE_ERR_LOAD_SHED',
  Overloaded: 'SLUICE_ERR_OVERLOADED',
  ActivationTimeout: 'SLUICE_ERR_ACTIVATION_TIMEOUT',
  WorkerCrashed: 'SLUICE_ERR_WORKER_CRASHED',
  NotClonable: 'SLUICE_ERR_NOT_CLONABLE',
  NotSerializable: 'SLUICE_ERR_NOT_SERIALIZABLE',
  PoolUnavailable: 'SLUICE_ERR_POOL_UNAVAILABLE',
  PoolClosed: 'SLUICE_ERR_POOL_CLOSED',
  CircuitOpen: 'SLUICE_ERR_CIRCUIT_OPEN',
  InvalidTransition: 'SLUICE_ERR_INVALID_TRANSITION',
  HealthCheckFailed: 'SLUICE_ERR_HEALTH_CHECK_FAILED',
  BackendUnavailable: 'SLUICE_ERR_BACKEND_UNAVAILABLE',
  ModelLoadFailed: 'SLUICE_ERR_MODEL_LOAD_FAILED',
  InvalidInput: 'SLUICE_ERR_INVALID_INPUT',
  Usage: 'SLUICE_ERR_USAGE',
  RuntimeInPoolThread: 'SLUICE_ERR_RUNTIME_IN_POOL_THREAD',
  UnsafeBind: 'SLUICE_ERR_UNSAFE_BIND',
  Unauthorized: 'SLUICE_ERR_UNAUTHORIZED',
  ForbiddenOrigin: 'SLUICE_ERR_FORBIDDEN_ORIGIN',
  BadRequest: 'SLUICE_ERR_BAD_REQUEST',
  NotFound: 'SLUICE_ERR_NOT_FOUND',
  NotRecorded: 'SLUICE_ERR_NOT_RECORDED',
  Internal: 'SLUICE_ERR_INTERNAL',
  FlowFileInvalid: 'SLUICE_ERR_FLOW_FILE_INVALID',
  UnknownRoutineClass: 'SLUICE_ERR_UNKNOWN_ROUTINE_CLASS',
  FlowCycle: 'SLUICE_ERR_FLOW_CYCLE',
  CheckpointNotFound: 'SLUICE_ERR_CHECKPOINT_NOT_FOUND',
  CheckpointIncompatible: 'SLUICE_ERR_CHECKPOINT_INCOMPATIBLE',
} as const;

/**
 * One of the values of {@link ErrorCode}.
 *
 * @category Errors
 */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Options every sluice error accepts.
 *
 * @category Errors
 */
export interface SluiceErrorOptions {
  /** The error this one wraps. */
  cause?: unknown;
  /** Machine-readable facts about the failure (ids, values received). */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * The base of every error sluice throws.
 *
 * @category Errors
 */
export class SluiceError extends Error {
  /** The stable code; see {@link ErrorCode}. */
  readonly code: ErrorCodeValue;
  /** Machine-readable facts about the failure. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCodeValue, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  /** A plain, structured-clonable copy (for logs and for crossing threads). */
  toJSON(): { name: string; code: ErrorCodeValue; message: string; details: Readonly<Record<string, unknown>> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/**
 * A slot refused an item because it was full and its overflow policy is `reject`.
 *
 * @category Errors
 */
export class SlotQueueFullError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super(ErrorCode.QueueFull, message, options);
  }
}

/**
 * A wait ran past its timeout.
 *
 * @category Errors
 */
export class TimeoutError extends SluiceError {}

/**
 * A routine's logic threw or rejected; `cause` holds what it threw.
 *
 * @category Errors
 */
export class RoutineError extends SluiceError {}

/**
 * True for any error sluice throws.
 *
 * @category Errors
 */
export function isSluiceError(value: unknown): value is SluiceError {
  return value instanceof SluiceError;
}

/**
 * True for a {@link SlotQueueFullError}.
 *
 * @category Errors
 */
export function isSlotQueueFullError(value: unknown): value is SlotQueueFullError {
  return value instanceof SlotQueueFullError;
}

/**
 * Describes a received value for an error message: `` `0` (number) ``, `` `"x"` (string) ``.
 * Long values are cut so a message stays one readable line.
 */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'function') text = `[Function ${value.name || 'anonymous'}]`;
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'symbol') text = value.toString();
  else if (value === undefined) text = 'undefined';
  else if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${text}\` (${type})`;
}

/**
 * Hands `error` to every listener (a throwing listener is ignored, so it cannot take its
 * reporter down); with no listener it becomes a process warning, never silence.
 */
export function reportToListeners(listeners: Iterable<(error: SluiceError) => void> & { readonly size: number }, error: SluiceError): void {
  if (listeners.size === 0) {
    process.emitWarning(error.message, { code: error.code });
    return;
  }
  for (const listener of listeners) {
    try {
      listener(error);
    } catch {
      // A failing listener must not stop the reporter.
    }
  }
}

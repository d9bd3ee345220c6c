/**
 * A job: one `post()` and everything it causes downstream. Every queued item and every running
 * activation holds its job; when the last of them settles the job completes by itself. Failure,
 * cancellation and completion happen once; waiting is promise-based.
 */
import type { OtelSpan } from './otel.ts';
import { ErrorCode, SluiceError } from './errors.ts';

/**
 * The life of a job: `pending` until its first activation starts, then `running`, then one end.
 *
 * @category Jobs and context
 */
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * One line of a job's trace, written by the engine for each activation the job took part in.
 *
 * @inline
 */
export interface TraceEntry {
  /** The routine that ran. */
  readonly routineId: string;
  /** What happened: `ok`, or how the error handler treated a failure, or an item dropped. */
  readonly status: 'ok' | 'fallback' | 'failed' | 'retrying' | 'continued' | 'skipped' | 'dropped' | 'expired' | 'split';
  /** Milliseconds since the job was created, to the microsecond. */
  readonly atMs: number;
  /** How long the activation ran, in milliseconds, to the microsecond. */
  readonly durationMs: number;
  /** Items the activation consumed (of all jobs). */
  readonly items: number;
  /** Run number of the activation, from 1 (above 1 for retries). */
  readonly attempt: number;
  /** The error, for failures. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What the engine supplies to a job so it can cancel its own work. */
export interface JobHooks {
  /** Removes the job's queued items and aborts its activations. */
  cancel(job: JobContext, reason: SluiceError): void;
  /** Called once when the job ends, whatever the status. */
  settled(job: JobContext): void;
}

/** Internal: the engine's handle on a job's in-flight count. */
export const kRetain = Symbol('sluice.job.retain');
/** Internal: release one hold; completes the job when the count reaches zero. */
export const kRelease = Symbol('sluice.job.release');
/** Internal: mark the job running. */
export const kStart = Symbol('sluice.job.start');
/** Internal: end the job as failed or cancelled. */
export const kEnd = Symbol('sluice.job.end');
/** Internal: record an error handled under CONTINUE. */
export const kAddError = Symbol('sluice.job.addError');
/** Internal: append to the trace. */
export const kTrace = Symbol('sluice.job.trace');
const kNoErrors: ReadonlyArray<{ readonly routineId: string; readonly code: string; readonly message: string }> = Object.freeze([]);
/** Slots of one trace entry in a job's flat trace. */
const kTraceSlots = 7;
/** Internal: a stream job's per-item tally (see `runtime.stream`); undefined for a job of one post. */
export const kStream = Symbol('sluice.job.stream');

/** What a stream job counts: items that failed (the job goes on), and the first failure. */
export interface StreamTally {
  failed: number;
  firstError: { code: string; message: string; routineId: string } | undefined;
}

/**
 * Internal: work of the job elsewhere (another process, through a transport). While set, the job
 * does not complete when its local work settles: the hold is told instead, and ends the job with
 * `kRemoteEnded` once the job's work everywhere has ended.
 */
export const kRemote = Symbol('sluice.job.remote');
/** Internal: the job's count of local holds (items queued, activations running). */
export const kPending = Symbol('sluice.job.pending');
/** Internal: the job's work elsewhere ended (see `kRemote`). */
export const kRemoteEnded = Symbol('sluice.job.remoteEnded');

/** What a job with work elsewhere tells its transport. */
export interface RemoteHold {
  /** The job's local work has settled (nothing of it is queued or running in this process). */
  localSettled(job: JobContext): void;
  /** The job ended here first (failed or cancelled in this process). */
  endedHere(job: JobContext): void;
}

/** Internal: the job's OpenTelemetry span. */
export const kSpan = Symbol('sluice.job.span');
/** Internal: abort controller shared by the job's activations. */
export const kAbort = Symbol('sluice.job.abort');
/** Internal: the job's metadata and data objects as they are, undefined until first used (reading `metadata` or `data` creates them). */
export const kRawMetadata = Symbol('sluice.job.rawMetadata');
export const kRawData = Symbol('sluice.job.rawData');

/**
 * A plain copy of a job.
 *
 * @category Jobs and context
 */
export interface JobSnapshot {
  jobId: string;
  flowId: string;
  workerId: string;
  status: JobStatus;
  createdAt: string;
  finishedAt: string | undefined;
  metadata: Record<string, unknown>;
  data: Record<string, unknown>;
  error: { code: string; message: string } | undefined;
  errors: Array<{ routineId: string; code: string; message: string }>;
  traceLog: TraceEntry[];
  traceDropped: number;
  /** The W3C trace context of the job's span, when the runtime traces jobs. */
  traceparent?: string;
}

/**
 * The public face of one job. Returned by `runtime.post()` and by `currentJob()` inside logic.
 *
 * @example
 * ```ts
 * const [, job] = runtime.post('pipeline', 'source', 'in', { n: 1 });
 * await job.done();
 * console.log(job.status, job.traceLog.length);
 * ```
 */
/** Where a job keeps the number in the id its runtime made it (read by the recording, which stores the number, not the id). */
export const kJobSerial = Symbol('sluice.job.serial');
/** Internal: the order in which the runtime's job table took the job. */
export const kJobOrder = Symbol('sluice.job.order');

/** @category Jobs and context */
export class JobContext {
  /** The job's id, unique in its runtime. */
  readonly jobId: string;
  /** The flow the job was posted to. */
  readonly flowId: string;
  /** The worker that runs it. */
  readonly workerId: string;
  /** Wall-clock creation time, epoch milliseconds. */
  readonly createdAt: number;
  // Created on first use: most jobs never touch them, and every object a job holds is copied by
  // each young-generation GC it survives.
  #metadata: Record<string, unknown> | undefined;
  #data: Record<string, unknown> | undefined;
  #errors: Array<{ routineId: string; code: string; message: string }> | undefined;
  #status: JobStatus = 'pending';
  #error: SluiceError | undefined;
  #finishedAt: number | undefined;
  #pending = 0;
  /**
   * The trace, flat: per activation its routine id, status, start and duration in µs (start
   * counted from the job's creation), items, attempt and error — seven slots and no object, so a
   * finished job kept for `getJob()` holds one small array (see `traceLog` for the entries).
   */
  #trace: unknown[] | undefined;
  #traceLength = 0;
  #traceDropped = 0;
  readonly #traceLimit: number;
  /** Activations the trace is first sized for (the flow's routines): growing it leaves garbage. */
  readonly #traceHint: number;
  readonly #createdMono: number;
  #finishedMono: number | undefined;
  readonly #hooks: JobHooks;
  #done: Promise<JobContext> | undefined;
  #resolveDone: ((job: JobContext) => void) | undefined;
  [kAbort]: AbortController | undefined;
  /**
   * The W3C trace context (`00-<trace id>-<span id>-<flags>`) of the job's span, when the
   * runtime traces jobs (`RuntimeOptions.tracerProvider`); pool threads see it too, so logic
   * there can continue the trace. Undefined otherwise.
   */
  traceparent: string | undefined;
  /** The job's span, while the runtime traces it. */
  [kSpan]: OtelSpan | undefined;
  /** @internal A stream job's tally of failed items. */
  [kStream]: StreamTally | undefined;
  /** The runtime's number for a job whose id it made (`prefix` + this number); 0 for an id given at post time. */
  [kJobSerial] = 0;
  /** @internal */
  [kJobOrder] = 0;
  /** @internal See `kRemote`. */
  [kRemote]: RemoteHold | undefined;

  /** Made by the runtime's `post()`; not for users. */
  constructor(
    jobId: string,
    flowId: string,
    workerId: string,
    metadata: Record<string, unknown> | undefined,
    traceLimit: number,
    createdMono: number,
    hooks: JobHooks,
    traceHint = 4,
  ) {
    this.jobId = jobId;
    this.flowId = flowId;
    this.workerId = workerId;
    this.#metadata = metadata;
    this.createdAt = Date.now();
    this.#traceLimit = traceLimit;
    this.#traceHint = Math.max(1, Math.min(traceLimit, traceHint));
    this.#createdMono = createdMono;
    this.#hooks = hooks;
  }

  /** What the poster attached; not read by sluice. */
  get metadata(): Record<string, unknown> {
    this.#metadata ??= {};
    return this.#metadata;
  }

  /** A scratch object routines may write results into. */
  /** @internal */
  get [kRawMetadata](): Record<string, unknown> | undefined {
    return this.#metadata;
  }

  /** @internal */
  get [kRawData](): Record<string, unknown> | undefined {
    return this.#data;
  }

  get data(): Record<string, unknown> {
    this.#data ??= {};
    return this.#data;
  }

  /** Errors recorded under the CONTINUE strategy (the job still completes), oldest first. */
  get errors(): ReadonlyArray<{ readonly routineId: string; readonly code: string; readonly message: string }> {
    return this.#errors ?? kNoErrors;
  }

  /** Where the job is in its life. */
  get status(): JobStatus {
    return this.#status;
  }

  /** True once completed, failed or cancelled. */
  get isTerminal(): boolean {
    return this.#status === 'completed' || this.#status === 'failed' || this.#status === 'cancelled';
  }

  /** The error that failed or cancelled the job. */
  get error(): SluiceError | undefined {
    return this.#error;
  }

  /** Wall-clock end time, epoch milliseconds. */
  get finishedAt(): number | undefined {
    return this.#finishedAt;
  }

  /** @internal Creation time on the runtime's clock (ms), for latencies measured on that clock. */
  get createdMono(): number {
    return this.#createdMono;
  }

  /** @internal When the job ended on the runtime's clock, when the code that ended it knew (else undefined). */
  get finishedMono(): number | undefined {
    return this.#finishedMono;
  }

  /** Items and activations of this job still in flight. */
  get inFlight(): number {
    return this.#pending;
  }

  /** A copy of the trace (capped at the runtime's `traceLimit`; see `traceDropped`). */
  get traceLog(): TraceEntry[] {
    const trace = this.#trace;
    const out: TraceEntry[] = [];
    if (trace === undefined) return out;
    for (let i = 0; i < this.#traceLength; i += kTraceSlots) {
      const entry = {
        routineId: trace[i] as string,
        status: trace[i + 1] as TraceEntry['status'],
        atMs: (trace[i + 2] as number) / 1000,
        durationMs: (trace[i + 3] as number) / 1000,
        items: trace[i + 4] as number,
        attempt: trace[i + 5] as number,
      };
      const error = trace[i + 6] as TraceEntry['error'];
      out.push(error === undefined ? entry : { ...entry, error });
    }
    return out;
  }

  /** Trace entries not kept because the cap was reached. */
  get traceDropped(): number {
    return this.#traceDropped;
  }

  /** An AbortSignal that fires when the job is cancelled or fails. */
  get signal(): AbortSignal {
    this[kAbort] ??= new AbortController();
    if (this.#status === 'failed' || this.#status === 'cancelled') this[kAbort].abort(this.#error);
    return this[kAbort].signal;
  }

  /** Resolves with this job once it has ended, whatever the status; never rejects. */
  done(): Promise<JobContext> {
    if (this.#done === undefined) {
      if (this.isTerminal) this.#done = Promise.resolve(this);
      else this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
    }
    return this.#done;
  }

  /**
   * Cancels the job: its queued items are removed, running activations see their signal abort,
   * and nothing it emits from now on is delivered. No-op once the job has ended.
   */
  cancel(reason = 'cancelled by caller'): void {
    if (this.isTerminal) return;
    const error = new SluiceError(ErrorCode.JobCancelled, `Job "${this.jobId}" was cancelled: ${reason}`, {
      details: { jobId: this.jobId },
    });
    this.#hooks.cancel(this, error);
    this[kEnd]('cancelled', error);
  }

  /** A plain copy. */
  toJSON(): JobSnapshot {
    return {
      jobId: this.jobId,
      flowId: this.flowId,
      workerId: this.workerId,
      status: this.#status,
      createdAt: new Date(this.createdAt).toISOString(),
      finishedAt: this.#finishedAt === undefined ? undefined : new Date(this.#finishedAt).toISOString(),
      metadata: { ...this.metadata },
      data: { ...this.data },
      error: this.#error === undefined ? undefined : { code: this.#error.code, message: this.#error.message },
      errors: this.errors.map((e) => ({ ...e })),
      traceLog: this.traceLog,
      traceDropped: this.#traceDropped,
      ...(this.traceparent === undefined ? {} : { traceparent: this.traceparent }),
    };
  }

  /** @internal See `kPending`. */
  get [kPending](): number {
    return this.#pending;
  }

  /** @internal */
  [kRetain](count = 1): void {
    this.#pending += count;
  }

  /**
   * @internal Releases `count` holds; `atMono`, when the caller already read the clock (an
   * activation settling), is when the job ended, so measuring its latency reads no clock again.
   */
  [kRelease](count = 1, atMono?: number): void {
    this.#pending -= count;
    if (this.#pending === 0 && !this.isTerminal) {
      this.#finishedMono = atMono;
      const remote = this[kRemote];
      if (remote !== undefined) remote.localSettled(this);
      else this.#finish('completed', undefined);
    }
  }

  /**
   * @internal The job's work elsewhere ended: completed (the job completes unless local work
   * started again meanwhile, which cannot happen once its local work settled) or failed.
   */
  [kRemoteEnded](error: SluiceError | undefined): void {
    this[kRemote] = undefined;
    if (this.isTerminal) return;
    this.#finishedMono = undefined;
    if (error !== undefined) this[kEnd]('failed', error);
    else if (this.#pending === 0) this.#finish('completed', undefined);
  }

  /** @internal */
  [kStart](): boolean {
    if (this.#status !== 'pending') return false;
    this.#status = 'running';
    return true;
  }

  /** @internal */
  [kEnd](status: 'failed' | 'cancelled', error: SluiceError): void {
    if (this.isTerminal) return;
    this.#finish(status, error);
    this[kAbort]?.abort(error);
  }

  /** @internal Adds one activation to the trace (times on the runtime's clock, ms). */
  [kTrace](
    routineId: string,
    status: TraceEntry['status'],
    startMono: number,
    durationMs: number,
    items: number,
    attempt: number,
    error: TraceEntry['error'],
  ): void {
    const n = this.#traceLength;
    if (n >= this.#traceLimit * kTraceSlots) {
      this.#traceDropped++;
      return;
    }
    // Sized for one activation per routine of the flow at once (growing leaves the old store as garbage).
    const trace = (this.#trace ??= new Array<unknown>(kTraceSlots * this.#traceHint));
    trace[n] = routineId;
    trace[n + 1] = status;
    // Whole microseconds: small integers are stored in the array itself, doubles would be boxed.
    trace[n + 2] = Math.round((startMono - this.#createdMono) * 1000);
    trace[n + 3] = Math.round(durationMs * 1000);
    trace[n + 4] = items;
    trace[n + 5] = attempt;
    trace[n + 6] = error;
    this.#traceLength = n + kTraceSlots;
  }

  /** @internal Records an error handled under CONTINUE. */
  [kAddError](error: { routineId: string; code: string; message: string }): void {
    (this.#errors ??= []).push(error);
  }

  #finish(status: 'completed' | 'failed' | 'cancelled', error: SluiceError | undefined): void {
    this.#status = status;
    this.#error = error;
    const remote = this[kRemote];
    if (remote !== undefined) {
      this[kRemote] = undefined;
      remote.endedHere(this);
    }
    this.#finishedAt = Date.now();
    this.#hooks.settled(this);
    // A finished job may be kept for a while (the job history): it keeps nothing it no longer needs.
    const resolve = this.#resolveDone;
    if (resolve !== undefined) {
      this.#resolveDone = undefined;
      resolve(this);
    }
  }
}

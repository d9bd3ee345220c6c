/**
 * Stream mode: an iterable, async iterable or Node Readable pushed through a flow as one job.
 * Items are not tracked one by one — they share the job, an immediate routine takes them in
 * chunks, and a failed item is counted while the job goes on. Backpressure runs end to end: the
 * source is pulled only while the entry slot has room and the output (a routine's event, read
 * as an async iterable or a Readable) is below its high-water mark. The job completes when the
 * source is exhausted and every item's effects have settled.
 */
import { Readable } from 'node:stream';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { type JobContext, kEnd, kRelease, kRetain, kStream, type JobStatus } from '../core/job-context.ts';
import type { Slot } from '../core/slot.ts';
import { RingQueue } from '../core/slot-queue.ts';
import { assertInteger, assertKnownKeys, assertName, assertObject } from '../core/validate.ts';
import type { Item } from './activation-scope.ts';
import type { Jobs } from './jobs.ts';
import type { RoutineRunner } from './routine-runner.ts';

/**
 * Options of `runtime.stream()`.
 *
 * @inline
 */
export interface StreamOptions {
  /** The worker to run in (default: the flow's default worker). */
  workerId?: string;
  /** The stream job's id (default: made by the runtime). */
  jobId?: string;
  metadata?: Record<string, unknown>;
  /** A routine's event to read as the stream's output (`run.output`). */
  output?: { routine: string; event: string };
  /**
   * Output items buffered before the source is paused (backpressure from the reader).
   * @default 1024
   */
  highWaterMark?: number;
  /** Aborting it cancels the stream job. */
  signal?: AbortSignal;
}

/**
 * How a stream job ended.
 *
 * @inline
 */
export interface StreamResult {
  readonly jobId: string;
  /** `completed` when the source ended and every item settled (failed items included); `failed` when the source threw; `cancelled`. */
  readonly status: JobStatus;
  /** Items pulled from the source. */
  readonly items: number;
  /** Items whose activation failed (under STOP, or RETRY once its attempts ran out); the job went on. */
  readonly failed: number;
  /** The first item failure: routine, code and message. */
  readonly firstError: { readonly routineId: string; readonly code: string; readonly message: string } | undefined;
  /** Why the job failed or was cancelled. */
  readonly error: { readonly code: string; readonly message: string } | undefined;
}

/**
 * A stream's output: the data a routine emitted on an event for this stream, in order; an async
 * iterable, or a Node Readable (object mode) for `stream.pipeline`.
 *
 * @inline
 */
export interface StreamOutput<T = unknown> extends AsyncIterable<T> {
  /** The same items as a Readable in object mode. */
  readable(): Readable;
}

/**
 * One stream pushed through a flow (see `runtime.stream`).
 *
 * @category Runtime
 */
export interface StreamRun<T = unknown> {
  /** The stream's job. */
  readonly job: JobContext;
  /** The output, when `options.output` named one. */
  readonly output: StreamOutput<T> | undefined;
  /** Resolves when the job ends: items pulled, items failed, status. */
  done(): Promise<StreamResult>;
}

/**
 * What a stream can be fed from.
 *
 * @inline
 */
export type StreamSource = Iterable<unknown> | AsyncIterable<unknown> | Readable;

/** Items a synchronous source moves into the entry slot per offer. */
const kFill = 256;
const kNothing = (): void => undefined;

/** The output buffer between the tap and the reader. */
class OutputBuffer<T> implements StreamOutput<T> {
  readonly #items = new RingQueue<T>(64);
  readonly #highWaterMark: number;
  #ended = false;
  #readers: Array<() => void> = [];
  #drains: Array<() => void> = [];

  constructor(highWaterMark: number) {
    this.#highWaterMark = highWaterMark;
  }

  get full(): boolean {
    return this.#items.length >= this.#highWaterMark;
  }

  push(item: T): void {
    this.#items.push(item);
    this.#wake(this.#readers);
  }

  end(): void {
    this.#ended = true;
    this.#wake(this.#readers);
    this.#wake(this.#drains);
  }

  /** Resolves once the reader took the buffer below its mark (or it ended). */
  drained(): Promise<void> {
    if (!this.full || this.#ended) return Promise.resolve();
    return new Promise((resolve) => this.#drains.push(resolve));
  }

  #wake(list: Array<() => void>): void {
    if (list.length === 0) return;
    const waiting = list.splice(0);
    for (const resolve of waiting) resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        const item = this.#items.shift() as T;
        if (!this.full) this.#wake(this.#drains);
        yield item;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#readers.push(resolve));
    }
  }

  readable(): Readable {
    return Readable.from(this, { objectMode: true });
  }
}

/** What the poster hands a stream: where it enters, and where its output is read. */
export interface StreamTarget {
  readonly job: JobContext;
  readonly runner: RoutineRunner;
  readonly slot: Slot<Jobs>;
  /** The runner whose event is the output, when one is read. */
  readonly output: { runner: RoutineRunner; event: string } | undefined;
}

const kKeys = ['workerId', 'jobId', 'metadata', 'output', 'highWaterMark', 'signal'];

/** Checks `options` at the edge; returns the output's high-water mark. */
export function checkStreamOptions(options: StreamOptions): number {
  assertObject('stream options', options);
  assertKnownKeys('stream options', options as Record<string, unknown>, kKeys);
  if (options.output !== undefined) {
    assertObject('stream output', options.output);
    assertKnownKeys('stream output', options.output as Record<string, unknown>, ['routine', 'event']);
    assertName('stream output.routine', options.output.routine);
    assertName('stream output.event', options.output.event);
  }
  const highWaterMark = options.highWaterMark ?? 1024;
  assertInteger('stream highWaterMark', highWaterMark, 1);
  return highWaterMark;
}

/** A pull of a stream source: sync or async. */
export type SourceIterator = { next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>>; return?(): unknown };

/** The iterator of `source`, or a coded error when it is neither iterable nor async iterable. */
export function iteratorOf(source: StreamSource): SourceIterator {
  if (source !== null && typeof source === 'object') {
    if (typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function') return (source as Iterable<unknown>)[Symbol.iterator]();
    if (typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      return (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    }
  }
  throw new SluiceError(ErrorCode.InvalidArgument, 'Expected stream() source to be an iterable, an async iterable or a Readable');
}

/** Starts pushing `source` into `target`; the job is the stream's from here on. */
export function startStream<T>(
  target: StreamTarget,
  iterator: SourceIterator,
  highWaterMark: number,
  signal: AbortSignal | undefined,
): StreamRun<T> {
  const { job, runner, slot } = target;
  job[kStream] = { failed: 0, firstError: undefined };
  // The stream's own hold: the job cannot complete before the source is exhausted.
  job[kRetain]();
  let output: OutputBuffer<T> | undefined;
  let untap: (() => void) | undefined;
  if (target.output !== undefined) {
    const buffer = new OutputBuffer<T>(highWaterMark);
    output = buffer;
    untap = target.output.runner.router.tap(target.output.event, (data, jobs) => {
      if (jobs === job) buffer.push(data as T);
    });
  }
  let items = 0;
  const abort = (): void => job.cancel(`stream aborted: ${String(signal?.reason ?? 'aborted')}`);
  signal?.addEventListener('abort', abort, { once: true });
  // Waits end early when the job ends (cancelled): its purged items may never make room.
  const ended = job.done();
  const drive = async (): Promise<void> => {
    try {
      for (;;) {
        if (job.isTerminal) break;
        if (output?.full === true) {
          await Promise.race([output.drained(), ended]);
          continue;
        }
        if (slot.isFull || slot.waiting > 0) {
          await Promise.race([slot.room(), ended]);
          continue;
        }
        let next = iterator.next();
        if (next instanceof Promise) next = await next;
        if (next.done === true) break;
        if (job.isTerminal) break;
        // A synchronous source fills the slot's room in one offer; an async one goes item by item.
        const batch: Item[] = [{ data: next.value, jobs: job }];
        const room = Math.min(kFill, slot.spec.maxQueueLength - slot.length);
        let done = false;
        try {
          while (batch.length < room) {
            const more = iterator.next();
            if (more instanceof Promise) {
              const resolved = await more;
              if (resolved.done === true) done = true;
              else batch.push({ data: resolved.value, jobs: job });
              break;
            }
            if (more.done === true) {
              done = true;
              break;
            }
            batch.push({ data: more.value, jobs: job });
          }
        } finally {
          // What was pulled before a source threw still runs (and counts).
          runner.offerRun(slot, batch, job, kNothing);
          items += batch.length;
        }
        if (done) break;
      }
    } catch (cause) {
      const error =
        cause instanceof SluiceError
          ? cause
          : new SluiceError(
              ErrorCode.RoutineFailed,
              `The source of stream job "${job.jobId}" failed: ${(cause as Error)?.message ?? String(cause)}`,
              {
                cause,
              },
            );
      job[kEnd]('failed', error);
    } finally {
      if (job.isTerminal) await Promise.resolve(iterator.return?.()).catch(() => undefined);
      job[kRelease](1);
    }
  };
  const driving = drive();
  const finished = ended.then(async (): Promise<StreamResult> => {
    await driving;
    signal?.removeEventListener('abort', abort);
    untap?.();
    output?.end();
    const tally = job[kStream];
    return {
      jobId: job.jobId,
      status: job.status,
      items,
      failed: tally?.failed ?? 0,
      firstError: tally?.firstError,
      error: job.error === undefined ? undefined : { code: job.error.code, message: job.error.message },
    };
  });
  return { job, output, done: () => finished };
}

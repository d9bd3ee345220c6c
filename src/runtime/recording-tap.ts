/**
 * What the bus hands a recording: every recorded event goes on to the durable sink, and the
 * completed jobs the runtime gives it are packed — one event for up to {@link kMaxPackedJobs}
 * jobs instead of one each (see store/job-outcome-pack.ts). A pack is handed to the sink before
 * any other event reaches it, when full, after the sink's `flushIntervalMs`, and on `close()`, so
 * the sink receives events in seq order and a pack holds no seq of another recorded event. A pack
 * holds at most an eighth of the sink's high-water mark, so the jobs held outside the sink (and
 * what a crash could lose beyond its backlog) stay within the mark's bound.
 */
import type { BusEvent, EventSink } from '../bus/index.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { kJobSerial, type JobContext } from '../core/job-context.ts';
import { JobOutcomePack, type DurableSink } from '../store/index.ts';

/** The most jobs one pack holds (less when the sink's high-water mark is small). */
export const kMaxPackedJobs = 4096;

/** The recording's intake: a bus sink in front of the durable sink that also packs completed jobs. */
export class RecordingTap implements EventSink {
  readonly #sink: DurableSink;
  readonly #runId: string;
  readonly #clock: Clock;
  readonly #wallClock: () => number;
  readonly #maxJobs: number;
  #jobPrefix = '';
  #pack: JobOutcomePack | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(sink: DurableSink, runId: string, clock: Clock, wallClock: () => number) {
    this.#sink = sink;
    this.#runId = runId;
    this.#clock = clock;
    this.#wallClock = wallClock;
    this.#maxJobs = Math.max(1, Math.min(kMaxPackedJobs, Math.floor(sink.options.highWaterMark / 8)));
  }

  /** True until `close()`: completed jobs are taken. */
  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Jobs packed and not yet handed to the sink. */
  get pending(): number {
    return this.#pack?.count ?? 0;
  }

  /** A recorded event: the pending pack goes first, then the event. */
  onEvent(event: BusEvent): void {
    if (this.#pack !== undefined) this.flush();
    this.#sink.onEvent(event);
  }

  /** The prefix of the job ids the runtime makes (`prefix` + the job's serial number). */
  numberJobsAfter(prefix: string): void {
    this.#jobPrefix = prefix;
  }

  /**
   * Records a job that completed without error as event `seq` of the run, at the bus's wall time:
   * the job's `finishedAt` (read from `Date.now` when it ended) when the bus keeps the default
   * clock, else the bus's clock read now, as a published event would be stamped.
   */
  addCompletedJob(seq: number, job: JobContext): void {
    let pack = this.#pack;
    if (pack === undefined) {
      pack = this.#pack = new JobOutcomePack(this.#jobPrefix);
      this.#timer = this.#clock.setTimeout(() => this.flush(), this.#sink.options.flushIntervalMs, { ref: false });
    }
    const finished = job.finishedAt ?? job.createdAt;
    const time = this.#wallClock === Date.now ? finished : this.#wallClock();
    pack.add(seq, time, job.jobId, job[kJobSerial], job.flowId, job.workerId, finished - job.createdAt);
    if (pack.count >= this.#maxJobs) this.flush();
  }

  /** Hands the pending pack to the sink. */
  flush(): void {
    const pack = this.#pack;
    if (pack === undefined) return;
    this.#pack = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#sink.onEvent(pack.toEvent(this.#runId));
  }

  /** Hands the pending pack over and takes no more jobs. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}

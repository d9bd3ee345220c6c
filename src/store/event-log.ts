/**
 * The durable log of bus events: one interface, two real implementations
 * (`MemoryEventLog`, `SqliteEventLog`). Events are keyed by `(runId, seq)`; a run is a stream.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { BusEvent } from '../bus/index.ts';
import { setLongTimeout } from '../core/clock.ts';
import { assertMs, checkInteger } from '../core/validate.ts';
import { runStatus, type RunStatus, type RunTally } from './run-tally.ts';

/** What the log knows of one run: a snapshot. */
export interface RunInfo {
  readonly runId: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Events stored (equals `lastSeq - firstSeq + 1` when every event of the run was recorded). */
  readonly count: number;
  /** ISO time of the first and last stored event. */
  readonly firstTime: string;
  readonly lastTime: string;
  /** The flow of the run's first worker, when it started one. */
  readonly flow: string | undefined;
  /**
   * Where the run stands: `completed` (stopped, every job completed), `failed` (stopped with
   * failed or cancelled jobs), `running`, or `interrupted` (no `run.stopped`, and silent for 3
   * heartbeat intervals, or 60 s without heartbeats: the process died).
   */
  readonly status: RunStatus;
  /** How its jobs ended (`dropped` are failed jobs whose item a `dropOldest` slot evicted). */
  readonly jobs: { readonly completed: number; readonly failed: number; readonly cancelled: number; readonly dropped: number };
  /** Slot overflows plus events the bus dropped for slow subscribers. */
  readonly overflows: number;
  /** ISO time of `run.stopped`, when the run stopped. */
  readonly endTime: string | undefined;
  /** From the first to the last stored event, ms (to `run.stopped` for a stopped run). */
  readonly durationMs: number;
  /** The interval its heartbeats promised, ms (undefined without heartbeats). */
  readonly heartbeatMs: number | undefined;
  /** Whether it recorded `run.recording_failed` (events of the run were lost). */
  readonly recordingFailed: boolean;
  /** What its events take, as retention counts it: their fields' characters plus 16 bytes an event. */
  readonly bytes: number;
  /**
   * Events the recording took that the log lacks: heartbeats and `run.stopped` of a recording
   * runtime carry `recorded` (events taken so far, that one included), compared with what the log
   * holds up to them. 0 when nothing was lost (or the run predates the count).
   */
  readonly lost: number;
}

/** A {@link RunInfo} from a run's span and its tally, with the status as of `now`. */
export function runInfo(
  span: Pick<RunInfo, 'runId' | 'firstSeq' | 'lastSeq' | 'count' | 'firstTime' | 'lastTime' | 'bytes'>,
  tally: RunTally,
  now = Date.now(),
): RunInfo {
  return {
    ...span,
    flow: tally.flow,
    status: runStatus(tally, span.lastTime, now),
    jobs: { completed: tally.jobsCompleted, failed: tally.jobsFailed, cancelled: tally.jobsCancelled, dropped: tally.jobsDropped },
    overflows: tally.overflows,
    endTime: tally.stoppedTime,
    durationMs: Math.max(0, Date.parse(tally.stoppedTime ?? span.lastTime) - Date.parse(span.firstTime)),
    heartbeatMs: tally.heartbeatMs,
    recordingFailed: tally.recordingFailed,
    lost: Math.max(0, tally.lost),
  };
}

/** The outcome of {@link EventLog.append}. */
export interface AppendResult {
  /** Events written. */
  readonly inserted: number;
  /** Events not written because their `(runId, seq)` was already stored (a replayed batch). */
  readonly ignored: number;
}

/** Options of {@link EventLog.since}. */
export interface SinceOptions {
  /**
   * The most events returned; page with the last returned `seq` as the next cursor.
   * @default unlimited
   */
  limit?: number;
}

/** Options of {@link EventLog.replay}. */
export interface ReplayOptions {
  /**
   * Start after this seq.
   * @default 0 (from the first event)
   */
  since?: number;
  /**
   * Events read per page; the iterator yields to the event loop between pages.
   * @default 1000
   */
  pageSize?: number;
}

/** Options of {@link EventLog.prune}; at least one must be given. */
export interface PruneOptions {
  /** Removes runs whose last event is older than this (a Date, ISO text, or ms since the epoch). */
  olderThan?: Date | string | number;
  /** Keeps only this many runs, the most recent by last event time. */
  keepRuns?: number;
  /** Removes the oldest runs until the rest take at most this many bytes (`RunInfo.bytes`). */
  maxBytes?: number;
  /** Removes these runs. */
  runIds?: readonly string[];
  /** Never removes these runs (a runtime's own run), whatever else is asked. */
  except?: readonly string[];
}

/** Options of {@link EventLog.waitFor}. */
export interface WaitForOptions {
  /**
   * The longest wait in ms; `Infinity` waits as long as it takes.
   * @default Infinity
   */
  timeout?: number;
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The outcome of {@link EventLog.prune}. */
export interface PruneResult {
  readonly runs: number;
  readonly events: number;
}

/**
 * A durable, ordered store of bus events.
 *
 * Guarantees of every implementation: `append` is atomic per call (all or nothing) and
 * idempotent per `(runId, seq)`; reads return events in `seq` order; `prune` removes whole
 * runs, never part of one.
 *
 * @example
 * ```ts
 * const log: EventLog = await SqliteEventLog.open({ path: 'events.sqlite' });
 * for await (const event of log.replay('run-1')) console.log(event.seq, event.topic);
 * const missed = await log.since('run-1', lastSeen);
 * ```
 */
export interface EventLog {
  /** Stores `events` atomically; an event whose `(runId, seq)` exists is ignored and counted. */
  append(events: readonly BusEvent[]): Promise<AppendResult>;
  /** Events of `runId` with `seq > afterSeq`, ascending (the cursor backfill). */
  since(runId: string, afterSeq: number, options?: SinceOptions): Promise<BusEvent[]>;
  /** The highest stored seq of `runId` (0 when none), so a restart resumes the sequence. */
  lastSeq(runId: string): Promise<number>;
  /** Every stored run, most recent last event first. */
  runs(): Promise<RunInfo[]>;
  /** Every event of `runId` in seq order, read page by page. */
  replay(runId: string, options?: ReplayOptions): AsyncIterableIterator<BusEvent>;
  /** Removes old runs (retention). */
  prune(options: PruneOptions): Promise<PruneResult>;
  /**
   * Resolves `true` once the log holds `runId`'s events up to `seq` (committed, so a replay
   * sees them), or `false` after `timeout` ms: how a reader that saw `run.stopped` live waits
   * for its rows without sleeping. Writes through this log object wake it at once; writes by
   * another connection or process are noticed within `pollMs`.
   */
  waitFor(runId: string, seq: number, options?: WaitForOptions): Promise<boolean>;
  /** Releases the log; idempotent. Later calls reject with `SLUICE_ERR_STORE_CLOSED`. */
  close(): Promise<void>;
  /** True after `close()`. */
  readonly isClosed: boolean;
}

/**
 * `replay()` for any log: reads `since()` page by page, yielding to the event loop between
 * pages, so a long run streams without loading it whole.
 *
 * @example
 * ```ts
 * for await (const event of replayInPages(log, 'run-1', { pageSize: 500 })) console.log(event.seq);
 * ```
 */
export async function* replayInPages(
  log: Pick<EventLog, 'since'>,
  runId: string,
  options: ReplayOptions = {},
): AsyncIterableIterator<BusEvent> {
  let cursor = checkInteger('since', options.since ?? 0, 0);
  const pageSize = checkInteger('pageSize', options.pageSize ?? 1000, 1);
  for (;;) {
    const page = await log.since(runId, cursor, { limit: pageSize });
    for (const event of page) yield event;
    if (page.length < pageSize) return;
    cursor = (page.at(-1) as BusEvent).seq;
    await yieldToLoop();
  }
}

/**
 * Wakes waiters of a log when its own appends commit; `next(ms)` also wakes after `ms`, so
 * commits made elsewhere (another connection) are seen too.
 * @internal
 */
export class CommitWatch {
  #waiters = new Set<() => void>();

  /** Something committed: every waiter looks again. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next commit or after `ms`; rejects when `signal` aborts. */
  next(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(done);
        resolve();
      };
      const onAbort = (): void => {
        timer.cancel();
        this.#waiters.delete(done);
        reject(signal?.reason);
      };
      const timer = setLongTimeout(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * `waitFor()` for any log: checks `lastSeq`, then waits for a commit (or the poll interval) and
 * checks again, until `seq` is there or the timeout passes.
 * @internal
 */
export async function waitForSeq(
  log: Pick<EventLog, 'lastSeq'>,
  commits: CommitWatch,
  runId: string,
  seq: number,
  options: WaitForOptions,
  pollMs: number,
): Promise<boolean> {
  checkInteger('seq', seq, 0);
  const timeout = options.timeout ?? Number.POSITIVE_INFINITY;
  assertMs('timeout', timeout, 0, { noLimit: true });
  const signal = options.signal;
  const deadline = performance.now() + timeout;
  for (;;) {
    signal?.throwIfAborted();
    if ((await log.lastSeq(runId)) >= seq) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await commits.next(Math.min(left, pollMs), signal);
  }
}

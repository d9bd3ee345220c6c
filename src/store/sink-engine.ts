/**
 * The engine behind {@link DurableSink}: the intake buffer, batching, the one commit in flight,
 * retries with backoff, pressure and health. Inputs are trusted (the facade validates).
 */
import type { BusEvent } from '../bus/index.ts';
import type { TimerHandle } from '../core/clock.ts';
import { ErrorCode, SluiceError, isSluiceError, reportToListeners } from '../core/errors.ts';
import type { ResolvedDurableSinkOptions } from './sink-options.ts';
import { eventWeight, expandPacks, takesPacks } from './job-outcome-pack.ts';
import { storeClosedError } from './store-checks.ts';

/** `healthy`: keeping up. `degraded`: behind, stalled or failing. `unhealthy`: failing repeatedly. */
export type SinkHealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** The sink's health: a snapshot. */
export interface SinkHealth {
  readonly status: SinkHealthStatus;
  /** Why it is not healthy, in words. */
  readonly reason: string | undefined;
  /** The last commit failure (coded `SLUICE_ERR_STORE_FAILED` or the log's own code). */
  readonly lastError: SluiceError | undefined;
  readonly consecutiveFailures: number;
}

/** The sink's counters: a snapshot. */
export interface SinkStats {
  /** Events taken in (from the bus tap or `write()`). */
  readonly accepted: number;
  /** Events whose batch committed. */
  readonly committed: number;
  /** `accepted - committed`: in memory, not yet durable. */
  readonly pending: number;
  /** The most events ever pending at once. */
  readonly peakPending: number;
  /** Events in the commit in flight now. */
  readonly inFlight: number;
  readonly highWaterMark: number;
  /** True while pending is at or above the high-water mark (until it falls to half). */
  readonly pressured: boolean;
  /** Commits that succeeded, and the largest of them. */
  readonly batches: number;
  readonly largestBatch: number;
  /** Commits that failed (each retried). */
  readonly failures: number;
  /** Events the log already held (same runId and seq), not written twice. */
  readonly duplicates: number;
  /** Events not persisted because the sink gave up on a log that cannot take writes (0 otherwise). */
  readonly lost: number;
  /** True once the sink gave up (see `giveUpAfterFailures`); `health().lastError` says why. */
  readonly failed: boolean;
}

/** SQLite result codes that no retry cures (the disk or file, not a lock, is the problem). */
const kPermanent = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|PERM|TOOBIG)/;

/** True when a failed commit will fail the same way however often it is retried. */
function isPermanent(error: SluiceError): boolean {
  const code = error.details.sqliteCode;
  return typeof code === 'string' && kPermanent.test(code);
}

type Listener = (error: SluiceError) => void;

interface Batch {
  readonly order: number;
  /** Index (in acceptance order) of its first event. */
  readonly start: number;
  readonly events: BusEvent[];
  /** The events it stands for (a pack of completed jobs counts as its jobs). */
  readonly weight: number;
  startedAt: number;
}

const countEvents = (batches: readonly Batch[]): number => batches.reduce((n, b) => n + b.weight, 0);

function weigh(events: readonly BusEvent[], from = 0, to = events.length): number {
  let n = 0;
  for (let i = from; i < to; i++) n += eventWeight(events[i]!);
  return n;
}

/** @internal */
export class SinkEngine {
  readonly #o: ResolvedDurableSinkOptions;
  readonly #errorListeners = new Set<Listener>();
  #buffer: BusEvent[] = [];
  #head = 0;
  /** Batches that failed, by acceptance order; committed first when the retry timer fires. */
  #retry: Batch[] = [];
  #retryTimer: TimerHandle | undefined;
  /** Commits in flight (at most `maxInFlight`), oldest first. */
  #writing: Batch[] = [];
  #order = 0;
  /** Events taken from the buffer into batches so far. */
  #taken = 0;
  #timer: TimerHandle | undefined;
  #immediate = false;
  #accepted = 0;
  #committed = 0;
  #peak = 0;
  #batches = 0;
  #largest = 0;
  #failures = 0;
  #consecutive = 0;
  #duplicates = 0;
  #lastError: SluiceError | undefined;
  #pressured = false;
  #readyWaiters: (() => void)[] = [];
  #flushWaiters: { target: number; resolve: () => void }[] = [];
  #closing = false;
  #closed = false;
  #permanent = 0;
  /** Set once the sink gave up on its log. */
  #gaveUp: SluiceError | undefined;
  #lost = 0;

  constructor(options: ResolvedDurableSinkOptions) {
    this.#o = options;
  }

  get pending(): number {
    return this.#accepted - this.#committed - this.#lost;
  }

  get isPressured(): boolean {
    return this.#pressured;
  }

  get isClosed(): boolean {
    return this.#closed || this.#closing;
  }

  /** Takes one event; returns false when the caller should wait for `ready()`. Never drops. */
  accept(event: BusEvent): boolean {
    if (this.#closing) throw storeClosedError('durable sink');
    const weight = eventWeight(event);
    this.#accepted += weight;
    if (this.#gaveUp !== undefined) {
      // Counted, never held: a dead log must not grow memory either.
      this.#lost += weight;
      return true;
    }
    this.#buffer.push(event);
    const pending = this.pending;
    if (pending > this.#peak) this.#peak = pending;
    if (pending >= this.#o.highWaterMark) this.#pressured = true;
    this.#schedule();
    return !this.#pressured;
  }

  ready(): Promise<void> {
    if (!this.#pressured) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Resolves when everything accepted so far is committed. */
  flushed(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    const target = this.#accepted;
    const done = new Promise<void>((resolve) => this.#flushWaiters.push({ target, resolve }));
    this.#flushSoon();
    return done;
  }

  onError(listener: Listener): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  health(): SinkHealth {
    const base = { lastError: this.#lastError, consecutiveFailures: this.#consecutive };
    if (this.#gaveUp !== undefined) {
      return {
        status: 'unhealthy',
        reason: `gave up after ${this.#permanent} failed commits: ${this.#gaveUp.message}; ${this.#lost} events not persisted`,
        ...base,
      };
    }
    if (this.#consecutive >= this.#o.unhealthyAfterFailures) {
      return { status: 'unhealthy', reason: `${this.#consecutive} consecutive commits failed`, ...base };
    }
    if (this.#consecutive > 0) return { status: 'degraded', reason: 'the last commit failed; retrying', ...base };
    const oldest = this.#writing[0];
    if (oldest !== undefined && this.#o.clock.now() - oldest.startedAt > this.#o.stallAfterMs) {
      return { status: 'degraded', reason: `a commit has been in flight for over ${this.#o.stallAfterMs} ms`, ...base };
    }
    if (this.#pressured)
      return { status: 'degraded', reason: `${this.pending} events pending (high-water mark ${this.#o.highWaterMark})`, ...base };
    return { status: 'healthy', reason: undefined, ...base };
  }

  stats(): SinkStats {
    return {
      accepted: this.#accepted,
      committed: this.#committed,
      pending: this.pending,
      peakPending: this.#peak,
      inFlight: countEvents(this.#writing),
      highWaterMark: this.#o.highWaterMark,
      pressured: this.#pressured,
      batches: this.#batches,
      largestBatch: this.#largest,
      failures: this.#failures,
      duplicates: this.#duplicates,
      lost: this.#lost,
      failed: this.#gaveUp !== undefined,
    };
  }

  /** Stops intake, commits what it can within `timeout`, and reports what is left. */
  async close(timeout: number): Promise<{ flushed: boolean; pending: number; lost: number }> {
    this.#closing = true;
    // Producers waiting for room stop waiting: the sink takes no more, and they must not hang.
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
    let timer: TimerHandle | undefined;
    const flushed = await Promise.race([
      this.flushed().then(() => true),
      new Promise<boolean>((resolve) => (timer = this.#o.clock.setTimeout(() => resolve(false), timeout))),
    ]);
    timer?.cancel();
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    return { flushed: flushed && this.#lost === 0, pending: this.pending, lost: this.#lost };
  }

  /** Events not committed (after close: to spill elsewhere rather than lose silently). */
  uncommitted(): BusEvent[] {
    const batches = [...this.#retry, ...this.#writing].sort((a, b) => a.order - b.order);
    return expandPacks([...batches.flatMap((b) => b.events), ...this.#buffer.slice(this.#head)]);
  }

  #buffered(): number {
    return this.#buffer.length - this.#head;
  }

  #canWrite(): boolean {
    return this.#retryTimer === undefined && this.#writing.length < this.#o.maxInFlight;
  }

  #schedule(): void {
    if (!this.#canWrite()) return;
    if (this.#buffered() >= this.#o.batchSize) this.#flushSoon();
    else if (this.#timer === undefined) this.#timer = this.#o.clock.setTimeout(() => this.#flush(), this.#o.flushIntervalMs);
  }

  /** Commits on the next turn: serialization stays out of the publisher's call. */
  #flushSoon(): void {
    if (this.#immediate || !this.#canWrite()) return;
    this.#immediate = true;
    setImmediate(() => {
      this.#immediate = false;
      this.#flush();
    });
  }

  #take(): Batch {
    const n = Math.min(this.#buffered(), this.#o.maxBatchSize);
    const events = this.#buffer.slice(this.#head, this.#head + n);
    const batch: Batch = { order: this.#order++, start: this.#taken, events, weight: weigh(events), startedAt: 0 };
    this.#head += n;
    this.#taken += batch.weight;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  /** Starts commits until `maxInFlight` are in flight: failed batches first, then the buffer. */
  #flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    while (!this.#closed && this.#canWrite()) {
      const batch = this.#retry.shift() ?? (this.#buffered() > 0 ? this.#take() : undefined);
      if (batch === undefined) return;
      batch.startedAt = this.#o.clock.now();
      this.#writing.push(batch);
      let outcome: Promise<{ inserted: number; ignored: number }>;
      try {
        // A log that does not store packs of completed jobs gets the events they stand for.
        outcome = this.#o.log.append(takesPacks(this.#o.log) ? batch.events : expandPacks(batch.events));
      } catch (err) {
        outcome = Promise.reject(err);
      }
      outcome.then(
        (result) => this.#onCommitted(batch, result.ignored),
        (err: unknown) => this.#onFailed(batch, err),
      );
      // A second commit only pays when a full batch is waiting; a partial one waits its turn.
      if (this.#retry.length === 0 && this.#buffered() < this.#o.batchSize) return;
    }
  }

  /** True when every event accepted before index `target` has committed (batches may commit out of order after a failure). */
  #isCommittedThrough(target: number): boolean {
    if (this.#taken < target) return false;
    for (const b of this.#writing) if (b.start < target) return false;
    for (const b of this.#retry) if (b.start < target) return false;
    return true;
  }

  #settle(batch: Batch): void {
    const i = this.#writing.indexOf(batch);
    if (i >= 0) this.#writing.splice(i, 1);
  }

  #onCommitted(batch: Batch, ignored: number): void {
    this.#settle(batch);
    const n = batch.weight;
    this.#committed += n;
    this.#batches++;
    if (n > this.#largest) this.#largest = n;
    this.#consecutive = 0;
    if (ignored > 0) {
      this.#duplicates += ignored;
      this.#report(
        new SluiceError(
          ErrorCode.StoreDuplicateEvent,
          `${ignored} of ${n} events were already in the log (same runId and seq); was a run restarted without resumeSequence()?`,
          { details: { ignored, runId: batch.events[0]?.runId } },
        ),
      );
    }
    if (this.#pressured && this.pending <= this.#o.highWaterMark / 2) {
      this.#pressured = false;
      const waiters = this.#readyWaiters;
      this.#readyWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if (this.#flushWaiters.length > 0) {
      this.#resolveFlushWaiters();
    }
    const buffered = this.#buffered();
    // A backlog, a waiting flush() or a closing sink commits at once; a partial batch waits.
    if (buffered >= this.#o.batchSize || (buffered > 0 && (this.#flushWaiters.length > 0 || this.#closing))) this.#flush();
    else if (buffered > 0) this.#schedule();
  }

  #onFailed(batch: Batch, err: unknown): void {
    this.#settle(batch);
    if (this.#gaveUp !== undefined) {
      this.#drop(batch.weight);
      return;
    }
    this.#retry.push(batch);
    this.#retry.sort((a, b) => a.order - b.order);
    this.#failures++;
    this.#consecutive++;
    this.#lastError = isSluiceError(err)
      ? err
      : new SluiceError(ErrorCode.StoreFailed, `Committing ${batch.weight} events failed: ${(err as Error)?.message ?? String(err)}`, {
          cause: err,
        });
    this.#permanent = isPermanent(this.#lastError) ? this.#permanent + 1 : 0;
    if (this.#permanent >= this.#o.giveUpAfterFailures) {
      this.#giveUp(this.#lastError);
      return;
    }
    this.#report(this.#lastError);
    if (this.#retryTimer !== undefined) return;
    const delay = Math.min(this.#o.retryMaxMs, this.#o.retryInitialMs * 2 ** (this.#consecutive - 1));
    this.#retryTimer = this.#o.clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#flush();
    }, delay);
  }

  /**
   * The log cannot take writes and retrying will not change that: stop writing, count what is
   * held as lost, release producers and `flush()` callers, and say so once.
   */
  #giveUp(error: SluiceError): void {
    this.#gaveUp = error;
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    this.#timer?.cancel();
    this.#timer = undefined;
    const buffered = weigh(this.#buffer, this.#head);
    const held = countEvents(this.#retry) + buffered;
    this.#retry = [];
    this.#buffer = [];
    this.#head = 0;
    // The buffered events count as taken: flush() waiters must not wait for them.
    this.#taken += buffered;
    this.#drop(held);
    const code = error.details.sqliteCode;
    this.#report(
      new SluiceError(
        ErrorCode.StoreFailed,
        `Recording stopped: ${error.message}${typeof code === 'string' ? ` (${code})` : ''}; ${this.#permanent} commits failed in a ` +
          `row and retrying cannot help; ${this.#lost} events not persisted so far, and later ones are counted as lost`,
        { cause: error, details: { ...error.details, lost: this.#lost, gaveUp: true } },
      ),
    );
  }

  /** Counts `n` events as lost and wakes whoever waits on them. */
  #drop(n: number): void {
    this.#lost += n;
    if (this.#pressured && this.pending <= this.#o.highWaterMark / 2) this.#pressured = false;
    if (!this.#pressured) for (const resolve of this.#readyWaiters.splice(0)) resolve();
    if (this.#flushWaiters.length > 0) {
      this.#resolveFlushWaiters();
    }
  }

  /** Resolves the flush() waiters whose events are all committed (or counted lost). */
  #resolveFlushWaiters(): void {
    this.#flushWaiters = this.#flushWaiters.filter((w) => {
      if (!this.#isCommittedThrough(w.target)) return true;
      w.resolve();
      return false;
    });
  }

  #report(error: SluiceError): void {
    reportToListeners(this.#errorListeners, error);
  }
}

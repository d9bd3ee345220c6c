/**
 * Throughput over a sliding window, kept in buckets so `add()` is O(1) and memory is fixed.
 */
import { type Clock, realClock } from '../core/clock.ts';
import { checkInteger, checkNumber, failOption } from '../core/validate.ts';

/** Options of {@link ThroughputCounter}. */
export interface ThroughputCounterOptions {
  /**
   * The sliding window, in ms.
   * @default 1000
   */
  windowMs?: number;
  /**
   * Buckets the window is cut into (the rate's time resolution is `windowMs / buckets`).
   * @default 10
   */
  buckets?: number;
  /**
   * Source of time.
   * @default realClock
   */
  clock?: Clock;
}

/** A snapshot of a {@link ThroughputCounter}. */
export interface ThroughputSnapshot {
  /** Everything ever added. */
  readonly total: number;
  /** Added per second over the window (over the counter's age while younger than the window). */
  readonly perSecond: number;
  readonly windowMs: number;
}

/**
 * Counts things per second over a sliding window.
 *
 * @example
 * ```ts
 * const done = new ThroughputCounter({ windowMs: 5000 });
 * done.add();          // one item
 * done.add(64);        // a batch
 * done.rate();         // items per second over the last 5 s
 * ```
 */
export class ThroughputCounter {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #width: number;
  readonly #counts: Float64Array;
  #bucket: number;
  readonly #startedAt: number;
  #total = 0;

  constructor(options: ThroughputCounterOptions = {}) {
    this.#windowMs = checkNumber('windowMs', options.windowMs ?? 1000, 0, Number.POSITIVE_INFINITY, true);
    const buckets = checkInteger('buckets', options.buckets ?? 10, 1);
    this.#clock = options.clock ?? realClock;
    if (typeof this.#clock.now !== 'function') failOption('clock', 'a Clock', this.#clock);
    this.#width = this.#windowMs / buckets;
    // One slot more than the window holds: the current, partly elapsed bucket.
    this.#counts = new Float64Array(buckets + 1);
    this.#startedAt = this.#clock.now();
    this.#bucket = Math.floor(this.#startedAt / this.#width);
  }

  /** Adds `n` (default 1). */
  add(n = 1): void {
    checkNumber('n', n, 0);
    this.#advance();
    this.#counts[this.#bucket % this.#counts.length]! += n;
    this.#total += n;
  }

  /** Per second over the window. */
  rate(): number {
    this.#advance();
    let sum = 0;
    for (const c of this.#counts) sum += c;
    const now = this.#clock.now();
    const span = Math.min(this.#windowMs + (now - this.#bucket * this.#width), Math.max(now - this.#startedAt, this.#width));
    return (sum * 1000) / span;
  }

  /** Everything ever added. */
  get total(): number {
    return this.#total;
  }

  snapshot(): ThroughputSnapshot {
    return { total: this.#total, perSecond: this.rate(), windowMs: this.#windowMs };
  }

  /** Empties the buckets that slid out of the window since the last call. */
  #advance(): void {
    const current = Math.floor(this.#clock.now() / this.#width);
    const stale = Math.min(current - this.#bucket, this.#counts.length);
    for (let i = 1; i <= stale; i++) this.#counts[(this.#bucket + i) % this.#counts.length] = 0;
    if (current > this.#bucket) this.#bucket = current;
  }
}

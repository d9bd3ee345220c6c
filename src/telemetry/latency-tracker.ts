/**
 * Latency: an exponential moving average for control loops (cheap, smooth) plus percentiles
 * over a window of the latest samples for reports (p99 is what users feel).
 */
import { checkInteger, checkNumber } from '../core/validate.ts';

/** Options of {@link LatencyTracker}. */
export interface LatencyTrackerOptions {
  /**
   * EMA weight of the newest sample, in (0, 1].
   * @default 0.1
   */
  alpha?: number;
  /**
   * Samples kept for percentiles (the latest ones).
   * @default 1024
   */
  window?: number;
}

/** A snapshot of a {@link LatencyTracker}; all times in ms, `undefined` before the first sample. */
export interface LatencySnapshot {
  readonly count: number;
  readonly ema: number | undefined;
  readonly last: number | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly mean: number | undefined;
  /** Over the window of the latest samples (nearest-rank). */
  readonly p50: number | undefined;
  readonly p90: number | undefined;
  readonly p99: number | undefined;
}

/**
 * Tracks a latency series.
 *
 * @example
 * ```ts
 * const latency = new LatencyTracker({ alpha: 0.2 });
 * const t0 = performance.now();
 * await work();
 * latency.record(performance.now() - t0);
 * latency.snapshot().p99;
 * ```
 */
export class LatencyTracker {
  readonly #alpha: number;
  readonly #window: Float64Array;
  #next = 0;
  #count = 0;
  #ema: number | undefined;
  #last: number | undefined;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  #sum = 0;

  constructor(options: LatencyTrackerOptions = {}) {
    this.#alpha = checkNumber('alpha', options.alpha ?? 0.1, 0, 1, true);
    this.#window = new Float64Array(checkInteger('window', options.window ?? 1024, 1));
  }

  /** Records one sample in ms (negative or non-finite samples are refused). */
  record(ms: number): void {
    checkNumber('ms', ms, 0);
    this.#ema = this.#ema === undefined ? ms : this.#ema + this.#alpha * (ms - this.#ema);
    this.#last = ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    this.#sum += ms;
    this.#window[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#window.length;
    this.#count++;
  }

  /** The moving average (undefined before the first sample). */
  get ema(): number | undefined {
    return this.#ema;
  }

  /** Samples recorded. */
  get count(): number {
    return this.#count;
  }

  /** The `q` quantile (0..1) of the window, nearest-rank. */
  percentile(q: number): number | undefined {
    checkNumber('q', q, 0, 1);
    const n = Math.min(this.#count, this.#window.length);
    if (n === 0) return undefined;
    const sorted = this.#window.slice(0, n).sort();
    return sorted[Math.max(0, Math.ceil(q * n) - 1)];
  }

  snapshot(): LatencySnapshot {
    const n = Math.min(this.#count, this.#window.length);
    if (n === 0) {
      return {
        count: 0,
        ema: undefined,
        last: undefined,
        min: undefined,
        max: undefined,
        mean: undefined,
        p50: undefined,
        p90: undefined,
        p99: undefined,
      };
    }
    const sorted = this.#window.slice(0, n).sort();
    const at = (q: number): number => sorted[Math.max(0, Math.ceil(q * n) - 1)]!;
    return {
      count: this.#count,
      ema: this.#ema,
      last: this.#last,
      min: this.#min,
      max: this.#max,
      mean: this.#sum / this.#count,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
    };
  }

  /** Forgets every sample. */
  reset(): void {
    this.#next = 0;
    this.#count = 0;
    this.#ema = undefined;
    this.#last = undefined;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = Number.NEGATIVE_INFINITY;
    this.#sum = 0;
  }
}

/**
 * Latencies of a run kept as numbers only (no job objects): a fixed-size reservoir sample for
 * the percentiles, the exact maximum, and per-interval samples for the timelines.
 */

/** Percentiles of a set of latencies, in milliseconds. */
export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  /** Latencies seen (the percentiles come from a sample of at most the recorder's capacity). */
  readonly count: number;
}

/** One interval of a timeline. */
export interface IntervalStats {
  /** Start of the interval, seconds from the start of the run. */
  readonly t: number;
  /** Jobs that ended in the interval, per second. */
  readonly itemsPerSecond: number;
  readonly latency: LatencyPercentiles;
}

/**
 * The `p`-th percentile (0–100) of sorted values (nearest rank); NaN when empty.
 *
 * @example
 * ```ts
 * percentileOfSorted([1, 2, 3, 4], 50); // 2
 * ```
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** A reservoir of at most `capacity` numbers (Algorithm R), with the exact count and maximum. */
class Reservoir {
  readonly #values: Float64Array;
  #count = 0;
  #max = Number.NEGATIVE_INFINITY;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  add(value: number): void {
    const n = this.#count++;
    if (value > this.#max) this.#max = value;
    if (n < this.#values.length) this.#values[n] = value;
    else {
      const slot = Math.floor(Math.random() * (n + 1));
      if (slot < this.#values.length) this.#values[slot] = value;
    }
  }

  get count(): number {
    return this.#count;
  }

  percentiles(): LatencyPercentiles {
    const sorted = this.#values.slice(0, Math.min(this.#count, this.#values.length)).sort();
    return {
      p50: percentileOfSorted(sorted, 50),
      p95: percentileOfSorted(sorted, 95),
      p99: percentileOfSorted(sorted, 99),
      max: this.#count === 0 ? Number.NaN : this.#max,
      count: this.#count,
    };
  }
}

/**
 * Records post → job-end latencies.
 *
 * @example
 * ```ts
 * const recorder = new LatencyRecorder({ start: performance.now(), intervalMs: 250 });
 * recorder.record(performance.now(), 0.42);
 * recorder.overall(); // { p50: 0.42, p95: 0.42, p99: 0.42, max: 0.42, count: 1 }
 * ```
 */
export class LatencyRecorder {
  readonly #start: number;
  readonly #intervalMs: number;
  readonly #all: Reservoir;
  readonly #intervals: Reservoir[] = [];
  readonly #intervalCapacity: number;

  constructor(options: { start: number; intervalMs: number; capacity?: number; intervalCapacity?: number }) {
    this.#start = options.start;
    this.#intervalMs = options.intervalMs;
    this.#all = new Reservoir(options.capacity ?? 200_000);
    this.#intervalCapacity = options.intervalCapacity ?? 2_048;
  }

  /** Records a job that ended at `endedAt` (performance.now()) after `latencyMs`. */
  record(endedAt: number, latencyMs: number): void {
    this.#all.add(latencyMs);
    const index = Math.max(0, Math.floor((endedAt - this.#start) / this.#intervalMs));
    while (this.#intervals.length <= index) this.#intervals.push(new Reservoir(this.#intervalCapacity));
    (this.#intervals[index] as Reservoir).add(latencyMs);
  }

  /** Jobs recorded. */
  get count(): number {
    return this.#all.count;
  }

  /** Percentiles over the whole run. */
  overall(): LatencyPercentiles {
    return this.#all.percentiles();
  }

  /** One entry per interval from the start, empty intervals included. */
  timeline(): IntervalStats[] {
    return this.#intervals.map((r, i) => ({
      t: (i * this.#intervalMs) / 1000,
      itemsPerSecond: (r.count * 1000) / this.#intervalMs,
      latency: r.percentiles(),
    }));
  }
}

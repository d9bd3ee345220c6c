/**
 * Durations of one kind (a flow's jobs, a routine's activations) in an HDR histogram from
 * Node's `perf_hooks.createHistogram`: recording is one native call, readers get percentiles.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of recorded durations, in ms (0 with no samples). */
export interface DurationSnapshot {
  readonly count: number;
  readonly avgMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Records durations in microseconds (the histogram's unit), reports milliseconds. */
export class DurationStats {
  readonly #histogram: RecordableHistogram = createHistogram();

  /** Records one duration in ms (below 1 µs counts as 1 µs). */
  record(ms: number): void {
    const us = Math.round(ms * 1000);
    this.#histogram.record(us >= 1 ? us : 1);
  }

  /** A plain snapshot. */
  snapshot(): DurationSnapshot {
    const h = this.#histogram;
    if (h.count === 0) return { count: 0, avgMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return { count: h.count, avgMs: h.mean / 1000, p50Ms: h.percentile(50) / 1000, p99Ms: h.percentile(99) / 1000, maxMs: h.max / 1000 };
  }
}

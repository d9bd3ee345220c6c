/**
 * Small statistics for benchmarks: percentiles, median and spread of repeated runs.
 */

/** The `p`-th percentile (0–100) of `values` (nearest rank on a sorted copy). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Median and relative spread ((max - min) / median) of repeated measurements. */
export function summarize(values: readonly number[]): { median: number; min: number; max: number; spread: number; runs: number } {
  const median = percentile(values, 50);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median, min, max, spread: median === 0 ? 0 : (max - min) / median, runs: values.length };
}

/** Lets pending timers, I/O and GC breathe between runs. */
export function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Which runs a prune removes, the same for every log: by age, by count, by size, by id, never
 * the runs it is told to keep. Also the runtime's default retention.
 */

/** A checked prune request (see `PruneOptions`). */
export interface PruneSpec {
  /** ISO time: runs whose last event is older go. */
  readonly olderThan?: string | undefined;
  /** Only this many runs stay, the most recent by last event. */
  readonly keepRuns?: number | undefined;
  /** The oldest runs go until the rest take at most this many bytes (as the registry counts them). */
  readonly maxBytes?: number | undefined;
  /** These runs go. */
  readonly runIds?: readonly string[] | undefined;
  /** These runs stay whatever else is asked (a runtime's own run). */
  readonly except?: readonly string[] | undefined;
}

/** What the runtime keeps when `record.retention` is not given: the last 100 runs, at most 1 GiB. */
export const kDefaultRetention = Object.freeze({ keepRuns: 100, maxBytes: 2 ** 30 });

/**
 * The runs `spec` removes from `runs` (newest first, by last event time).
 *
 * @example
 * ```ts
 * const runs = [
 *   { runId: 'b', lastTime: '2025-02-01T00:00:00Z', bytes: 10 },
 *   { runId: 'a', lastTime: '2025-01-01T00:00:00Z', bytes: 10 },
 * ];
 * selectPruned(runs, { keepRuns: 1 });
 * // Set { 'a' }
 * ```
 */
export function selectPruned(
  runs: ReadonlyArray<{ readonly runId: string; readonly lastTime: string; readonly bytes: number }>,
  spec: PruneSpec,
): Set<string> {
  const except = new Set(spec.except ?? []);
  const doomed = new Set<string>();
  const { olderThan, keepRuns, maxBytes } = spec;
  for (const id of spec.runIds ?? []) if (runs.some((r) => r.runId === id)) doomed.add(id);
  if (olderThan !== undefined) for (const r of runs) if (r.lastTime < olderThan) doomed.add(r.runId);
  if (keepRuns !== undefined) {
    // The runs kept by `except` count among the kept.
    let kept = 0;
    for (const r of runs) {
      if (doomed.has(r.runId) && !except.has(r.runId)) continue;
      if (kept < keepRuns || except.has(r.runId)) kept++;
      else doomed.add(r.runId);
    }
  }
  if (maxBytes !== undefined) {
    let total = 0;
    for (const r of runs) if (!doomed.has(r.runId) || except.has(r.runId)) total += r.bytes;
    for (let i = runs.length - 1; i >= 0 && total > maxBytes; i--) {
      const r = runs[i]!;
      if (doomed.has(r.runId) || except.has(r.runId)) continue;
      doomed.add(r.runId);
      total -= r.bytes;
    }
  }
  for (const id of except) doomed.delete(id);
  return doomed;
}

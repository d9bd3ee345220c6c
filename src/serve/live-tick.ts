/**
 * The live stream's `stats` message, sent to every client each second: per routine its items,
 * queue and activations; per flow its job counts, and the job latency p50/p99 of the last second
 * (from the engine's histograms, the difference since the previous tick); the pool; the stream's
 * counts. Small and bounded by the number of routines: the dashboard's counts and charts cost the
 * engine one read a second, however many clients watch.
 */
import { kObserve, windowPercentiles, type Runtime } from '../runtime/index.ts';
import type { LiveStream } from './live-stream.ts';
import type { RuntimeMetrics } from './runtime-metrics.ts';

/** Ticks closer together than this share one reading (several clients, one second). */
const kShareMs = 900;

/** Builds the `stats` messages of one server. */
export class LiveTicker {
  readonly #runtime: Runtime;
  readonly #metrics: RuntimeMetrics;
  readonly #live: () => LiveStream;
  readonly #previous = new Map<string, Float64Array>();
  #last: { at: number; value: ReturnType<LiveTicker['tick']> } | undefined;

  constructor(runtime: Runtime, metrics: RuntimeMetrics, live: () => LiveStream) {
    this.#runtime = runtime;
    this.#metrics = metrics;
    this.#live = live;
  }

  /** The current `stats` message (shared by the calls within a second). */
  read(): ReturnType<LiveTicker['tick']> {
    const now = performance.now();
    if (this.#last !== undefined && now - this.#last.at < kShareMs) return this.#last.value;
    const value = this.tick();
    this.#last = { at: now, value };
    return value;
  }

  tick() {
    const readings = this.#metrics.read();
    const stats = this.#runtime.stats();
    type RoutineTick = { flow: string; routine: string; items: number; queued: number; activations: number; placement: string };
    const routines = new Map<string, RoutineTick>();
    for (const row of readings.rows.items) {
      const key = `${row.labels.flow}/${row.labels.routine}`;
      const entry = routines.get(key) ?? {
        flow: row.labels.flow as string,
        routine: row.labels.routine as string,
        items: 0,
        queued: 0,
        activations: 0,
        placement: 'inline',
      };
      entry.items += row.value;
      routines.set(key, entry);
    }
    for (const row of readings.rows.queueDepth) {
      const entry = routines.get(`${row.labels.flow}/${row.labels.routine}`);
      if (entry !== undefined) entry.queued += row.value;
    }
    for (const row of readings.histograms.activationDuration) {
      const entry = routines.get(`${row.labels.flow}/${row.labels.routine}`);
      if (entry === undefined) continue;
      entry.activations += row.count;
      if (row.count > 0) entry.placement = row.labels.placement as string;
    }
    const jobs: Record<string, Record<string, number>> = {};
    for (const row of readings.rows.jobs) (jobs[row.labels.flow as string] ??= {})[row.labels.status as string] = row.value;
    const latency: Record<string, { count: number; p50Ms: number; p99Ms: number } | null> = {};
    for (const [flow, durations] of this.#runtime[kObserve]().jobLatency) {
      const counts = durations.counts();
      latency[flow] = windowPercentiles(counts, this.#previous.get(flow)) ?? null;
      this.#previous.set(flow, counts);
    }
    const pool = stats.pool;
    return {
      at: Date.now(),
      status: stats.status,
      activeJobs: stats.activeJobs,
      queuedItems: stats.queuedItems,
      jobs,
      latency,
      routines: [...routines.values()],
      pool:
        pool === undefined ? null : { threads: pool.threads, busy: pool.busy, utilization: pool.utilization, queueDepth: pool.queueDepth },
      stream: this.#live().stats(),
    };
  }
}

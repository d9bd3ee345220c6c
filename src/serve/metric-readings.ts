/**
 * The runtime's metrics, read once per scrape from its live counters and histograms: one table
 * of definitions and one reading function, shared by the Prometheus registry and the
 * OpenTelemetry meter so both export the same numbers. Labels are bounded by the registered flows
 * (flow, routine, slot, placement, status); never a job or worker id.
 */
import { kRuntimeStates } from '../resilience/index.ts';
import { kObserve, type DurationStats, type Runtime } from '../runtime/index.ts';

/** One labelled value. */
export interface MetricRow {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** One labelled histogram: cumulative counts at each bound of {@link kDurationBoundsUs}, count and sum. */
export interface HistogramRow {
  readonly labels: Record<string, string>;
  readonly below: number[];
  readonly count: number;
  readonly sumSeconds: number;
}

/** How a metric is exported. */
export interface MetricDefinition {
  /** Prometheus name. */
  readonly name: string;
  /** OpenTelemetry instrument name. */
  readonly otelName: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labels: readonly string[];
  /** OpenTelemetry unit. */
  readonly unit?: string;
}

/**
 * Histogram bounds in µs: 10 µs × 2^k up to ~10.5 s. Each is an edge of the engine's own
 * log-linear buckets, so the cumulative counts are exact (to the microsecond samples are kept at).
 */
export const kDurationBoundsUs: readonly number[] = Array.from({ length: 21 }, (_, k) => 10 * 2 ** k);

/** The same bounds in seconds, as Prometheus `le` labels and OpenTelemetry bucket boundaries. */
export const kDurationBoundsSeconds: readonly number[] = kDurationBoundsUs.map((us) => us / 1e6);

/** Every metric the runtime exports. */
export const kMetricDefinitions = {
  jobs: {
    name: 'sluice_jobs_total',
    otelName: 'sluice.jobs',
    type: 'counter',
    help: 'Jobs that ended, by flow and status (completed, failed, cancelled).',
    labels: ['flow', 'status'],
  },
  items: {
    name: 'sluice_items_total',
    otelName: 'sluice.items',
    type: 'counter',
    help: 'Items queued into each slot.',
    labels: ['flow', 'routine', 'slot'],
  },
  overflow: {
    name: 'sluice_overflow_total',
    otelName: 'sluice.overflow',
    type: 'counter',
    help: "Items that met a full slot, by the slot's overflow policy (reject: refused, dropOldest: evicted, block: waited).",
    labels: ['flow', 'routine', 'slot', 'policy'],
  },
  jobDuration: {
    name: 'sluice_job_duration_seconds',
    otelName: 'sluice.job.duration',
    type: 'histogram',
    help: 'Job latency from post to end, in seconds.',
    labels: ['flow'],
    unit: 's',
  },
  activationDuration: {
    name: 'sluice_activation_duration_seconds',
    otelName: 'sluice.activation.duration',
    type: 'histogram',
    help: 'Activation durations by routine and where they ran (inline or pool), in seconds.',
    labels: ['flow', 'routine', 'placement'],
    unit: 's',
  },
  queueDepth: {
    name: 'sluice_slot_queue_depth',
    otelName: 'sluice.slot.queue_depth',
    type: 'gauge',
    help: 'Items waiting in each slot, over all workers of the flow.',
    labels: ['flow', 'routine', 'slot'],
  },
  activeJobs: {
    name: 'sluice_active_jobs',
    otelName: 'sluice.active_jobs',
    type: 'gauge',
    help: 'Jobs posted and not yet ended.',
    labels: [],
  },
  workers: {
    name: 'sluice_workers',
    otelName: 'sluice.workers',
    type: 'gauge',
    help: 'Workers by flow and status.',
    labels: ['flow', 'status'],
  },
  poolThreads: {
    name: 'sluice_pool_threads',
    otelName: 'sluice.pool.threads',
    type: 'gauge',
    help: 'Thread pool size: the effective size (batches that may run at once) and the threads alive.',
    labels: ['kind'],
  },
  poolUtilisation: {
    name: 'sluice_pool_utilisation_ratio',
    otelName: 'sluice.pool.utilisation',
    type: 'gauge',
    help: 'Share of the pool busy, 0 to 1 (0 before the pool starts).',
    labels: [],
  },
  poolQueue: {
    name: 'sluice_pool_queue_depth',
    otelName: 'sluice.pool.queue_depth',
    type: 'gauge',
    help: 'Activations waiting for a pool thread.',
    labels: [],
  },
  knobs: {
    name: 'sluice_governor_knob',
    otelName: 'sluice.governor.knob',
    type: 'gauge',
    help: 'Value of each governed knob.',
    labels: ['subsystem', 'knob'],
  },
  admissionRefused: {
    name: 'sluice_admission_refused_total',
    otelName: 'sluice.admission.refused',
    type: 'counter',
    help: "Posts refused by a governed runtime's admission, by reason (shed, throttled, overloaded).",
    labels: ['reason'],
  },
  sinkBacklog: {
    name: 'sluice_sink_backlog',
    otelName: 'sluice.sink.backlog',
    type: 'gauge',
    help: 'Recorded events taken by the durable sink and not yet committed.',
    labels: [],
  },
  state: {
    name: 'sluice_runtime_state',
    otelName: 'sluice.runtime.state',
    type: 'gauge',
    help: 'The runtime state: 1 for the current one, 0 for the others.',
    labels: ['state'],
  },
} as const satisfies Record<string, MetricDefinition>;

/** Names of the metrics. */
export type MetricKey = keyof typeof kMetricDefinitions;

/** One scrape's values. */
export interface MetricReadings {
  readonly rows: Record<Exclude<MetricKey, 'jobDuration' | 'activationDuration'>, MetricRow[]>;
  readonly histograms: Record<'jobDuration' | 'activationDuration', HistogramRow[]>;
}

/** Sums rows by their labels' values. */
class RowSum {
  readonly #rows = new Map<string, { labels: Record<string, string>; value: number }>();

  add(labels: Record<string, string>, value: number): void {
    const key = Object.values(labels).join('\u0000');
    const row = this.#rows.get(key);
    if (row === undefined) this.#rows.set(key, { labels, value });
    else row.value += value;
  }

  rows(): MetricRow[] {
    return [...this.#rows.values()];
  }
}

/** Sums histograms by their labels' values. */
class HistogramSum {
  readonly #rows = new Map<string, { labels: Record<string, string>; below: number[]; count: number; sumSeconds: number }>();

  add(labels: Record<string, string>, stats: DurationStats): void {
    const { count, sumUs } = stats.totals;
    const below = stats.countsBelow(kDurationBoundsUs);
    const key = Object.values(labels).join('\u0000');
    const row = this.#rows.get(key);
    if (row === undefined) {
      this.#rows.set(key, { labels, below, count, sumSeconds: sumUs / 1e6 });
      return;
    }
    for (let i = 0; i < below.length; i++) row.below[i] = (row.below[i] as number) + (below[i] as number);
    row.count += count;
    row.sumSeconds += sumUs / 1e6;
  }

  rows(): HistogramRow[] {
    return [...this.#rows.values()];
  }
}

/** Reads every metric of `runtime` now. */
export function readMetrics(runtime: Runtime): MetricReadings {
  const observation = runtime[kObserve]();
  const jobs = new RowSum();
  const items = new RowSum();
  const overflow = new RowSum();
  const queueDepth = new RowSum();
  const workers = new RowSum();
  const activations = new HistogramSum();
  for (const worker of observation.workers) {
    const flow = worker.flowId;
    const { counters } = worker;
    jobs.add({ flow, status: 'completed' }, counters.jobsProcessed);
    jobs.add({ flow, status: 'failed' }, counters.jobsFailed);
    jobs.add({ flow, status: 'cancelled' }, counters.jobsCancelled);
    workers.add({ flow, status: worker.status }, 1);
    for (const routine of worker.routines) {
      activations.add({ flow, routine: routine.routineId, placement: routine.placement }, routine.durations);
      for (const slot of routine.slots) {
        const labels = { flow, routine: routine.routineId, slot: slot.spec.name };
        const c = slot.counters;
        items.add(labels, c.enqueued);
        overflow.add({ ...labels, policy: slot.spec.overflow }, c.rejected + c.dropped + c.blocked);
        queueDepth.add(labels, slot.length);
      }
    }
  }
  const jobDuration = new HistogramSum();
  for (const [flow, stats] of observation.jobLatency) jobDuration.add({ flow }, stats);

  const stats = runtime.stats();
  const pool = stats.pool;
  const knobs: MetricRow[] = [];
  for (const subsystem of runtime.governor?.subsystems() ?? []) {
    for (const knob of subsystem.knobs) knobs.push({ labels: { subsystem: subsystem.name, knob: knob.name }, value: knob.value });
  }
  const sink = runtime.recorder?.stats();
  return {
    rows: {
      jobs: jobs.rows(),
      items: items.rows(),
      overflow: overflow.rows(),
      queueDepth: queueDepth.rows(),
      activeJobs: [{ labels: {}, value: stats.activeJobs }],
      workers: workers.rows(),
      poolThreads: [
        { labels: { kind: 'size' }, value: pool?.threads ?? 0 },
        { labels: { kind: 'alive' }, value: pool?.threadsAlive ?? 0 },
      ],
      poolUtilisation: [{ labels: {}, value: pool?.utilization ?? 0 }],
      poolQueue: [{ labels: {}, value: pool?.queueDepth ?? 0 }],
      knobs,
      admissionRefused:
        stats.admission === undefined
          ? []
          : [
              { labels: { reason: 'shed' }, value: stats.admission.shed },
              { labels: { reason: 'throttled' }, value: stats.admission.throttled },
              { labels: { reason: 'overloaded' }, value: stats.admission.overloaded },
            ],
      sinkBacklog: [{ labels: {}, value: sink?.pending ?? 0 }],
      state: kRuntimeStates.map((state) => ({ labels: { state }, value: state === stats.status ? 1 : 0 })),
    },
    histograms: { jobDuration: jobDuration.rows(), activationDuration: activations.rows() },
  };
}

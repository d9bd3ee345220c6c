/**
 * The report of `npm run bench`: every scenario's table (each figure beside its baseline from
 * the same run, as a ratio), the charts (throughput vs threads, throughput vs dispatch batch,
 * latency percentiles over time, the governor's decisions on the same time axis) and the
 * headline ratios, rendered by the harness as bench/results/report.html and report.md.
 */
import {
  benchSummaryTable,
  formatNumber,
  sweepCharts,
  timelineCharts,
  type ChartSpec,
  type ReportHeadline,
  type ReportModel,
  type ReportSection,
} from '../src/harness/index.ts';
import type { RampResult } from './governor.ts';
import type { BenchRow } from './inline.ts';
import type { SweepBenchResult } from './sweeps.ts';

/** What the suite measured; absent parts were not run (`--only`). */
export interface SuiteResults {
  inline?: BenchRow[];
  pool?: BenchRow[];
  store?: BenchRow[];
  cli?: BenchRow[];
  recording?: BenchRow[];
  serve?: BenchRow[];
  distributed?: BenchRow[];
  sweeps?: SweepBenchResult;
  governor?: { rows: BenchRow[]; runs: RampResult[]; overloadRuns?: RampResult[]; targetMs: number };
  quick: boolean;
  seconds: number;
  /** Scenarios that failed, with their error. */
  failures: string[];
}

/** The rows of a table of BenchRows. */
export function rowsTable(rows: readonly BenchRow[]) {
  return {
    columns: ['scenario', 'sluice', 'baseline', 'ratio', 'spread', 'note'],
    rows: rows.map((r) => [
      r.scenario,
      `${formatNumber(r.sluice)} ${r.unit}`,
      `${formatNumber(r.baseline)} ${r.unit}`,
      `${formatNumber(r.ratio)}×`,
      `${(100 * r.spread).toFixed(0)}%`,
      r.note,
    ]),
  };
}

function governorCharts(runs: RampResult[], targetMs: number, name = 'governor ramp'): ChartSpec[] {
  const end = Math.max(...runs.flatMap((r) => r.windows.map((w) => w.atMs / 1000 + 0.25)), 1);
  const xDomain = [0, end] as const;
  const governed = runs.find((r) => r.governed);
  const markers = (governed?.decisions ?? []).map((d) => ({
    x: d.atMs / 1000,
    label: `${d.action} ${formatNumber(d.before)}→${formatNumber(d.after)}`,
  }));
  const charts: ChartSpec[] = [
    {
      title: `${name}: p99 latency per 250 ms window`,
      xLabel: 'seconds',
      yLabel: 'p99 job latency, ms',
      xDomain,
      markers,
      series: [
        ...runs.map((r) => ({
          name: r.governed ? 'governed' : 'ungoverned',
          dashed: !r.governed,
          points: r.windows.map((w) => [w.atMs / 1000, w.p99] as const),
        })),
        {
          name: `target ${targetMs} ms`,
          dashed: true,
          points: [
            [0, targetMs],
            [end, targetMs],
          ] as const,
        },
      ],
    },
    {
      title: `${name}: offered load`,
      xLabel: 'seconds',
      yLabel: 'requests/s offered',
      xDomain,
      markers,
      series: runs
        .filter((r) => r.governed)
        .map((r) => ({ name: 'offered', points: r.windows.map((w) => [w.atMs / 1000, w.offeredPerS] as const) })),
    },
  ];
  if (governed !== undefined && governed.decisions.length > 0) {
    const ds = governed.decisions;
    charts.push({
      title: `${name}: governor decisions on the same time axis`,
      xLabel: 'seconds',
      yLabel: 'knob value',
      xDomain,
      markers,
      series: [
        {
          name: ds[0]?.rule ?? 'knob',
          step: true,
          points: [[0, ds[0]?.before ?? 0], ...ds.map((d) => [d.atMs / 1000, d.after] as const), [end, ds[ds.length - 1]?.after ?? 0]],
        },
      ],
    });
  }
  return charts;
}

const find = (rows: readonly BenchRow[] | undefined, pattern: RegExp): BenchRow | undefined => rows?.find((r) => pattern.test(r.scenario));

/** The headline ratios, quoted at the top of the report and in the README. */
export function headlines(s: SuiteResults): ReportHeadline[] {
  const out: ReportHeadline[] = [];
  const add = (label: string, row: BenchRow | undefined, digits = 2): void => {
    if (row !== undefined && Number.isFinite(row.ratio)) out.push({ label, value: `${row.ratio.toFixed(digits)}×` });
  };
  add('inline pipeline vs plain JS (items/s)', find(s.inline, /pipeline.*defaults/));
  add('inline pipeline vs Node stream.pipeline, object mode (items/s)', find(s.inline, /vs Node stream\.pipeline/));
  add('inline pipeline vs RxJS (items/s)', find(s.inline, /vs RxJS/));
  add('stream mode vs Node stream.pipeline (items/s)', find(s.inline, /^stream mode: the whole source/));
  add('fan-out/fan-in vs plain JS (items/s)', find(s.inline, /fan-out/));
  add('cpu flow 2 threads vs 1 thread', find(s.pool, /2 threads vs 1 thread/));
  add('cpu flow 2 threads vs raw Piscina', find(s.pool, /vs raw Piscina 2 threads/));
  add('no-op pool routine, batch 256 vs raw Piscina', find(s.pool, /dispatch batch 256/));
  add('durable log: sink vs raw better-sqlite3 (rows/s)', find(s.store, /sink, thread writer/i));
  add("sluice --help (built) vs node -e '' (wall time)", find(s.cli, /--help \(built/));
  add('pipeline recorded vs not recorded (items/s)', find(s.recording, /recording on vs/));
  add('pipeline served with a dashboard vs no server (items/s)', find(s.serve, /one dashboard connected/));
  add('Redis Streams flow over 2 processes vs raw Streams (items/s)', find(s.distributed, /vs raw Streams \(XADD/));
  add('Redis Streams flow over 2 processes vs BullMQ (items/s)', find(s.distributed, /vs BullMQ/));
  add('governor ramp: p99-over-target windows, governed / ungoverned', find(s.governor?.rows, /windows with p99/));
  return out;
}

/** The whole report. */
export function suiteReport(s: SuiteResults): ReportModel {
  const sections: ReportSection[] = [];
  if (s.failures.length > 0) sections.push({ title: 'Scenarios that failed', text: s.failures });
  if (s.inline !== undefined)
    sections.push({ title: 'Inline engine: pipeline, fan-out/fan-in, latency (vs plain JavaScript)', table: rowsTable(s.inline) });
  if (s.sweeps !== undefined) {
    const { cpu, batch, latency } = s.sweeps;
    sections.push({
      title: 'CPU-bound scaling by threads (flows/cpu.ts, harness)',
      text: ['Baseline: the same kernel in a plain loop on the main thread.', ...cpu.notes],
      table: benchSummaryTable(cpu),
      charts: sweepCharts(cpu),
    });
    sections.push({
      title: 'Dispatch-batch sweep (no-op pool routine, 2 threads, harness)',
      text: ['Baseline: raw Piscina, one task per item, 2 threads.', ...batch.notes],
      table: benchSummaryTable(batch),
      charts: sweepCharts(batch),
    });
    sections.push({
      title: 'Latency at fixed rates (flows/pipeline.ts, open loop, harness)',
      text: ['Post → job end per job; each rate is one open-loop repetition after a warm-up.'],
      table: rowsTable(s.sweeps.rows.filter((r) => /posts\/s/.test(r.scenario))),
      charts: latency.flatMap((r) =>
        r.configurations[0] === undefined
          ? []
          : timelineCharts(`${r.flow} at ${formatNumber(r.settings.rate)}/s`, r.configurations[0]).slice(0, 1),
      ),
    });
  }
  if (s.pool !== undefined) sections.push({ title: 'Pool scenarios (vs raw Piscina)', table: rowsTable(s.pool) });
  if (s.store !== undefined)
    sections.push({ title: 'Durable log throughput and the live path (vs raw better-sqlite3)', table: rowsTable(s.store) });
  if (s.recording !== undefined)
    sections.push({ title: 'What recording costs (pipeline, recorded vs --no-record)', table: rowsTable(s.recording) });
  if (s.serve !== undefined)
    sections.push({ title: 'What serving costs (HTTP server, dashboard, 10 live-stream clients)', table: rowsTable(s.serve) });
  if (s.distributed !== undefined)
    sections.push({ title: 'Across processes: Redis Streams vs raw Streams and BullMQ', table: rowsTable(s.distributed) });
  if (s.cli !== undefined) sections.push({ title: "Command-line start-up (wall time vs node -e '')", table: rowsTable(s.cli) });
  if (s.governor !== undefined) {
    sections.push({
      title: 'Governor ramp (governed vs ungoverned, same process)',
      table: rowsTable(s.governor.rows),
      charts: [
        ...governorCharts(s.governor.runs, s.governor.targetMs),
        ...governorCharts(s.governor.overloadRuns ?? [], s.governor.targetMs, 'overload 5×'),
      ],
    });
  }
  return {
    title: 'sluice: built-in benchmark scenarios',
    subtitle: `${new Date().toISOString()} · node ${process.version} · ${process.platform}/${process.arch} · ${
      s.quick ? 'quick ' + 'run' : 'full run'
    } in ${Math.round(s.seconds)} s · every figure beside a baseline measured in the same process`,
    headlines: headlines(s),
    sections,
  };
}

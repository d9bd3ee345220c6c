/**
 * Turns a {@link BenchResult} into a report: the summary table (one row per configuration),
 * and the charts that apply — throughput by threads, throughput by dispatch batch, latency
 * percentiles and throughput over time, and the governor's decisions on the same time axis.
 */
import type { BenchResult, ConfigurationResult } from './bench-result.ts';
import type { ReportModel, ReportSection, ReportTable } from './report-model.ts';
import type { ChartSpec } from './svg-chart.ts';

/**
 * A number for a table: thousands separators above 100, else 3 significant digits; `—` when absent.
 *
 * @example
 * ```ts
 * formatNumber(12345.6); // '12,346'
 * formatNumber(0.012345); // '0.0123'
 * ```
 */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return String(+n.toPrecision(3));
}

/**
 * The summary table of a result: one row per configuration.
 *
 * @example
 * ```ts
 * console.log(markdownTable(benchSummaryTable(result)));
 * ```
 */
export function benchSummaryTable(result: BenchResult): ReportTable {
  const withBaseline = result.baseline !== null;
  const columns = [
    'configuration',
    'items/s (median)',
    'spread',
    'speed-up',
    ...(withBaseline ? [`× ${result.baseline?.name}`] : []),
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'max ms',
    'peak RSS MB',
    'CPU ms',
    'CPU µs/item',
    'pool util',
    'jobs failed',
  ];
  const rows = result.configurations.map((c) => [
    c.label,
    formatNumber(c.itemsPerSecond.median),
    `${(100 * c.itemsPerSecond.spread).toFixed(0)}%`,
    `${formatNumber(c.speedup)}×`,
    ...(withBaseline ? [`${formatNumber(c.ratioToBaseline)}×`] : []),
    formatNumber(c.latencyMs.p50),
    formatNumber(c.latencyMs.p95),
    formatNumber(c.latencyMs.p99),
    formatNumber(c.latencyMs.max),
    formatNumber(c.peakRssBytes / 2 ** 20),
    formatNumber(c.cpuMs),
    formatNumber(c.cpuUsPerItem),
    c.poolUtilization === null ? '—' : `${(100 * c.poolUtilization).toFixed(0)}%`,
    String(c.jobs.failed),
  ]);
  if (result.baseline !== null) {
    const b = result.baseline.itemsPerSecond;
    rows.push([
      `baseline: ${result.baseline.name}`,
      formatNumber(b.median),
      `${(100 * b.spread).toFixed(0)}%`,
      '',
      '1×',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
    ]);
  }
  return { columns, rows };
}

function distinct(values: ReadonlyArray<number | null>): number[] {
  return [...new Set(values.filter((v): v is number => v !== null))].sort((a, b) => a - b);
}

/**
 * Throughput by threads (a line per batch) and by batch (a line per thread count), where swept.
 *
 * @example
 * ```ts
 * const svgs = sweepCharts(result).map(renderChart);
 * ```
 */
export function sweepCharts(result: BenchResult): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const threads = distinct(result.configurations.map((c) => c.threads));
  const batches = distinct(result.configurations.map((c) => c.batch));
  const baseline = result.baseline;
  const line = (name: string, xs: number[], y: (x: number) => ConfigurationResult | undefined) => ({
    name,
    points: xs.map((x) => [x, y(x)?.itemsPerSecond.median ?? null] as const),
  });
  const base = (xs: number[]) =>
    baseline === null ? [] : [{ name: baseline.name, dashed: true, points: xs.map((x) => [x, baseline.itemsPerSecond.median] as const) }];
  if (threads.length > 1) {
    const lines = (batches.length === 0 ? [null] : batches).map((b) =>
      line(b === null ? 'sluice' : `batch ${b}`, threads, (t) => result.configurations.find((c) => c.threads === t && c.batch === b)),
    );
    charts.push({
      title: `${result.flow}: throughput vs threads`,
      xLabel: 'pool threads',
      yLabel: 'items/s',
      xScale: 'log2',
      series: [...lines, ...base(threads)],
    });
  }
  if (batches.length > 1) {
    const lines = (threads.length === 0 ? [null] : threads).map((t) =>
      line(t === null ? 'sluice' : `${t} thread${t === 1 ? '' : 's'}`, batches, (b) =>
        result.configurations.find((c) => c.batch === b && c.threads === t),
      ),
    );
    charts.push({
      title: `${result.flow}: throughput vs dispatch batch`,
      xLabel: 'dispatch batch',
      yLabel: 'items/s',
      xScale: 'log2',
      series: [...lines, ...base(batches)],
    });
  }
  return charts;
}

/**
 * The timelines of one configuration: latency percentiles over time (with the governor's
 * decisions as markers), throughput over time, and the knobs the governor turned, all on one
 * time axis.
 *
 * @example
 * ```ts
 * const charts = timelineCharts(result.flow, result.configurations[0]);
 * ```
 */
export function timelineCharts(flow: string, c: ConfigurationResult): ChartSpec[] {
  if (c.timeline.length === 0) return [];
  const end =
    Math.max(...c.timeline.map((p) => p.t), ...c.decisions.map((d) => d.t)) +
    (c.timeline.length > 1 ? (c.timeline[1]?.t ?? 0) - (c.timeline[0]?.t ?? 0) : 0.25);
  const xDomain = [0, end] as const;
  const markers = c.decisions.map((d) => ({ x: d.t, label: `${d.action} ${d.knob} ${formatNumber(d.before)}→${formatNumber(d.after)}` }));
  const charts: ChartSpec[] = [
    {
      title: `${flow} (${c.label}): latency percentiles over time`,
      xLabel: 'seconds',
      yLabel: 'post → job end, ms',
      xDomain,
      markers,
      series: [
        { name: 'p50', points: c.timeline.map((p) => [p.t, p.p50] as const) },
        { name: 'p95', points: c.timeline.map((p) => [p.t, p.p95] as const) },
        { name: 'p99', points: c.timeline.map((p) => [p.t, p.p99] as const) },
      ],
    },
    {
      title: `${flow} (${c.label}): throughput over time`,
      xLabel: 'seconds',
      yLabel: 'jobs ended per second',
      xDomain,
      markers,
      series: [{ name: 'items/s', points: c.timeline.map((p) => [p.t, p.itemsPerSecond] as const) }],
    },
  ];
  if (c.decisions.length > 0) {
    const knobs = [...new Set(c.decisions.map((d) => d.knob))];
    charts.push({
      title: `${flow} (${c.label}): governor decisions`,
      xLabel: 'seconds',
      yLabel: 'knob value',
      xDomain,
      markers,
      series: knobs.map((k) => {
        const ds = c.decisions.filter((d) => d.knob === k);
        const points: Array<readonly [number, number]> = [
          [0, (ds[0] as (typeof ds)[number]).before],
          ...ds.map((d) => [d.t, d.after] as const),
          [end, (ds[ds.length - 1] as (typeof ds)[number]).after],
        ];
        return { name: k, step: true, points };
      }),
    });
  }
  return charts;
}

/**
 * A report of one `runBench()` result.
 *
 * @example
 * ```ts
 * const model = benchResultToReport(await runBench({ module: cpu, threads: [1, 2] }));
 * writeFileSync('report.html', renderHtmlReport(model));
 * ```
 */
export function benchResultToReport(result: BenchResult): ReportModel {
  const fastest = [...result.configurations].sort((a, b) => b.itemsPerSecond.median - a.itemsPerSecond.median)[0] as ConfigurationResult;
  const governed = result.configurations.find((c) => c.decisions.length > 0);
  const s = result.settings;
  const load =
    s.mode === 'open'
      ? `open loop at ${formatNumber(s.rate)}${s.rampTo === null ? '' : `→${formatNumber(s.rampTo)}`} posts/s`
      : 'closed loop (as fast as backpressure allows)';
  const size = s.durationMs === null ? `${formatNumber(s.items)} items` : `${formatNumber(s.durationMs / 1000)} s`;
  const headlines = [
    { label: `best items/s (${fastest.label})`, value: formatNumber(fastest.itemsPerSecond.median) },
    ...(result.configurations.length > 1
      ? [{ label: `best speed-up over ${result.configurations[0]?.label}`, value: `${formatNumber(fastest.speedup)}×` }]
      : []),
    ...(fastest.ratioToBaseline === null
      ? []
      : [{ label: `vs ${result.baseline?.name} (same run)`, value: `${formatNumber(fastest.ratioToBaseline)}×` }]),
    { label: `p99 latency, ms (${fastest.label})`, value: formatNumber(fastest.latencyMs.p99) },
  ];
  const sections: ReportSection[] = [
    {
      title: 'Results',
      text: [
        `Flow ${result.flow} (${result.module}), posting into ${result.routine}.${result.slot}: ${load}, ${size} per repetition, ` +
          `${s.repeat} repetition${s.repeat === 1 ? '' : 's'} after a warm-up of ${formatNumber(s.warmup)} items (not counted). ` +
          `Medians; spread = (max − min) / median.`,
        ...result.notes,
      ],
      table: benchSummaryTable(result),
      charts: sweepCharts(result),
    },
    { title: `Over time (${(governed ?? fastest).label}, median repetition)`, charts: timelineCharts(result.flow, governed ?? fastest) },
  ];
  return {
    title: `sluice bench: ${result.flow}`,
    subtitle:
      `${result.startedAt} · node ${result.environment.node} · ${result.environment.platform}/${result.environment.arch} · ` +
      `${result.environment.cpus} CPUs`,
    headlines,
    sections,
  };
}

/**
 * The benchmark harness: run any flow module over a sweep of pool configurations, beside a
 * baseline, and report throughput, latency, memory, CPU and pool utilisation as JSON, Markdown
 * and a self-contained HTML report. `sluice bench` and `npm run bench` are built on it.
 * @module
 */
export { runBench, summarize, benchResultToJson } from './run-bench.ts';
export { resolveBenchOptions, parseDuration } from './bench-options.ts';
export type { BenchOptions, ResolvedBenchOptions, BenchBaseline, BenchProgress } from './bench-options.ts';
export { kBenchResultSchema, validateBenchResult } from './bench-result.ts';
export type {
  BenchResult,
  ConfigurationResult,
  RepetitionResult,
  Summary,
  JobCounts,
  TimelinePoint,
  DecisionPoint,
} from './bench-result.ts';
export { LatencyRecorder, percentileOfSorted } from './latency-recorder.ts';
export type { LatencyPercentiles, IntervalStats } from './latency-recorder.ts';
export { ResourceSampler } from './resource-sampler.ts';
export type { ResourceSample, ResourceReport } from './resource-sampler.ts';
export { renderChart, formatTick } from './svg-chart.ts';
export type { ChartSpec, ChartSeries, ChartMarker } from './svg-chart.ts';
export type { ReportModel, ReportSection, ReportTable, ReportHeadline } from './report-model.ts';
export { renderHtmlReport } from './html-report.ts';
export { renderMarkdownReport, markdownTable } from './markdown-report.ts';
export { benchResultToReport, benchSummaryTable, sweepCharts, timelineCharts, formatNumber } from './bench-report.ts';

/**
 * `sluice/harness`: the benchmark harness behind `sluice bench` — runs a flow module under
 * load, sweeps settings, compares with a baseline, and writes JSON, Markdown and HTML reports.
 * See docs/benchmarking.md.
 *
 * @module sluice/harness
 */
export {
  runBench,
  summarize,
  benchResultToJson,
  resolveBenchOptions,
  parseDuration,
  kBenchResultSchema,
  validateBenchResult,
  renderHtmlReport,
  renderMarkdownReport,
  benchResultToReport,
  benchSummaryTable,
  markdownTable,
} from '../harness/index.ts';
export type {
  BenchOptions,
  ResolvedBenchOptions,
  BenchBaseline,
  BenchProgress,
  BenchResult,
  ConfigurationResult,
  RepetitionResult,
  Summary,
  JobCounts,
  TimelinePoint,
  DecisionPoint,
  LatencyPercentiles,
  IntervalStats,
  ResourceSample,
  ResourceReport,
  ChartSpec,
  ChartSeries,
  ChartMarker,
  ReportModel,
  ReportSection,
  ReportTable,
  ReportHeadline,
} from '../harness/index.ts';

/**
 * `sluice/serve`: an HTTP API over a runtime (flows, workers, jobs, runs, health, governor, pool),
 * Prometheus and OpenTelemetry metrics, and a live dashboard. `runtime.serve()` is the one-call
 * way; this entry has the parts. See docs/serve.md.
 *
 * @module sluice/serve
 */
export {
  createServer,
  createRuntimeMetrics,
  kMetricDefinitions,
  kDurationBoundsSeconds,
  kDurationBoundsUs,
  kLiveTopics,
} from '../serve/index.ts';
export type {
  SluiceServer,
  ServeOptions,
  RuntimeMetrics,
  RuntimeMetricsOptions,
  MetricKey,
  MetricReadings,
  MetricRow,
  HistogramRow,
  MetricDefinition,
  LiveStreamStats,
  OtelMeterProvider,
} from '../serve/index.ts';

/** The HTTP server over a runtime: API, metrics, live stream, dashboard. */
export { createServer } from './server.ts';
export type { SluiceServer } from './server.ts';
export type { ServeOptions } from './serve-options.ts';
export { createRuntimeMetrics } from './runtime-metrics.ts';
export type { RuntimeMetrics, RuntimeMetricsOptions } from './runtime-metrics.ts';
export { kMetricDefinitions, kDurationBoundsSeconds, kDurationBoundsUs } from './metric-readings.ts';
export type { MetricKey, MetricReadings, MetricRow, HistogramRow, MetricDefinition } from './metric-readings.ts';
export { kLiveTopics } from './live-stream.ts';
export type { LiveStreamStats } from './live-stream.ts';
export type { OtelMeterProvider } from '../core/otel.ts';

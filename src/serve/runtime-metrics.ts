/**
 * Exports a runtime's metrics to Prometheus (a prom-client registry) and, when asked, to
 * OpenTelemetry (a Meter from the caller's MeterProvider). Counters and gauges are read from the
 * runtime at scrape time; Prometheus histograms are read from the engine's own histograms, so the
 * engine pays nothing per item for them. OpenTelemetry histograms record each duration through the
 * runtime's duration listener, registered only while a MeterProvider is attached.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { OtelMeter, OtelMeterProvider } from '../core/otel.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';
import { kOnDuration, type Runtime } from '../runtime/index.ts';
import {
  kDurationBoundsSeconds,
  kMetricDefinitions,
  readMetrics,
  type HistogramRow,
  type MetricDefinition,
  type MetricKey,
  type MetricReadings,
} from './metric-readings.ts';

/**
 * Options of {@link createRuntimeMetrics}.
 *
 * @category Serve
 */
export interface RuntimeMetricsOptions {
  /**
   * The prom-client registry to register on. sluice never uses prom-client's global default
   * registry unless you pass it here.
   * @default a new Registry
   */
  registry?: Registry;
  /**
   * An OpenTelemetry MeterProvider: the same metrics are then also recorded through its Meter
   * named `sluice` (counters and gauges as observables, durations as histograms).
   * @default undefined (OpenTelemetry not used)
   */
  meterProvider?: OtelMeterProvider;
}

/**
 * A runtime's metrics, registered on a prom-client registry.
 *
 * @category Serve
 */
export interface RuntimeMetrics extends DisposableHandle {
  /** The registry the metrics are on (`await registry.metrics()` is the Prometheus text). */
  readonly registry: Registry;
  /** Reads every metric now, as plain rows (what both exporters export). */
  read(): MetricReadings;
}

/** A Prometheus histogram whose buckets are read from the engine at scrape time (prom-client's metric interface). */
class ScrapedHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #rows: () => HistogramRow[];

  constructor(definition: MetricDefinition, rows: () => HistogramRow[]) {
    this.name = definition.name;
    this.help = definition.help;
    this.#rows = rows;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<Record<string, unknown>> } {
    const values: Array<Record<string, unknown>> = [];
    for (const row of this.#rows()) {
      kDurationBoundsSeconds.forEach((le, i) => {
        values.push({ metricName: `${this.name}_bucket`, labels: { ...row.labels, le }, value: row.below[i] });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...row.labels, le: '+Inf' }, value: row.count });
      values.push({ metricName: `${this.name}_sum`, labels: row.labels, value: row.sumSeconds });
      values.push({ metricName: `${this.name}_count`, labels: row.labels, value: row.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    // Nothing to reset: the values live in the engine.
  }
}

/**
 * Registers `runtime`'s metrics on a prom-client registry (and an OpenTelemetry Meter when a
 * MeterProvider is given). `dispose()` removes them again.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { createRuntimeMetrics } from 'sluice/serve';
 *
 * const metrics = createRuntimeMetrics(runtime, { registry: new Registry() });
 * console.log(await metrics.registry.metrics()); // sluice_jobs_total{flow="pipeline",status="completed"} 42 …
 * metrics.dispose();
 * ```
 * @category Serve
 */
export function createRuntimeMetrics(runtime: Runtime, options: RuntimeMetricsOptions = {}): RuntimeMetrics {
  const registry = options.registry ?? new Registry();
  if (!(registry instanceof Registry) && typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function') {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`registry\` to be a prom-client Registry, got ${describeValue(registry)}`);
  }
  // One reading serves every metric of one scrape (prom-client collects them concurrently).
  let cached: MetricReadings | undefined;
  const read = (): MetricReadings => {
    if (cached === undefined) {
      cached = readMetrics(runtime);
      setImmediate(() => {
        cached = undefined;
      });
    }
    return cached;
  };
  const names: string[] = [];
  for (const [key, definition] of Object.entries(kMetricDefinitions) as Array<[MetricKey, MetricDefinition]>) {
    names.push(definition.name);
    if (key === 'jobDuration' || key === 'activationDuration') {
      registry.registerMetric(new ScrapedHistogram(definition, () => read().histograms[key]) as never);
      continue;
    }
    const rows = () => read().rows[key];
    const common = { name: definition.name, help: definition.help, labelNames: [...definition.labels], registers: [registry] };
    if (definition.type === 'counter') {
      new Counter({
        ...common,
        collect() {
          this.reset();
          for (const row of rows()) this.inc(row.labels, row.value);
        },
      });
    } else {
      new Gauge({
        ...common,
        collect() {
          this.reset();
          for (const row of rows()) this.set(row.labels, row.value);
        },
      });
    }
  }
  const otel = options.meterProvider === undefined ? undefined : attachMeter(runtime, options.meterProvider.getMeter('sluice'), read);
  const handle = createDisposable(() => {
    otel?.dispose();
    for (const name of names) registry.removeSingleMetric(name);
  });
  return { registry, read, dispose: () => handle.dispose(), [Symbol.dispose]: () => handle.dispose() };
}

/** Records the same metrics through an OpenTelemetry Meter. */
function attachMeter(runtime: Runtime, meter: OtelMeter, read: () => MetricReadings): DisposableHandle {
  const observables = new Map<MetricKey, object>();
  for (const [key, definition] of Object.entries(kMetricDefinitions) as Array<[MetricKey, MetricDefinition]>) {
    if (definition.type === 'histogram') continue;
    const options = { description: definition.help, ...(definition.unit === undefined ? {} : { unit: definition.unit }) };
    observables.set(
      key,
      definition.type === 'counter'
        ? meter.createObservableCounter(definition.otelName, options)
        : meter.createObservableGauge(definition.otelName, options),
    );
  }
  const callback = (result: { observe: (o: never, value: number, labels: Record<string, string>) => void }): void => {
    const readings = read();
    for (const [key, observable] of observables) {
      for (const row of readings.rows[key as keyof MetricReadings['rows']]) result.observe(observable as never, row.value, row.labels);
    }
  };
  meter.addBatchObservableCallback(callback as never, [...observables.values()] as never[]);
  const histogramOptions = (definition: MetricDefinition) => ({
    description: definition.help,
    unit: 's',
    advice: { explicitBucketBoundaries: [...kDurationBoundsSeconds] },
  });
  const jobs = meter.createHistogram(kMetricDefinitions.jobDuration.otelName, histogramOptions(kMetricDefinitions.jobDuration));
  const activations = meter.createHistogram(
    kMetricDefinitions.activationDuration.otelName,
    histogramOptions(kMetricDefinitions.activationDuration),
  );
  const listening = runtime[kOnDuration]((kind, labels, ms) => (kind === 'job' ? jobs : activations).record(ms / 1000, labels));
  return createDisposable(() => {
    listening.dispose();
    meter.removeBatchObservableCallback(callback as never, [...observables.values()] as never[]);
  });
}

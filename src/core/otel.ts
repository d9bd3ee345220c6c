/**
 * What sluice uses of OpenTelemetry, as structural types: any `@opentelemetry/api`
 * TracerProvider or MeterProvider fits them, and sluice's own types do not depend on the package
 * (an optional peer: installed by those who pass providers).
 */

/**
 * A span as sluice uses it (an OpenTelemetry `Span`).
 *
 * @inline
 */
export interface OtelSpan {
  spanContext(): { traceId: string; spanId: string; traceFlags: number };
  setAttribute(key: string, value: string | number | boolean): unknown;
  /** `code`: 1 OK, 2 ERROR (OpenTelemetry's `SpanStatusCode`). */
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/**
 * The part of an OpenTelemetry `TracerProvider` sluice uses: pass one from your SDK.
 *
 * @inline
 */
export interface OtelTracerProvider {
  getTracer(
    name: string,
    version?: string,
  ): { startSpan(name: string, options?: { attributes?: Record<string, string | number | boolean>; kind?: number }): OtelSpan };
}

/** The W3C `traceparent` of a span: `00-<trace id>-<span id>-<flags>`. */
export function traceparentOf(span: OtelSpan): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * An instrument option bag (OpenTelemetry `MetricOptions`).
 *
 * @inline
 */
interface OtelMetricOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

/**
 * The part of an OpenTelemetry `Meter` sluice uses.
 *
 * @inline
 */
export interface OtelMeter {
  createObservableCounter(name: string, options?: OtelMetricOptions): object;
  createObservableGauge(name: string, options?: OtelMetricOptions): object;
  createHistogram(name: string, options?: OtelMetricOptions): { record(value: number, attributes?: Record<string, string>): void };
  addBatchObservableCallback(
    callback: (result: { observe(observable: never, value: number, attributes?: Record<string, string>): void }) => void,
    observables: never[],
  ): void;
  removeBatchObservableCallback(
    callback: (result: { observe(observable: never, value: number, attributes?: Record<string, string>): void }) => void,
    observables: never[],
  ): void;
}

/**
 * The part of an OpenTelemetry `MeterProvider` sluice uses: pass one from your SDK.
 *
 * @category Serve
 */
export interface OtelMeterProvider {
  getMeter(name: string, version?: string): OtelMeter;
}

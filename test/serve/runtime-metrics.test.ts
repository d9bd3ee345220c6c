/**
 * The runtime's metrics as Prometheus text (prom-client, on the caller's registry, never the
 * global one) and through an OpenTelemetry Meter (the SDK's MeterProvider with a reader the test
 * collects from): the same counts as the engine's own counters after a real run.
 */
import { MeterProvider, MetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import pipelineModule from '../../flows/pipeline.ts';
import { Flow, Routine, Runtime, type SlotItems } from '../../src/index.ts';
import { createRuntimeMetrics, kDurationBoundsSeconds } from '../../src/entry/serve.ts';
import { kObserve } from '../../src/runtime/index.ts';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** The value lines of `name` in Prometheus text, by their label text. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match !== null) out.set(match[1] ?? '', Number(match[2]));
  }
  return out;
}

/** Keeps every item it gets; its slot holds 5 and refuses more, so overflows are counted. */
class Narrow extends Routine {
  constructor() {
    super();
    this.addSlot('in', { maxQueueLength: 5 });
  }
  logic(_items: SlotItems): void {}
}

describe('runtime metrics', () => {
  it('export jobs, items, overflows, durations and gauges that match the engine, on the given registry only', async () => {
    const runtime = new Runtime({ heartbeatMs: 0 });
    runtime.register(pipelineModule);
    runtime.register(new Flow('narrow').addRoutine(new Narrow(), 'narrow'));
    const registry = new Registry();
    const globalBefore = await globalRegistry.metrics();
    const metrics = createRuntimeMetrics(runtime, { registry });
    try {
      const items = Array.from({ length: 500 }, (_, i) => ({ sensor: `s${i % 3}`, celsius: i }));
      await runtime.postAll('pipeline', 'source', 'in', items);
      runtime.post('pipeline', 'source', 'in', { celsius: 'bad' });
      expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
      // Ten synchronous posts into a slot of five: the sixth onwards are refused.
      let refused = 0;
      for (let i = 0; i < 10; i++) {
        try {
          runtime.post('narrow', 'narrow', 'in', i);
        } catch {
          refused++;
        }
      }
      expect(refused).toBe(5);
      expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);

      const text = await registry.metrics();
      expect(await globalRegistry.metrics()).toBe(globalBefore);
      const jobs = samples(text, 'sluice_jobs_total');
      expect(jobs.get('{flow="pipeline",status="completed"}')).toBe(500);
      expect(jobs.get('{flow="pipeline",status="failed"}')).toBe(1);
      expect(jobs.get('{flow="narrow",status="completed"}')).toBe(5);
      const slotItems = samples(text, 'sluice_items_total');
      expect(slotItems.get('{flow="pipeline",routine="source",slot="in"}')).toBe(501);
      expect(slotItems.get('{flow="pipeline",routine="sink",slot="in"}')).toBe(500);
      expect(samples(text, 'sluice_overflow_total').get('{flow="narrow",routine="narrow",slot="in",policy="reject"}')).toBe(5);
      expect(samples(text, 'sluice_slot_queue_depth').get('{flow="pipeline",routine="source",slot="in"}')).toBe(0);
      expect(samples(text, 'sluice_runtime_state').get('{state="running"}')).toBe(1);
      expect(samples(text, 'sluice_active_jobs').get('')).toBe(0);

      // The job histogram: cumulative, ending in +Inf = count = jobs ended; a sum in seconds.
      const buckets = samples(text, 'sluice_job_duration_seconds_bucket');
      const pipelineBuckets = [...buckets].filter(([labels]) => labels.startsWith('{flow="pipeline"'));
      expect(pipelineBuckets).toHaveLength(kDurationBoundsSeconds.length + 1);
      const counts = pipelineBuckets.map(([, value]) => value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(buckets.get('{flow="pipeline",le="+Inf"}')).toBe(501);
      expect(samples(text, 'sluice_job_duration_seconds_count').get('{flow="pipeline"}')).toBe(501);
      const sum = samples(text, 'sluice_job_duration_seconds_sum').get('{flow="pipeline"}') as number;
      expect(sum).toBeGreaterThan(0);
      expect(sum).toBeLessThan(60);
      const activations = samples(text, 'sluice_activation_duration_seconds_count');
      expect(activations.get('{flow="pipeline",routine="sink",placement="inline"}')).toBe(
        runtime.stats().activations.find((a) => a.routineId === 'sink')?.count,
      );
      // Every label set is bounded by the flows: no job or worker ids anywhere.
      expect(text).not.toMatch(/job-|-w1/);
      expect(text).toMatch(/# TYPE sluice_job_duration_seconds histogram/);
      expect(text).toMatch(/# TYPE sluice_jobs_total counter/);
      expect(text).toMatch(/# TYPE sluice_slot_queue_depth gauge/);
    } finally {
      metrics.dispose();
      await runtime.close();
    }
    expect(await registry.metrics()).not.toContain('sluice_');
  });

  it('refuse something that is not a registry', () => {
    const runtime = new Runtime();
    expect(() => createRuntimeMetrics(runtime, { registry: {} as never })).toThrow(/prom-client Registry/);
  });

  it('record the same numbers through an OpenTelemetry MeterProvider, histograms included', async () => {
    const runtime = new Runtime({ heartbeatMs: 0 });
    runtime.register(pipelineModule);
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const metrics = createRuntimeMetrics(runtime, { meterProvider: provider });
    try {
      const items = Array.from({ length: 200 }, (_, i) => ({ sensor: 'a', celsius: i }));
      await runtime.postAll('pipeline', 'source', 'in', items);
      expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      const all: MetricData[] = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const byName = new Map(all.map((m) => [m.descriptor.name, m]));
      const jobs = byName.get('sluice.jobs');
      expect(jobs?.dataPoints.find((p) => p.attributes.status === 'completed')?.value).toBe(200);
      const items2 = byName.get('sluice.items');
      expect(items2?.dataPoints.find((p) => p.attributes.routine === 'sink')?.value).toBe(200);
      const duration = byName.get('sluice.job.duration') as HistogramMetricData | undefined;
      expect(duration?.descriptor.unit).toBe('s');
      const point = duration?.dataPoints.find((p) => p.attributes.flow === 'pipeline');
      expect(point?.value.count).toBe(200);
      expect(point?.value.buckets.boundaries).toEqual([...kDurationBoundsSeconds]);
      const activation = byName.get('sluice.activation.duration') as HistogramMetricData | undefined;
      expect(activation?.dataPoints.find((p) => p.attributes.routine === 'source')?.value.count).toBeGreaterThan(0);
      // Disposed, durations no longer reach the meter: the engine's histograms lose their observer.
      metrics.dispose();
      const observation = runtime[kObserve]();
      expect(observation.jobLatency.get('pipeline')?.observer).toBeUndefined();
      expect(observation.workers[0]?.routines.every((r) => r.durations.observer === undefined)).toBe(true);
    } finally {
      metrics.dispose();
      await provider.shutdown();
      await runtime.close();
    }
  });
});

/**
 * Jobs traced through a real OpenTelemetry SDK (BasicTracerProvider, in-memory exporter): one span
 * per job, ended with its status; its W3C context is `job.traceparent`, and it crosses into pool
 * threads, where logic reads it from `currentJob()`.
 */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.ts';
import { runProbe, range } from '../pool/helpers.ts';
import { ErrorCode, expectCode } from '../fixtures/helpers.ts';

describe('job tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  afterEach(() => exporter.reset());

  it('gives each job a span whose context crosses into pool threads, ended with the job status', async () => {
    const run = await runProbe({ mode: 'throw', placement: 'pool', poison: [3] }, range(6), { tracerProvider: provider });
    expect(run.drained).toBe(true);
    expect(run.byStatus).toEqual({ completed: 5, failed: 1 });
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(6);
    for (const job of run.jobs) {
      expect(job.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const span = spans.find((s) => s.attributes['sluice.job_id'] === job.jobId);
      expect(span?.name).toBe(`sluice.job ${job.flowId}`);
      const { traceId, spanId } = span?.spanContext() ?? { traceId: '', spanId: '' };
      expect(job.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      expect(span?.attributes['sluice.status']).toBe(job.status);
      expect(span?.status.code).toBe(job.status === 'completed' ? 1 : 2);
      expect(job.toJSON().traceparent).toBe(job.traceparent);
    }
    const failed = spans.find((s) => s.attributes['sluice.status'] === 'failed');
    expect(failed?.status.message).toContain('SLUICE_ERR_');
    // The pool thread saw each job's trace context.
    const seen = run.got as Array<{ value: number; isMainThread: boolean; traceparent: string; jobId: string }>;
    expect(seen).toHaveLength(5);
    for (const item of seen) {
      expect(item.isMainThread).toBe(false);
      expect(item.traceparent).toBe(run.jobs.find((j) => j.jobId === item.jobId)?.traceparent);
    }
  });

  it('costs nothing and shows nothing without a tracer provider', async () => {
    const run = await runProbe({ mode: 'echo', placement: 'inline' }, range(3));
    expect(run.jobs.every((job) => job.traceparent === undefined && !('traceparent' in job.toJSON()))).toBe(true);
    expect((run.got as Array<{ traceparent?: string }>).every((item) => item.traceparent === undefined)).toBe(true);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('refuses something that is not a tracer provider, naming the option', () => {
    const error = expectCode(() => new Runtime({ tracerProvider: {} as never }), ErrorCode.InvalidArgument);
    expect(error.message).toContain('tracerProvider');
  });
});

/**
 * A span per job through the caller's OpenTelemetry TracerProvider (`RuntimeOptions.tracerProvider`):
 * started at post as a child of the context active there, its W3C context kept as
 * `job.traceparent` (carried into pool threads with the job), ended with the job's status.
 */
import { type JobContext, kSpan } from '../core/job-context.ts';
import { traceparentOf, type OtelTracerProvider } from '../core/otel.ts';
import { packageVersion } from '../core/package-version.ts';

export class JobTracing {
  readonly #tracer: ReturnType<OtelTracerProvider['getTracer']>;

  constructor(provider: OtelTracerProvider) {
    this.#tracer = provider.getTracer('sluice', packageVersion());
  }

  /** Starts `job`'s span. */
  started(job: JobContext): void {
    const span = this.#tracer.startSpan(`sluice.job ${job.flowId}`, {
      attributes: { 'sluice.flow': job.flowId, 'sluice.job_id': job.jobId, 'sluice.worker': job.workerId },
    });
    job[kSpan] = span;
    job.traceparent = traceparentOf(span);
  }

  /** Ends `job`'s span with its status (ERROR with the error's code and message unless completed). */
  ended(job: JobContext): void {
    const span = job[kSpan];
    if (span === undefined) return;
    job[kSpan] = undefined;
    span.setAttribute('sluice.status', job.status);
    if (job.status === 'completed') span.setStatus({ code: 1 });
    else span.setStatus({ code: 2, message: job.error === undefined ? job.status : `${job.error.code}: ${job.error.message}` });
    span.end();
  }
}

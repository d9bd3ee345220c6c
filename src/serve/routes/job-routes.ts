/** Jobs: post, list, get, wait for, cancel. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, SluiceError } from '../../core/errors.ts';
import type { JobContext, JobStatus } from '../../core/index.ts';
import { kErrorSchema } from '../http-errors.ts';
import { kSchemas, type ServeContext } from '../serve-context.ts';

const kJobParams = { type: 'object', required: ['jobId'], properties: { jobId: kSchemas.id } } as const;
const kStatuses: readonly JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
const kErrors = { 400: kErrorSchema, 404: kErrorSchema, 409: kErrorSchema, 429: kErrorSchema };

interface PostBody {
  flowId: string;
  routineId: string;
  slot: string;
  data: unknown;
  workerId?: string;
  jobId?: string;
  metadata?: Record<string, unknown>;
}

function jobOf(context: ServeContext, jobId: string): JobContext {
  const job = context.runtime.getJob(jobId);
  if (job === undefined) {
    throw new SluiceError(
      ErrorCode.JobNotFound,
      `No job "${jobId}" in runtime "${context.runtime.name}" (finished jobs are kept up to jobHistoryLimit)`,
      {
        details: { jobId },
      },
    );
  }
  return job;
}

/** Registers the job routes. */
export function jobRoutes(app: FastifyInstance, context: ServeContext): void {
  const { runtime } = context;
  app.post<{ Body: PostBody }>(
    '/api/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: "Posts one item into a routine's slot: a new job (202; wait for it at /jobs/:id/wait)",
        body: {
          type: 'object',
          required: ['flowId', 'routineId', 'slot', 'data'],
          additionalProperties: false,
          properties: {
            flowId: kSchemas.id,
            routineId: kSchemas.id,
            slot: kSchemas.id,
            data: {},
            workerId: kSchemas.id,
            jobId: kSchemas.id,
            metadata: kSchemas.anyObject,
          },
        },
        response: kErrors,
      },
    },
    async (request, reply) => {
      const { flowId, routineId, slot, data, ...options } = request.body;
      const [, job] = runtime.post(flowId, routineId, slot, data, options);
      return reply.code(202).send(job.toJSON());
    },
  );

  app.get<{ Querystring: { flow?: string; status?: JobStatus; worker?: string; limit?: number } }>(
    '/api/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Jobs the runtime holds (unfinished, and the last finished ones), newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            flow: kSchemas.id,
            status: { type: 'string', enum: [...kStatuses] },
            worker: kSchemas.id,
            limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
          },
        },
        response: kErrors,
      },
    },
    async (request) => {
      const { flow, status, worker, limit } = request.query;
      const jobs = runtime.listJobs({
        ...(flow === undefined ? {} : { flowId: flow }),
        ...(status === undefined ? {} : { status }),
        ...(worker === undefined ? {} : { workerId: worker }),
      });
      return {
        jobs: jobs
          .slice(-(limit ?? 100))
          .reverse()
          .map((job) => job.toJSON()),
        total: jobs.length,
      };
    },
  );

  app.get<{ Params: { jobId: string } }>(
    '/api/v1/jobs/:jobId',
    { schema: { tags: ['jobs'], summary: 'One job: status, data, trace and error', params: kJobParams, response: kErrors } },
    async (request) => jobOf(context, request.params.jobId).toJSON(),
  );

  app.get<{ Params: { jobId: string }; Querystring: { timeout?: number } }>(
    '/api/v1/jobs/:jobId/wait',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Waits up to `timeout` ms for a job to end; `finished` says whether it did',
        params: kJobParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { timeout: { type: 'integer', minimum: 0, maximum: 600_000, default: 30_000 } },
        },
        response: kErrors,
      },
    },
    async (request) => {
      const job = jobOf(context, request.params.jobId);
      const timeout = request.query.timeout ?? 30_000;
      if (!job.isTerminal) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([job.done(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
        clearTimeout(timer);
      }
      return { finished: job.isTerminal, job: job.toJSON() };
    },
  );

  app.post<{ Params: { jobId: string }; Body: { reason?: string } | undefined }>(
    '/api/v1/jobs/:jobId/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancels a job (its queued items go, its running activations see their signal abort)',
        params: kJobParams,
        body: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 500 } } },
        response: kErrors,
      },
    },
    async (request) => {
      const job = jobOf(context, request.params.jobId);
      job.cancel(request.body?.reason ?? 'cancelled through sluice serve');
      return job.toJSON();
    },
  );
}

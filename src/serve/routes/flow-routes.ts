/** Flows and workers: list, describe, validate; exec, inspect and stop workers. */
import type { FastifyInstance } from 'fastify';
import { describeFlow } from '../../core/index.ts';
import type { WorkerState } from '../../core/index.ts';
import { ErrorCode, SluiceError } from '../../core/errors.ts';
import { kErrorSchema } from '../http-errors.ts';
import { kSchemas, type ServeContext } from '../serve-context.ts';

const kFlowParams = { type: 'object', required: ['flowId'], properties: { flowId: kSchemas.id } } as const;
const kWorkerParams = { type: 'object', required: ['workerId'], properties: { workerId: kSchemas.id } } as const;
const kErrors = { 400: kErrorSchema, 404: kErrorSchema, 409: kErrorSchema };

/** A worker without its activation history (`GET /workers/:id` has it all). */
function workerSummary(worker: WorkerState) {
  const { executionHistory, routineStates, ...rest } = worker.toJSON();
  return { ...rest, routines: Object.keys(routineStates).length, history: executionHistory.length };
}

function workerOf(context: ServeContext, workerId: string): WorkerState {
  const worker = context.runtime.getWorker(workerId);
  if (worker === undefined) {
    throw new SluiceError(ErrorCode.WorkerNotFound, `No worker "${workerId}" in runtime "${context.runtime.name}"`, {
      details: { workerId },
    });
  }
  return worker;
}

/** Registers the flow and worker routes. */
export function flowRoutes(app: FastifyInstance, context: ServeContext): void {
  const { runtime } = context;
  app.get('/api/v1/flows', { schema: { tags: ['flows'], summary: 'Registered flows' } }, async () => ({
    flows: runtime.listFlows().map((id) => {
      const flow = runtime.getFlow(id);
      return {
        id,
        routines: flow.routines.length,
        connections: flow.connections.length,
        workers: runtime.listWorkers().filter((w) => w.flowId === id).length,
      };
    }),
  }));

  app.post<{ Body: { text?: string; document?: Record<string, unknown> } }>(
    '/api/v1/flows',
    {
      schema: {
        tags: ['flows'],
        summary:
          'Registers a flow from a flow file (YAML or JSON text, or the document as JSON) that names registered classes only: ' +
          'a flow arriving over the network never names code to import',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { text: { type: 'string', maxLength: 1_000_000 }, document: { type: 'object', additionalProperties: true } },
        },
        response: kErrors,
      },
    },
    async (request, reply) => {
      const { text, document } = request.body;
      if ((text === undefined) === (document === undefined)) {
        throw new SluiceError(
          ErrorCode.BadRequest,
          'Send the flow file as "text" (YAML or JSON) or as "document" (an object), one of them',
        );
      }
      const { parseFlowFile } = await import('../../flowfile/index.ts');
      const flow = parseFlowFile(text ?? JSON.stringify(document), { file: '<request body>' });
      runtime.register(flow);
      return reply.code(201).send(describeFlow(flow));
    },
  );

  app.get<{ Params: { flowId: string }; Querystring: { format?: 'yaml' | 'json' } }>(
    '/api/v1/flows/:flowId/export',
    {
      schema: {
        tags: ['flows'],
        summary: 'The flow as a flow file (YAML by default, or JSON), which loads back into the same flow',
        params: kFlowParams,
        querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['yaml', 'json'] } } },
        response: kErrors,
      },
    },
    async (request, reply) => {
      const { exportFlow } = await import('../../flowfile/index.ts');
      const format = request.query.format ?? 'yaml';
      const text = exportFlow(runtime.getFlow(request.params.flowId), { format });
      return reply.type(format === 'json' ? 'application/json; charset=utf-8' : 'application/yaml; charset=utf-8').send(text);
    },
  );

  app.get<{ Params: { flowId: string } }>(
    '/api/v1/flows/:flowId',
    {
      schema: { tags: ['flows'], summary: 'One flow: its graph, policies, placement and warnings', params: kFlowParams, response: kErrors },
    },
    async (request) => {
      const flow = runtime.getFlow(request.params.flowId);
      return {
        ...describeFlow(flow),
        workers: runtime
          .listWorkers()
          .filter((w) => w.flowId === flow.id)
          .map((w) => w.workerId),
      };
    },
  );

  app.post<{ Params: { flowId: string } }>(
    '/api/v1/flows/:flowId/validate',
    {
      schema: {
        tags: ['flows'],
        summary: "The flow graph's warnings: unconnected slots (entry points say so too) and events, cycles",
        params: kFlowParams,
      },
    },
    async (request) => {
      const warnings = runtime.getFlow(request.params.flowId).validate();
      return { flowId: request.params.flowId, warnings };
    },
  );

  app.get<{ Querystring: { flow?: string } }>(
    '/api/v1/workers',
    {
      schema: {
        tags: ['workers'],
        summary: 'Workers, optionally of one flow',
        querystring: { type: 'object', properties: { flow: kSchemas.id } },
      },
    },
    async (request) => ({
      workers: runtime
        .listWorkers()
        .filter((w) => request.query.flow === undefined || w.flowId === request.query.flow)
        .map(workerSummary),
    }),
  );

  app.post<{ Body: { flowId: string; workerId?: string } }>(
    '/api/v1/workers',
    {
      schema: {
        tags: ['workers'],
        summary: 'Starts a worker of a flow (exec)',
        body: {
          type: 'object',
          required: ['flowId'],
          additionalProperties: false,
          properties: { flowId: kSchemas.id, workerId: kSchemas.id },
        },
        response: kErrors,
      },
    },
    async (request, reply) => {
      const { flowId, workerId } = request.body;
      const worker = runtime.exec(flowId, workerId === undefined ? {} : { workerId });
      return reply.code(201).send(workerSummary(worker));
    },
  );

  app.get<{ Params: { workerId: string } }>(
    '/api/v1/workers/:workerId',
    {
      schema: {
        tags: ['workers'],
        summary: 'One worker: counters, queues, routine states, history',
        params: kWorkerParams,
        response: kErrors,
      },
    },
    async (request) => workerOf(context, request.params.workerId).toJSON(),
  );

  app.get<{ Params: { workerId: string } }>(
    '/api/v1/workers/:workerId/routines',
    { schema: { tags: ['workers'], summary: "Each routine's state and queues in one worker", params: kWorkerParams, response: kErrors } },
    async (request) => {
      const snapshot = workerOf(context, request.params.workerId).toJSON();
      const flow = runtime.getFlow(snapshot.flowId);
      return {
        workerId: snapshot.workerId,
        routines: flow.routines.map((entry) => ({
          routineId: entry.id,
          state: snapshot.routineStates[entry.id] ?? {},
          queues: snapshot.queues.filter((q) => q.routineId === entry.id),
        })),
      };
    },
  );

  app.post<{ Params: { workerId: string }; Body: { timeout?: number } | undefined }>(
    '/api/v1/workers/:workerId/stop',
    {
      schema: {
        tags: ['workers'],
        summary: 'Stops a worker: waits up to `timeout` ms for its jobs, then cancels the rest',
        params: kWorkerParams,
        body: { type: 'object', additionalProperties: false, properties: { timeout: { type: 'integer', minimum: 0, maximum: 600_000 } } },
        response: kErrors,
      },
    },
    async (request) => {
      const worker = workerOf(context, request.params.workerId);
      const cancelled = await runtime.stopWorker(worker.workerId, { timeout: request.body?.timeout ?? 5000 });
      return { workerId: worker.workerId, status: worker.status, cancelled };
    },
  );
}

/** Health, stats, the governor, the pool, `/metrics` and the OpenAPI description. */
import type { FastifyInstance } from 'fastify';
import { kErrorSchema } from '../http-errors.ts';
import type { ServeContext } from '../serve-context.ts';

/** Registers the system routes. */
export function systemRoutes(app: FastifyInstance, context: ServeContext): void {
  const { runtime } = context;
  app.get(
    '/api/v1/health/live',
    { schema: { tags: ['health'], summary: 'Liveness: the process answers (no token needed)' } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/api/v1/health/ready',
    { schema: { tags: ['health'], summary: 'Readiness: 200 while the runtime takes work, 503 otherwise' } },
    async (_request, reply) => {
      const status = runtime.status;
      const ready = status === 'running' || status === 'degraded' || status === 'created';
      return reply.code(ready ? 200 : 503).send({ ready, status });
    },
  );

  app.get(
    '/api/v1/health',
    { schema: { tags: ['health'], summary: 'Health of every subsystem (store, pool, bus, governor, breakers)' } },
    async () => runtime.health(),
  );

  app.get(
    '/api/v1/stats',
    { schema: { tags: ['health'], summary: "The runtime's stats, the bus's overflow and the live stream's counts" } },
    async () => ({
      runtime: runtime.stats(),
      bus: { overflow: runtime.bus.overflowStats() },
      stream: context.live.stats(),
      recorder: runtime.recorder?.stats() ?? null,
    }),
  );

  app.get(
    '/api/v1/governor',
    { schema: { tags: ['governor'], summary: "The governor's subsystems and knobs, rules and stats (attached: false when none)" } },
    async () => {
      const governor = runtime.governor;
      if (governor === undefined) return { attached: false };
      return {
        attached: true,
        running: governor.isRunning,
        intervalMs: governor.intervalMs,
        subsystems: governor.subsystems(),
        rules: governor.rules(),
        actions: governor.actions(),
        stats: governor.stats(),
      };
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/v1/governor/decisions',
    {
      schema: {
        tags: ['governor'],
        summary: "The governor's recent decisions, oldest first",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 200 } },
        },
        response: { 400: kErrorSchema },
      },
    },
    async (request) => ({ decisions: (runtime.governor?.decisions() ?? []).slice(-(request.query.limit ?? 200)) }),
  );

  app.get(
    '/api/v1/pool',
    { schema: { tags: ['pool'], summary: 'Thread pool stats and the placement of pool and auto routines' } },
    async () => {
      const stats = runtime.stats();
      return { pool: stats.pool ?? null, placements: stats.placements };
    },
  );

  app.get('/metrics', { schema: { tags: ['metrics'], summary: 'Prometheus text exposition of the registry' } }, async (_request, reply) => {
    const registry = context.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  app.get('/api/v1/openapi.json', { schema: { tags: ['metrics'], summary: 'This API, described in OpenAPI 3' } }, async () =>
    app.swagger(),
  );
}

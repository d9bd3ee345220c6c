/** Runs from the durable log (registry, events after a cursor, replay) and the live event stream. */
import type { FastifyInstance } from 'fastify';
import type { BusEvent } from '../../bus/index.ts';
import { notFound, kErrorSchema } from '../http-errors.ts';
import { kLiveTopics, LiveStream } from '../live-stream.ts';
import { kSchemas, requireLog, type ServeContext } from '../serve-context.ts';

const kRunParams = { type: 'object', required: ['runId'], properties: { runId: kSchemas.id } } as const;
const kErrors = { 400: kErrorSchema, 404: kErrorSchema, 409: kErrorSchema };

/** Topic patterns from a comma-separated query value. */
function topicsOf(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** Registers the run routes and the live stream. */
export function runRoutes(app: FastifyInstance, context: ServeContext): void {
  const { runtime } = context;
  app.get(
    '/api/v1/runs',
    { schema: { tags: ['runs'], summary: 'Every recorded run, most recent first', response: kErrors } },
    async () => ({ current: runtime.runId, runs: await requireLog(context).runs() }),
  );

  app.get<{ Params: { runId: string } }>(
    '/api/v1/runs/:runId',
    { schema: { tags: ['runs'], summary: 'One recorded run', params: kRunParams, response: kErrors } },
    async (request) => {
      const run = (await requireLog(context).runs()).find((r) => r.runId === request.params.runId);
      if (run === undefined) throw notFound(`No recorded run "${request.params.runId}"`);
      return run;
    },
  );

  app.get<{ Params: { runId: string }; Querystring: { after?: number; limit?: number; topics?: string } }>(
    '/api/v1/runs/:runId/events',
    {
      schema: {
        tags: ['runs'],
        summary: 'Events of a run with seq > after, ascending; `next` is the cursor of the following page (null at the end)',
        params: kRunParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 500 },
            topics: { type: 'string', maxLength: 2000 },
          },
        },
        response: kErrors,
      },
    },
    async (request) => {
      const log = requireLog(context);
      const limit = request.query.limit ?? 500;
      const topics = topicsOf(request.query.topics);
      const patterns = topics === undefined ? undefined : LiveStream.patterns(topics);
      const events: BusEvent[] = [];
      let cursor = request.query.after ?? 0;
      let end = false;
      // Filtered reads page on until the page is full or the run ends.
      while (events.length < limit) {
        const page = await log.since(request.params.runId, cursor, { limit });
        if (page.length === 0) {
          end = true;
          break;
        }
        for (const event of page) {
          cursor = event.seq;
          if (patterns === undefined || patterns.some((p) => p.matches(event.topic))) events.push(event);
          if (events.length >= limit) break;
        }
      }
      if (cursor === (request.query.after ?? 0) && events.length === 0 && (await log.lastSeq(request.params.runId)) === 0) {
        throw notFound(`No recorded run "${request.params.runId}"`);
      }
      return { runId: request.params.runId, events, next: end ? null : cursor };
    },
  );

  app.get<{ Params: { runId: string } }>(
    '/api/v1/runs/:runId/replay',
    {
      schema: {
        tags: ['runs'],
        summary: 'Every event of a run in seq order, as newline-delimited JSON',
        params: kRunParams,
        response: kErrors,
      },
    },
    async (request, reply) => {
      const log = requireLog(context);
      if ((await log.lastSeq(request.params.runId)) === 0) throw notFound(`No recorded run "${request.params.runId}"`);
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
      for await (const event of log.replay(request.params.runId)) {
        if (reply.raw.destroyed) break;
        if (!reply.raw.write(`${JSON.stringify(event)}\n`)) await new Promise((resolve) => reply.raw.once('drain', resolve));
      }
      reply.raw.end();
    },
  );

  app.get<{ Querystring: { after?: number; topics?: string } }>(
    '/api/v1/events',
    {
      schema: {
        tags: ['runs'],
        summary:
          'Live events of the current run as Server-Sent Events (id = seq). With `after` (or Last-Event-ID) the events after that seq ' +
          'are sent first from the durable log, so a reconnect shows no gap; a `stats` message every second carries live counts',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'integer', minimum: 0 }, topics: { type: 'string', maxLength: 2000 } },
        },
        response: kErrors,
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
      const topics = topicsOf(request.query.topics) ?? [...kLiveTopics];
      LiveStream.patterns(topics);
      context.live.assertRoom();
      reply.hijack();
      await context.live.attach(reply.raw, { after: fromHeader ?? request.query.after, topics }, (note) =>
        note('stats', context.ticker.read()),
      );
    },
  );
}

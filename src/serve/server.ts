/**
 * `sluice serve`'s server: fastify with an OpenAPI description of every route, the token guard,
 * the API under `/api/v1/`, `/metrics`, and the dashboard. `createServer()` builds it (tests use
 * `server.app.inject()` without a socket); `listen()` opens the port; `close()` ends the live
 * clients, the port and the metrics registration.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { Counter } from 'prom-client';
import { packageVersion } from '../core/package-version.ts';
import { signalTopic } from '../governor/index.ts';
import type { Runtime } from '../runtime/index.ts';
import type { EventLog } from '../store/index.ts';
import { installAuth } from './auth.ts';
import { notFound, sendError } from './http-errors.ts';
import { LiveStream, type LiveStreamStats } from './live-stream.ts';
import { LiveTicker } from './live-tick.ts';
import { dashboardRoutes } from './routes/dashboard-routes.ts';
import { flowRoutes } from './routes/flow-routes.ts';
import { jobRoutes } from './routes/job-routes.ts';
import { runRoutes } from './routes/run-routes.ts';
import { systemRoutes } from './routes/system-routes.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from './runtime-metrics.ts';
import type { ServeContext } from './serve-context.ts';
import { resolveServeOptions, type ServeOptions } from './serve-options.ts';

/**
 * A server over one runtime.
 *
 * @category Serve
 */
export interface SluiceServer {
  /** `http://host:port` once listening (undefined before `listen()`). */
  readonly url: string | undefined;
  /** The token every route but liveness requires. */
  readonly token: string;
  /** The fastify instance (`app.inject()` runs a request without a socket). */
  readonly app: FastifyInstance;
  /** The metrics `/metrics` serves. */
  readonly metrics: RuntimeMetrics;
  /** The live stream's counts: clients, events sent, dropped, backfilled. */
  streamStats(): LiveStreamStats;
  /** Opens the port (host and port from the options); resolves the URL. */
  listen(): Promise<string>;
  /** Ends live clients, closes the port, removes the metrics; idempotent. */
  close(): Promise<void>;
}

const kStreamMetric = 'sluice_serve_stream_events_total';

/** The durable log the runtime records into, when it records into one. */
function recordingLog(runtime: Runtime): EventLog | undefined {
  const log = runtime.recorder?.options.log;
  return log === undefined ? undefined : log;
}

/**
 * Builds a server over `runtime` (not listening yet; see `runtime.serve()` for the one-call way).
 *
 * @example
 * ```ts
 * import { createServer } from 'sluice/serve';
 *
 * const server = await createServer(runtime, { port: 0, token: process.env.SLUICE_TOKEN });
 * console.log(`dashboard: ${await server.listen()}/?token=${server.token}`);
 * ```
 * @category Serve
 */
export async function createServer(runtime: Runtime, options: ServeOptions = {}): Promise<SluiceServer> {
  const resolved = resolveServeOptions(options);
  const metrics = createRuntimeMetrics(runtime, {
    ...(resolved.registry === undefined ? {} : { registry: resolved.registry }),
    ...(resolved.meterProvider === undefined ? {} : { meterProvider: resolved.meterProvider }),
  });
  const log = (): EventLog | undefined => resolved.log ?? recordingLog(runtime);
  const live = new LiveStream({
    bus: runtime.bus,
    runId: runtime.runId,
    log,
    capacity: resolved.clientBuffer,
    maxClients: resolved.maxClients,
  });
  new Counter({
    name: kStreamMetric,
    help: 'Events of the live stream, by outcome: sent to a client, or dropped from a full client buffer.',
    labelNames: ['outcome'],
    registers: [metrics.registry],
    collect() {
      const stats = live.stats();
      this.reset();
      this.inc({ outcome: 'sent' }, stats.sent);
      this.inc({ outcome: 'dropped' }, stats.dropped);
    },
  });
  const ticker = new LiveTicker(runtime, metrics, () => live);
  // The governor's decisions on the runtime's bus, so the stream (and the recording) carry them,
  // unless the governor already publishes there.
  const governor = runtime.governor;
  const decisions =
    governor === undefined || governor.bus === runtime.bus
      ? undefined
      : governor.onDecision((decision) => {
          if (!runtime.bus.isClosed) runtime.bus.publish(signalTopic(decision), decision, { runId: runtime.runId });
        });
  const context: ServeContext = { runtime, options: resolved, live, metrics, ticker, log };
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: true,
    // An unknown field is a 400 naming it, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'sluice', version: packageVersion(), description: "A sluice runtime's HTTP API" },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  const report = (error: unknown): void => {
    process.stderr.write(`sluice serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  };
  app.setErrorHandler((error, _request, reply) => sendError(reply, error, report));
  app.setNotFoundHandler((request, reply) => sendError(reply, notFound(`No route ${request.method} ${request.url.split('?')[0]}`), report));
  installAuth(app, resolved.token);
  systemRoutes(app, context);
  flowRoutes(app, context);
  jobRoutes(app, context);
  runRoutes(app, context);
  dashboardRoutes(app);
  await app.ready();

  let url: string | undefined;
  let closing: Promise<void> | undefined;
  return {
    get url() {
      return url;
    },
    token: resolved.token,
    app,
    metrics,
    streamStats: () => live.stats(),
    async listen() {
      if (url !== undefined) return url;
      await app.listen({ port: resolved.port, host: resolved.host });
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : resolved.port;
      const host = resolved.host.includes(':') && !resolved.host.startsWith('[') ? `[${resolved.host}]` : resolved.host;
      url = `http://${host}:${port}`;
      if (resolved.generatedToken && !resolved.quiet) {
        process.stderr.write(`sluice serve: token ${resolved.token} (dashboard: ${url}/?token=${resolved.token})\n`);
      }
      return url;
    },
    close() {
      closing ??= (async () => {
        decisions?.dispose();
        live.close();
        await app.close();
        metrics.registry.removeSingleMetric(kStreamMetric);
        metrics.dispose();
      })();
      return closing;
    },
  };
}

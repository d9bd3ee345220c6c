/**
 * The dashboard: one HTML page, its script and style from this package, and uPlot from its own
 * npm package — no CDN, so it works offline, and no build step.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../http-errors.ts';

const require = createRequire(import.meta.url);

/** Asset name → file and content type. */
function assets(): Map<string, { path: string | URL; type: string }> {
  const own = (name: string) => new URL(`../assets/${name}`, import.meta.url);
  return new Map<string, { path: string | URL; type: string }>([
    ['app.js', { path: own('app.js'), type: 'text/javascript; charset=utf-8' }],
    ['style.css', { path: own('style.css'), type: 'text/css; charset=utf-8' }],
    ['uPlot.iife.min.js', { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' }],
    ['uPlot.min.css', { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' }],
  ]);
}

const kSecurityHeaders = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Registers `/` and `/assets/:name`. */
export function dashboardRoutes(app: FastifyInstance): void {
  const files = assets();
  const cache = new Map<string, Buffer>();
  const load = async (path: string | URL): Promise<Buffer> => {
    const key = String(path);
    let body = cache.get(key);
    if (body === undefined) cache.set(key, (body = await readFile(path)));
    return body;
  };
  app.get(
    '/',
    { schema: { tags: ['dashboard'], summary: 'The live dashboard (open once with ?token=<token>)' } },
    async (_request, reply) =>
      reply
        .headers(kSecurityHeaders)
        .type('text/html; charset=utf-8')
        .send(await load(new URL('../assets/index.html', import.meta.url))),
  );
  app.get<{ Params: { name: string } }>(
    '/assets/:name',
    {
      schema: {
        tags: ['dashboard'],
        summary: "The dashboard's script, style and chart library",
        params: { type: 'object', properties: { name: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const file = files.get(request.params.name);
      if (file === undefined) throw notFound(`No asset "${request.params.name}"`);
      return reply
        .headers(kSecurityHeaders)
        .type(file.type)
        .header('cache-control', 'no-cache')
        .send(await load(file.path));
    },
  );
}

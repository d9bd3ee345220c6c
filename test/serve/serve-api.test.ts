/**
 * The HTTP API through fastify's inject (no socket): the token guard, the Origin check, the bind
 * refusal, every route's happy path and its bad input, and error replies that carry a code and a
 * message but never a stack trace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pipelineModule from '../../flows/pipeline.ts';
import { Flow, Routine, Runtime } from '../../src/index.ts';
import { Governor } from '../../src/entry/governor.ts';
import { createServer, type SluiceServer } from '../../src/entry/serve.ts';
import { registerRoutine, unregisterRoutine } from '../../src/entry/flow-files.ts';
import { errorReply } from '../../src/serve/http-errors.ts';
import { resolveServeOptions } from '../../src/serve/serve-options.ts';
import { ErrorCode, deferred, expectCode } from '../fixtures/helpers.ts';

const token = 'test-token-0123456789abcdef';
const release = deferred();

/** A registered class for flows posted as files. */
class ApiRelay extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }
  logic(): void {}
}

/** Holds every activation until the test releases it. */
class Hold extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }
  async logic(): Promise<void> {
    await release.promise;
  }
}
const auth = { authorization: `Bearer ${token}` };

describe('sluice serve API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-serve-api-'));
  const governor = new Governor({ intervalMs: 60_000 });
  const runtime = new Runtime({ record: { log: join(dir, 'runs.sqlite') }, governor, heartbeatMs: 0 });
  let server: SluiceServer;

  beforeAll(async () => {
    await runtime.start();
    runtime.register(pipelineModule);
    runtime.register(new Flow('hold').addRoutine(new Hold(), 'hold'));
    server = await createServer(runtime, { token });
  });
  afterAll(async () => {
    await server.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = auth) => server.app.inject({ method: 'GET', url, headers });
  const post = (url: string, payload?: unknown, headers: Record<string, string> = auth) =>
    server.app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

  describe('the token', () => {
    it('is required on every route but liveness: 401 without it, with a wrong one, with a malformed header', async () => {
      expect((await get('/api/v1/health/live', {})).statusCode).toBe(200);
      for (const url of ['/api/v1/flows', '/metrics', '/', '/api/v1/jobs', '/api/v1/health', '/api/v1/openapi.json', '/nowhere']) {
        const none = await get(url, {});
        expect(none.statusCode, url).toBe(401);
        expect(none.json().code).toBe(ErrorCode.Unauthorized);
        expect((await get(url, { authorization: 'Bearer wrong-token-0123456789' })).statusCode, url).toBe(401);
        expect((await get(url, { authorization: token })).statusCode, url).toBe(401);
      }
      expect((await post('/api/v1/jobs', { flowId: 'pipeline' }, {})).statusCode).toBe(401);
    });

    it('in the dashboard address becomes an HttpOnly SameSite=Strict cookie, and the address drops it', async () => {
      const wrong = await get('/?token=nope', {});
      expect(wrong.statusCode).toBe(401);
      const first = await get(`/?token=${token}`, {});
      expect(first.statusCode).toBe(303);
      expect(first.headers.location).toBe('/');
      const cookie = String(first.headers['set-cookie']);
      expect(cookie).toMatch(/^sluice_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
      const page = await get('/', { cookie: cookie.split(';')[0] as string });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.body).toContain('/assets/app.js');
      for (const asset of ['app.js', 'style.css', 'uPlot.iife.min.js', 'uPlot.min.css']) {
        const res = await get(`/assets/${asset}`, { cookie: cookie.split(';')[0] as string });
        expect(res.statusCode, asset).toBe(200);
        expect(res.body.length, asset).toBeGreaterThan(100);
      }
      expect((await get('/assets/../../package.json')).statusCode).toBe(404);
      expect((await get('/assets/secret.js')).json().code).toBe(ErrorCode.NotFound);
    });

    it('mutating routes check the Origin: another site is refused, a cookie without Origin too, a bearer client may omit it', async () => {
      const cookie = `sluice_token=${token}`;
      const body = { flowId: 'pipeline', routineId: 'source', slot: 'in', data: { sensor: 'o', celsius: 1 } };
      const evil = await post('/api/v1/jobs', body, { ...auth, origin: 'http://evil.example' });
      expect(evil.statusCode).toBe(403);
      expect(evil.json().code).toBe(ErrorCode.ForbiddenOrigin);
      expect((await post('/api/v1/jobs', body, { cookie })).statusCode).toBe(403);
      expect((await post('/api/v1/jobs', body, { cookie, origin: 'http://localhost:80', host: 'localhost:80' })).statusCode).toBe(202);
      expect((await post('/api/v1/jobs', body)).statusCode).toBe(202);
    });
  });

  describe('binding', () => {
    it('refuses a non-loopback address without an explicit token, and takes one with it', () => {
      const error = expectCode(() => resolveServeOptions({ host: '0.0.0.0' }, {}), ErrorCode.UnsafeBind);
      expect(error.message).toContain('"0.0.0.0"');
      expect(resolveServeOptions({ host: '0.0.0.0', token }, {}).host).toBe('0.0.0.0');
      expect(resolveServeOptions({ host: '0.0.0.0' }, { SLUICE_TOKEN: token }).token).toBe(token);
      for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost'])
        expect(resolveServeOptions({ host }, {}).generatedToken).toBe(true);
      expect(resolveServeOptions({}, {}).token.length).toBeGreaterThanOrEqual(32);
      expectCode(() => resolveServeOptions({ token: 'short' }, {}), ErrorCode.InvalidArgument);
      expectCode(() => resolveServeOptions({ port: 70_000 }, {}), ErrorCode.InvalidArgument);
      expectCode(() => resolveServeOptions({ prot: 1 } as never, {}), ErrorCode.InvalidArgument);
    });
  });

  describe('routes', () => {
    it('flows: list, one with its graph and policies, validate; an unknown flow is a coded 404', async () => {
      const list = (await get('/api/v1/flows')).json();
      expect(list.flows).toContainEqual(expect.objectContaining({ id: 'pipeline', routines: 3, connections: 2 }));
      const flow = (await get('/api/v1/flows/pipeline')).json();
      expect(flow.routines.map((r: { id: string }) => r.id)).toEqual(['source', 'transform', 'sink']);
      expect(flow.routines[0].policy.type).toBe('immediate');
      expect(flow.connections).toHaveLength(2);
      const validated = (await post('/api/v1/flows/pipeline/validate')).json();
      expect(validated.flowId).toBe('pipeline');
      expect(validated.warnings).toEqual([expect.objectContaining({ kind: 'unconnected-slot', routineId: 'source', name: 'in' })]);
      const missing = await get('/api/v1/flows/nope');
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({ code: ErrorCode.FlowNotFound, message: expect.stringContaining('"nope"') });
    });

    it('flows from flow files: registered classes only over the network, export loads back', async () => {
      registerRoutine('ApiRelay', ApiRelay);
      try {
        const text =
          'flow_id: posted\nroutines:\n  a: { class: ApiRelay }\n  b: { class: ApiRelay }\nconnections:\n  - { from: a.out, to: b.in }\n';
        const created = await post('/api/v1/flows', { text });
        expect(created.statusCode).toBe(201);
        expect(created.json()).toMatchObject({ id: 'posted', connections: [{ source: 'a', event: 'out', target: 'b', slot: 'in' }] });
        const asDocument = await post('/api/v1/flows', {
          document: { flow_id: 'posted2', routines: { a: { class: 'ApiRelay' } } },
        });
        expect(asDocument.statusCode).toBe(201);
        const exported = await get('/api/v1/flows/posted/export');
        expect(exported.headers['content-type']).toContain('application/yaml');
        expect(exported.body).toContain('flow_id: posted');
        expect((await get('/api/v1/flows/posted/export?format=json')).json().flow_id).toBe('posted');
        const code = await post('/api/v1/flows', {
          text: 'flow_id: evil\nroutines:\n  a: { class: { module: /tmp/evil.js, export: X } }\n',
        });
        expect(code.statusCode).toBe(400);
        expect(code.json()).toMatchObject({ code: ErrorCode.UnknownRoutineClass });
        expect(code.json().message).toMatch(/^<request body>:3:\d+: routines\.a\.class: this flow may name registered classes only/);
        expect((await post('/api/v1/flows', { text: 'flow_id: [' })).json().code).toBe(ErrorCode.FlowFileInvalid);
        expect((await post('/api/v1/flows', {})).json().code).toBe(ErrorCode.BadRequest);
        expect((await post('/api/v1/flows', { text })).json().code).toBe(ErrorCode.FlowExists);
        expect((await get('/api/v1/flows/pipeline/export')).json().code).toBe(ErrorCode.UnknownRoutineClass);
      } finally {
        unregisterRoutine('ApiRelay');
      }
    });

    it('workers: exec, list, one, routines, stop; duplicates and unknown ids are coded', async () => {
      const made = await post('/api/v1/workers', { flowId: 'pipeline', workerId: 'api-w' });
      expect(made.statusCode).toBe(201);
      expect(made.json()).toMatchObject({ workerId: 'api-w', flowId: 'pipeline', status: 'running' });
      expect((await post('/api/v1/workers', { flowId: 'pipeline', workerId: 'api-w' })).json().code).toBe(ErrorCode.WorkerExists);
      expect((await post('/api/v1/workers', { flowId: 'pipeline', extra: 1 })).json().code).toBe(ErrorCode.BadRequest);
      expect((await post('/api/v1/workers', { workerId: 'x' })).statusCode).toBe(400);
      const list = (await get('/api/v1/workers?flow=pipeline')).json();
      expect(list.workers.map((w: { workerId: string }) => w.workerId)).toContain('api-w');
      const one = (await get('/api/v1/workers/api-w')).json();
      expect(one.queues.map((q: { routineId: string }) => q.routineId)).toEqual(['source', 'transform', 'sink']);
      const routines = (await get('/api/v1/workers/api-w/routines')).json();
      expect(routines.routines).toHaveLength(3);
      const stopped = (await post('/api/v1/workers/api-w/stop', { timeout: 1000 })).json();
      expect(stopped).toMatchObject({ workerId: 'api-w', status: 'stopped', cancelled: [] });
      expect((await get('/api/v1/workers/nope')).json().code).toBe(ErrorCode.WorkerNotFound);
      expect((await post('/api/v1/workers/api-w/stop', { timeout: -1 })).statusCode).toBe(400);
    });

    it('jobs: post, get, wait, list by flow and status, cancel; bad input is a coded 4xx', async () => {
      const posted = await post('/api/v1/jobs', {
        flowId: 'pipeline',
        routineId: 'source',
        slot: 'in',
        data: { sensor: 'a', celsius: 100 },
      });
      expect(posted.statusCode).toBe(202);
      const { jobId } = posted.json();
      const waited = (await get(`/api/v1/jobs/${jobId}/wait?timeout=5000`)).json();
      expect(waited.finished).toBe(true);
      expect(waited.job).toMatchObject({ jobId, status: 'completed' });
      expect(waited.job.data.fahrenheit).toBe(212);
      expect(waited.job.traceLog.map((t: { routineId: string }) => t.routineId)).toEqual(['source', 'transform', 'sink']);
      expect((await get(`/api/v1/jobs/${jobId}`)).json().status).toBe('completed');

      const bad = (await post('/api/v1/jobs', { flowId: 'pipeline', routineId: 'source', slot: 'in', data: { celsius: 'hot' } })).json();
      const failed = (await get(`/api/v1/jobs/${bad.jobId}/wait?timeout=5000`)).json().job;
      expect(failed.status).toBe('failed');
      expect(failed.error.message).toContain('reading has no numeric celsius');
      const failedList = (await get('/api/v1/jobs?status=failed&flow=pipeline')).json();
      expect(failedList.jobs.map((j: { jobId: string }) => j.jobId)).toContain(bad.jobId);
      expect(failedList.jobs.every((j: { status: string }) => j.status === 'failed')).toBe(true);
      expect((await get('/api/v1/jobs?limit=1')).json().jobs).toHaveLength(1);
      expect((await get('/api/v1/jobs?status=weird')).json().code).toBe(ErrorCode.BadRequest);
      expect((await get('/api/v1/jobs?limit=0')).statusCode).toBe(400);

      expect((await get('/api/v1/jobs/nope/wait?timeout=10')).json().code).toBe(ErrorCode.JobNotFound);
      expect((await get(`/api/v1/jobs/${jobId}/wait?timeout=-5`)).statusCode).toBe(400);
      expect((await post('/api/v1/jobs', { flowId: 'pipeline', routineId: 'nope', slot: 'in', data: 1 })).json().code).toBe(
        ErrorCode.RoutineNotFound,
      );
      expect((await post('/api/v1/jobs', { flowId: 'pipeline', routineId: 'source', slot: 'out', data: 1 })).json().code).toBe(
        ErrorCode.UnknownSlot,
      );
      const noBody = await post('/api/v1/jobs', { flowId: 'pipeline' });
      expect(noBody.statusCode).toBe(400);
      expect(noBody.json().message).toContain('routineId');
      const notJson = await server.app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{"flowId":',
      });
      expect(notJson.statusCode).toBe(400);
      expect(notJson.json().code).toBe(ErrorCode.BadRequest);
      expect(notJson.body).not.toContain('    at ');
    });

    it('a wait that runs out answers finished: false with the job as it stands; cancel ends it', async () => {
      const [, job] = runtime.post('hold', 'hold', 'in', 1, { jobId: 'held-job' });
      const waited = (await get('/api/v1/jobs/held-job/wait?timeout=50')).json();
      expect(waited).toMatchObject({ finished: false, job: { jobId: 'held-job', status: 'running' } });
      const cancelled = await post('/api/v1/jobs/held-job/cancel', { reason: 'enough' });
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json()).toMatchObject({ status: 'cancelled', error: { code: ErrorCode.JobCancelled } });
      expect(cancelled.json().error.message).toContain('enough');
      expect(job.status).toBe('cancelled');
      release.resolve();
      expect((await post('/api/v1/jobs/held-job/cancel', { why: 1 })).statusCode).toBe(400);
    });

    it('runs: the registry, one run, its events after a cursor with topic filters, replay as NDJSON', async () => {
      await runtime.recorder?.flush({ timeout: 5000 });
      const runs = (await get('/api/v1/runs')).json();
      expect(runs.current).toBe(runtime.runId);
      expect(runs.runs.map((r: { runId: string }) => r.runId)).toContain(runtime.runId);
      expect((await get(`/api/v1/runs/${runtime.runId}`)).json().runId).toBe(runtime.runId);
      expect((await get('/api/v1/runs/nope')).json().code).toBe(ErrorCode.NotFound);
      const page = (await get(`/api/v1/runs/${runtime.runId}/events?after=0&limit=2`)).json();
      expect(page.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
      expect(page.next).toBe(2);
      const next = (await get(`/api/v1/runs/${runtime.runId}/events?after=${page.next}&limit=2`)).json();
      expect(next.events[0].seq).toBe(3);
      const failed = (await get(`/api/v1/runs/${runtime.runId}/events?topics=job.failed`)).json();
      expect(failed.events.length).toBeGreaterThanOrEqual(1);
      expect(failed.events.every((e: { topic: string }) => e.topic === 'job.failed')).toBe(true);
      expect(failed.next).toBeNull();
      expect((await get(`/api/v1/runs/${runtime.runId}/events?topics=a..b`)).json().code).toBe(ErrorCode.BadRequest);
      expect((await get(`/api/v1/runs/${runtime.runId}/events?after=-1`)).statusCode).toBe(400);
      const replay = await get(`/api/v1/runs/${runtime.runId}/replay`);
      expect(replay.headers['content-type']).toContain('application/x-ndjson');
      const lines = replay.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { seq: number });
      expect(lines.length).toBeGreaterThan(5);
      expect(lines.map((e) => e.seq)).toEqual([...lines.map((e) => e.seq)].sort((a, b) => a - b));
      expect((await get('/api/v1/runs/nope/replay')).statusCode).toBe(404);
    });

    it('health, stats, governor, decisions, pool, metrics and the OpenAPI description', async () => {
      expect((await get('/api/v1/health/ready')).json()).toEqual({ ready: true, status: 'running' });
      const health = (await get('/api/v1/health')).json();
      expect(health.subsystems ?? health.checks ?? health).toBeDefined();
      const stats = (await get('/api/v1/stats')).json();
      expect(stats.runtime.flows).toEqual(['pipeline', 'hold', 'posted', 'posted2']);
      expect(stats.stream).toEqual({ clients: 0, sent: 0, dropped: 0, backfilled: 0 });
      const gov = (await get('/api/v1/governor')).json();
      expect(gov.attached).toBe(true);
      expect(gov.subsystems.map((s: { name: string }) => s.name)).toContain(runtime.name);
      expect(Array.isArray(gov.rules)).toBe(true);
      await governor.tick();
      // A decision reaches the runtime's bus (so the live stream and the recording carry it).
      const signals: string[] = [];
      const subscription = runtime.bus.subscribe('drg.signal.**', (event) => void signals.push(event.topic));
      const made = governor.execute(runtime.name, 'shed_load', 1);
      expect(made.length).toBeGreaterThan(0);
      await expect.poll(() => signals.length).toBe(made.length);
      subscription.dispose();
      const decisions = (await get('/api/v1/governor/decisions?limit=5')).json().decisions;
      expect(decisions.at(-1)).toMatchObject({ action: 'shed_load', subsystem: runtime.name });
      expect((await get('/api/v1/governor/decisions?limit=0')).statusCode).toBe(400);
      expect((await get('/api/v1/pool')).json()).toEqual({ pool: null, placements: [] });
      const metrics = await get('/metrics');
      expect(metrics.headers['content-type']).toContain('text/plain');
      expect(metrics.body).toContain('sluice_jobs_total{flow="pipeline",status="completed"}');
      const openapi = (await get('/api/v1/openapi.json')).json();
      expect(openapi.openapi).toMatch(/^3\./);
      for (const path of ['/api/v1/jobs', '/api/v1/jobs/{jobId}/wait', '/api/v1/runs/{runId}/events', '/api/v1/events', '/metrics']) {
        expect(Object.keys(openapi.paths), path).toContain(path);
      }
      expect(openapi.paths['/api/v1/jobs'].post.requestBody.content['application/json'].schema.required).toEqual(
        expect.arrayContaining(['flowId', 'routineId', 'slot', 'data']),
      );
    });

    it('an unknown route is a coded 404', async () => {
      const res = await get('/api/v1/nothing');
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ code: ErrorCode.NotFound, message: 'No route GET /api/v1/nothing' });
    });
  });

  it('an unexpected failure is a generic coded 500 without the stack, reported to the server log only', () => {
    const reported: unknown[] = [];
    const { status, body } = errorReply(new Error('secret detail'), (e) => reported.push(e));
    expect(status).toBe(500);
    expect(body.code).toBe(ErrorCode.Internal);
    expect(JSON.stringify(body)).not.toContain('secret detail');
    expect(reported).toHaveLength(1);
  });
});

describe('runs without a recording', () => {
  it('answer a coded 409 that says how to record', async () => {
    const runtime = new Runtime({ heartbeatMs: 0 });
    const server = await createServer(runtime, { token });
    try {
      const res = await server.app.inject({ method: 'GET', url: '/api/v1/runs', headers: auth });
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe(ErrorCode.NotRecorded);
      expect(res.json().message).toContain('record');
    } finally {
      await server.close();
      await runtime.close();
    }
  });
});

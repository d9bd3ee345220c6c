/**
 * `sluice serve` as a process: it prints its URL and a generated token once, answers the API with
 * the token (and only liveness without it), records the run, and stops cleanly on SIGTERM; a
 * non-loopback address without SLUICE_TOKEN and a port in use are coded usage errors.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { io } from '../fixtures/cli-io.ts';
import { SqliteEventLog } from '../../src/store/index.ts';

const root = new URL('../../', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'sluice-serve-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `sluice serve` and resolves with its URL and token once it listens. */
async function startServe(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['bin/sluice.js', 'serve', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLUICE_TOKEN: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!/api: Authorization: Bearer (\S+)/.test(stdout) && !/dashboard: \S+\?token=<SLUICE_TOKEN>/.test(stdout)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sluice serve did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = /sluice serve: (http:\/\/\S+) /.exec(stdout)?.[1] as string;
  const token = /api: Authorization: Bearer (\S+)/.exec(stdout)?.[1];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, token, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('sluice serve', () => {
  it('prints its URL and a generated token, serves the API behind it, records, and stops cleanly on SIGTERM', async () => {
    const db = join(dir, 'serve.sqlite');
    const served = await startServe(['flows/pipeline.ts', '--port', '0', '--db', db]);
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(served.token?.length).toBeGreaterThanOrEqual(32);
      expect(served.stdout()).toContain(`dashboard: ${served.url}/?token=${served.token}`);
      expect((await fetch(`${served.url}/api/v1/health/live`)).status).toBe(200);
      expect((await fetch(`${served.url}/api/v1/flows`)).status).toBe(401);
      const headers = { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' };
      const flows = (await (await fetch(`${served.url}/api/v1/flows`, { headers })).json()) as {
        flows: Array<{ id: string; workers: number }>;
      };
      expect(flows.flows).toEqual([expect.objectContaining({ id: 'pipeline', workers: 1 })]);
      const posted = await fetch(`${served.url}/api/v1/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ flowId: 'pipeline', routineId: 'source', slot: 'in', data: { sensor: 'cli', celsius: 37 } }),
      });
      expect(posted.status).toBe(202);
      const { jobId } = (await posted.json()) as { jobId: string };
      const waited = (await (await fetch(`${served.url}/api/v1/jobs/${jobId}/wait?timeout=10000`, { headers })).json()) as {
        job: { status: string; data: { fahrenheit: number } };
      };
      expect(waited.job.status).toBe('completed');
      expect(waited.job.data.fahrenheit).toBeCloseTo(98.6);
      const metrics = await (await fetch(`${served.url}/metrics`, { headers })).text();
      expect(metrics).toContain('sluice_jobs_total{flow="pipeline",status="completed"} 1');
    } finally {
      served.child.kill('SIGTERM');
    }
    expect(await served.exited).toBe(0);
    expect(served.stderr()).toContain('SIGTERM: stopping');
    const log = await SqliteEventLog.open({ path: db, readonly: true });
    try {
      const [run] = await log.runs();
      expect(run).toMatchObject({ flow: 'pipeline', status: 'completed', jobs: { completed: 1 } });
    } finally {
      await log.close();
    }
  }, 90_000);

  it('with SLUICE_TOKEN prints no token, and takes only that one', async () => {
    const token = 'cli-token-0123456789abcdef';
    const served = await startServe(['flows/pipeline.ts', '--port', '0', '--no-record'], { SLUICE_TOKEN: token });
    try {
      expect(served.stdout()).not.toContain(token);
      expect((await fetch(`${served.url}/api/v1/flows`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const runs = await fetch(`${served.url}/api/v1/runs`, { headers: { authorization: `Bearer ${token}` } });
      expect(runs.status).toBe(409);
    } finally {
      served.child.kill('SIGINT');
    }
    expect(await served.exited).toBe(0);
  }, 90_000);

  it('refuses a non-loopback address without SLUICE_TOKEN, a port in use, and no module, as usage errors', async () => {
    const saved = process.env.SLUICE_TOKEN;
    delete process.env.SLUICE_TOKEN;
    try {
      const t = io();
      expect(await main(['serve', 'flows/pipeline.ts', '--host', '0.0.0.0', '--no-record'], t)).toBe(2);
      expect(t.err()).toMatch(/^sluice serve: SLUICE_ERR_UNSAFE_BIND: Refusing to listen on "0.0.0.0"/);
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as { port: number }).port;
      try {
        const busy = io();
        expect(await main(['serve', 'flows/pipeline.ts', '--port', String(port), '--no-record'], busy)).toBe(2);
        expect(busy.err()).toContain(`Port ${port} on 127.0.0.1 is in use`);
      } finally {
        blocker.close();
      }
      const none = io();
      expect(await main(['serve'], none)).toBe(2);
      expect(none.err()).toMatch(/missing required argument 'flow-module/);
      const help = io();
      expect(await main(['serve', '--help'], help)).toBe(0);
      expect(help.out()).toMatch(/^Usage: sluice serve \[options\] <flow-module\.\.\.>/);
      expect(help.out()).toContain('--port <port>');
    } finally {
      if (saved !== undefined) process.env.SLUICE_TOKEN = saved;
    }
  }, 60_000);
});

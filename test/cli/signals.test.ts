import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../src/store/index.ts';

const root = new URL('../../', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'sluice-signals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `sluice run` on the governed flow and resolves once it records completed jobs. */
async function startRun(db: string, items: string, param: string) {
  const child = spawn(
    process.execPath,
    ['bin/sluice.js', 'run', 'flows/governed.ts', '--items', items, '--param', param, '--db', db, '--json'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Wait until the run is under way (jobs are being recorded), then let the test interrupt it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (existsSync(db)) {
      const peek = new Database(db, { readonly: true, fileMustExist: true });
      try {
        const n = peek.prepare("SELECT count(*) FROM events WHERE topic = 'job.completed'").pluck().get() as number;
        if (n > 0) break;
      } catch (error) {
        // The run has created the file but not yet its tables (a loaded machine): look again.
        if (!String((error as Error).message).includes('no such table')) throw error;
      } finally {
        peek.close();
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the run did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, stdout: () => stdout, stderr: () => stderr };
}

describe('sluice run under SIGINT / SIGTERM', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: stops admission, closes gracefully, records the run as stopped and exits 130`, async () => {
      const db = join(dir, `${signal}.sqlite`);
      // 1 ms of CPU per request: 20,000 requests take 20 s, so the signal lands mid-run.
      const run = await startRun(db, '20000', 'costUs=1000');
      const { child } = run;
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code).toBe(130);
      expect(run.stderr()).toContain(`${signal}: stopping`);
      const summary = JSON.parse(run.stdout().trim().split('\n').at(-1) as string) as {
        items: number;
        completed: number;
        cancelled: number;
        failed: number;
        runId: string;
      };
      expect(summary.items).toBeGreaterThan(0);
      expect(summary.completed).toBeLessThan(20_000);
      // Nothing lost: every posted job either completed or was cancelled (and reported).
      expect(summary.completed + summary.cancelled + summary.failed).toBe(summary.items);
      const log = await SqliteEventLog.open({ path: db });
      try {
        const events = await log.since(summary.runId, 0);
        expect(events.at(-1)?.topic).toBe('run.stopped');
        expect(events.filter((e) => e.topic === 'job.cancelled')).toHaveLength(summary.cancelled);
      } finally {
        await log.close();
      }
    }, 60_000);
  }
});

describe('sluice run under a second SIGINT', () => {
  it('cancels unfinished jobs at once, still prints the summary, records run.stopped and exits 130', async () => {
    const db = join(dir, 'twice.sqlite');
    // 20 ms per request: a graceful close would wait its full 5 s; the second signal cuts it short.
    const run = await startRun(db, '2000', 'costUs=20000');
    const { child } = run;
    child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(run.stderr()).toContain('SIGINT again: cancelling unfinished jobs now');
    const summary = JSON.parse(run.stdout().trim().split('\n').at(-1) as string) as {
      items: number;
      completed: number;
      cancelled: number;
      failed: number;
      runId: string;
    };
    expect(summary.cancelled).toBeGreaterThan(0);
    expect(summary.completed + summary.cancelled + summary.failed).toBe(summary.items);
    const log = await SqliteEventLog.open({ path: db });
    try {
      const events = await log.since(summary.runId, 0);
      const stopped = events.filter((e) => e.topic === 'run.stopped');
      expect(stopped).toHaveLength(1);
      expect(stopped[0]?.payload).toMatchObject({ drained: false, destroyed: true, cancelled: summary.cancelled });
      expect(events.filter((e) => e.topic === 'job.cancelled')).toHaveLength(summary.cancelled);
    } finally {
      await log.close();
    }
  }, 60_000);
});

/**
 * Checkpoints end to end, on a real SQLite file and real processes: a checkpoint mid-run with
 * items queued in several slots, a close that saves instead of draining, a new process that
 * resumes and processes every saved item exactly once; a kill -9 after a checkpoint, resumed
 * (posts after the checkpoint are not in it, and the recorded events say which jobs are); items
 * waiting to retry; an incompatible flow refused naming the difference; coded errors at the edges.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.ts';
import { SqliteEventLog } from '../../src/store/index.ts';
import flow, { hold, release } from '../fixtures/flows/checkpointed.ts';
import { ErrorCode, expectCode, tick } from '../fixtures/helpers.ts';

const run = promisify(execFile);
const child = fileURLToPath(new URL('../fixtures/checkpoint-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Resumed {
  finished: boolean;
  workerId: string;
  left: { got: number[] } | undefined;
  right: { got: number[] } | undefined;
  jobs: Array<{ jobId: string; status: string; data: Record<string, unknown> }>;
  error?: { code: string; message: string };
}

/** Runs the child in `mode`; resolves its JSON line (and the exit signal). */
async function childRun(args: string[]): Promise<{ json: unknown; signal: string | null }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', child, ...args], { timeout: 60_000 });
    return { json: JSON.parse(stdout.trim().split('\n').at(-1) as string), signal: null };
  } catch (error) {
    const e = error as { stdout: string; signal: string | null; stderr: string };
    if (e.signal !== 'SIGKILL') throw new Error(`child failed: ${e.stderr}`);
    return { json: JSON.parse(e.stdout.trim().split('\n').at(-1) as string), signal: e.signal };
  }
}

const sorted = (values: number[] | undefined) => [...(values ?? [])].sort((a, b) => a - b);
const range = (n: number, times = 1) => Array.from({ length: n }, (_, i) => i * times);

describe('checkpoint and resume', () => {
  it('saves items queued in several slots mid-run; close saves, not drains; a new process runs each item once', async () => {
    const db = join(dir, 'close.sqlite');
    const runtime = new Runtime({ record: { log: db }, heartbeatMs: 0 });
    await runtime.start();
    runtime.register(flow);
    const worker = runtime.exec('checkpointed', { workerId: 'w1' });
    let completedHere: string[] = [];
    hold();
    try {
      for (let i = 0; i < 40; i++) runtime.post('checkpointed', 'relay', 'in', i, { workerId: 'w1', jobId: `c-${i}`, metadata: { i } });
      await tick(5);
      const queued = worker.toJSON().queues.filter((q) => q.length > 0);
      expect(queued.map((q) => `${q.routineId}.${q.slot}`).sort()).toEqual(['left.in', 'right.in']);
      // Mid-run: the held activations finish while the checkpoint waits; nothing else starts.
      const taking = worker.checkpoint();
      release();
      hold();
      const first = await taking;
      expect(first).toMatchObject({ workerId: 'w1', flowId: 'checkpointed', version: 1, jobs: 40, items: 80 });
      // The worker goes on after a checkpoint: let two more items through, then hold again.
      release();
      await tick(20);
      hold();
      completedHere = runtime.listJobs({ status: 'completed' }).map((job) => job.jobId);
      const report = await runtime.close({ checkpoint: true, timeout: 5_000 });
      expect(report.cancelled.length).toBe(40 - completedHere.length);
      const [latest] = runtime.checkpoints('checkpointed');
      expect(latest?.checkpointId).toBeGreaterThan(first.checkpointId);
    } finally {
      release();
    }
    const resumed = (await childRun(['resume', db])).json as Resumed;
    expect(resumed.finished).toBe(true);
    expect(resumed.workerId).toBe('w1');
    // Items in = items out: every item reached each keeper once, across both processes.
    expect(sorted(resumed.left?.got)).toEqual(range(40, 10));
    expect(sorted(resumed.right?.got)).toEqual(range(40, 10));
    // The jobs cancelled at close came back under their ids and completed; those done before did not.
    const expected = range(40)
      .map((i) => `c-${i}`)
      .filter((id) => !completedHere.includes(id));
    expect(resumed.jobs.map((j) => j.jobId).sort()).toEqual(expected.sort());
    expect(resumed.jobs.every((j) => j.status === 'completed')).toBe(true);
  }, 90_000);

  it('after kill -9 resumes the last checkpoint: what it held runs once, later posts are not in it, the log says which', async () => {
    const db = join(dir, 'killed.sqlite');
    const killed = await childRun(['run', db, '25', '7']);
    expect(killed.signal).toBe('SIGKILL');
    const info = killed.json as { checkpointId: number; items: number; jobs: number };
    expect(info).toMatchObject({ jobs: 25, items: 50 });
    const resumed = (await childRun(['resume', db])).json as Resumed;
    expect(resumed.finished).toBe(true);
    expect(sorted(resumed.left?.got)).toEqual(range(25, 10));
    expect(sorted(resumed.right?.got)).toEqual(range(25, 10));
    expect(resumed.jobs.map((j) => j.jobId).sort()).toEqual(
      range(25)
        .map((i) => `job-${i}`)
        .sort(),
    );
    expect(resumed.jobs.every((j) => j.status === 'completed' && j.data[`kept-${Number(j.jobId.slice(4)) * 10}`] === true)).toBe(true);
    // The recording of the killed run names the saved jobs; the late posts came after that event.
    const log = await SqliteEventLog.open({ path: db, readonly: true });
    try {
      const [run] = await log.runs();
      const events = [];
      for await (const event of log.replay(run?.runId as string)) events.push(event);
      const saved = events.find((e) => e.topic === 'worker.checkpointed');
      expect(saved?.payload).toMatchObject({ workerId: 'w-killed', checkpointId: info.checkpointId, jobs: 25 });
      const jobIds = (saved?.payload as { jobIds?: string[] } | undefined)?.jobIds ?? [];
      expect(jobIds).toHaveLength(25);
      expect(jobIds.some((id) => id.startsWith('late-'))).toBe(false);
    } finally {
      await log.close();
    }
  }, 90_000);

  it('refuses a flow that changed since, naming the difference', async () => {
    const db = join(dir, 'killed.sqlite');
    const resumed = (await childRun(['resume', db, 'renamed'])).json as Resumed;
    expect(resumed.error?.code).toBe(ErrorCode.CheckpointIncompatible);
    expect(resumed.error?.message).toContain('routine "right" has slots [input] now, had [in]');
  }, 60_000);

  it('saves items waiting to retry, and they run again after the resume', async () => {
    const db = join(dir, 'retry.sqlite');
    const runtime = new Runtime({ checkpoints: db, heartbeatMs: 0 });
    runtime.register(flow, { flaky: true });
    const worker = runtime.exec('checkpointed', { workerId: 'flaky' });
    runtime.post('checkpointed', 'relay', 'in', 0);
    runtime.post('checkpointed', 'relay', 'in', 1);
    await tick(10);
    // Item 0 failed its first attempt in `left` and waits a minute for its retry.
    const info = await worker.checkpoint();
    expect(info).toMatchObject({ items: 1, jobs: 1 });
    await runtime.close({ timeout: 0 });
    // Attempts start again at 1 after a resume: here the retried item succeeds (no flakiness).
    const again = new Runtime({ checkpoints: db, heartbeatMs: 0 });
    again.register(flow, { flaky: false });
    const resumed = again.exec('checkpointed', { resume: 'flaky', workerId: 'flaky-2' });
    expect(await again.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
    expect(resumed.getRoutineState('keepLeft')?.got).toContain(0);
    expect(again.listJobs({ status: 'completed' }).length).toBeGreaterThanOrEqual(1);
    await again.close();
  });

  it('is a coded error without a store, without a checkpoint, and for data that cannot be saved', async () => {
    const bare = new Runtime({ heartbeatMs: 0 });
    bare.register(flow);
    const w = bare.exec('checkpointed');
    await expect(w.checkpoint()).rejects.toMatchObject({ code: ErrorCode.NotRecorded });
    expect(() => bare.close({ checkpoint: true })).toThrow(/no checkpoint store/);
    await bare.close();
    const db = join(dir, 'edges.sqlite');
    const runtime = new Runtime({ checkpoints: db, heartbeatMs: 0 });
    runtime.register(flow);
    expectCode(() => runtime.exec('checkpointed', { resume: 'nobody' }), ErrorCode.CheckpointNotFound);
    const worker = runtime.exec('checkpointed');
    hold();
    try {
      runtime.post('checkpointed', 'relay', 'in', 1);
      runtime.post('checkpointed', 'relay', 'in', (() => 1) as unknown as number);
      await tick(5);
      const taking = worker.checkpoint();
      release();
      await expect(taking).rejects.toMatchObject({ code: ErrorCode.NotClonable });
    } finally {
      release();
    }
    await runtime.close({ timeout: 1_000 });
  });
});

/**
 * Faults in pool threads, end to end through a Runtime: errors that escape logic, values that
 * cannot be cloned or inspected, replies that cannot be posted, and poison items in dispatch
 * batches. Every test counts jobs in and out, and the process must survive each of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Runtime, type JobContext, type RuntimeOptions } from '../../src/index.ts';
import flowModule, { type FaultMode } from './fixtures/pool-faults.ts';

const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close({ timeout: 2_000 });
});

function start(mode: FaultMode, poison: number[], options: { retry?: boolean; pool?: RuntimeOptions['pool'] } = {}): Runtime {
  const runtime = new Runtime({ pool: { threads: 2, ...options.pool } });
  runtimes.push(runtime);
  runtime.register(flowModule, { id: 'faults', mode, poison, retry: options.retry ?? false, spinMs: 0 });
  return runtime;
}

async function postRange(
  runtime: Runtime,
  from: number,
  count: number,
  slot: 'source' | 'work' = 'source',
  values?: unknown[],
): Promise<JobContext[]> {
  const jobs: JobContext[] = [];
  const data = values ?? Array.from({ length: count }, (_, i) => from + i);
  for (const x of data) jobs.push(runtime.post('faults', slot, 'in', x)[1]);
  expect(await runtime.waitUntilAllJobsFinished({ timeout: 30_000 })).toBe(true);
  return jobs;
}

function tally(jobs: JobContext[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const job of jobs) {
    const key = job.status === 'completed' ? 'completed' : `${job.status}:${job.error?.code}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('nothing a pool thread does kills the main process', () => {
  for (const mode of ['timer-throw', 'reject'] as const) {
    it(`${mode === 'reject' ? 'an unhandled rejection' : 'a throw from a timer'} in an idle thread: the thread is replaced, counted ` +
      `and published; every job completes and later work runs`, async () => {
      const runtime = start(mode, [3]);
      const published: string[] = [];
      runtime.bus.subscribe('pool.thread_error', (e) => void published.push((e.payload as { message: string }).message));
      const first = await postRange(runtime, 0, 50);
      expect(tally(first)).toEqual({ completed: 50 });
      // The timer fires after its activation settled; wait for the thread to die and be replaced.
      const deadline = Date.now() + 10_000;
      while (runtime.pool.stats().threadErrors === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(runtime.pool.stats().threadErrors).toBe(1);
      expect(runtime.pool.stats().lastThreadError?.message).toMatch(mode === 'reject' ? /unhandled 3/ : /timer boom 3/);
      expect(published).toHaveLength(1);
      const later = await postRange(runtime, 100, 20);
      expect(tally(later)).toEqual({ completed: 20 });
    }, 30_000);
  }

  it('a throw from a timer while its activation still runs fails that activation with SLUICE_ERR_WORKER_CRASHED; its batch-mates ' +
    'complete', async () => {
    const runtime = start('busy-throw', [7], { pool: { dispatchBatch: 64 } });
    const jobs = await postRange(runtime, 0, 40);
    expect(tally(jobs)).toEqual({ completed: 39, [`failed:${ErrorCode.WorkerCrashed}`]: 1 });
    expect(jobs[7]?.status).toBe('failed');
  }, 30_000);
});

describe('the clone check never throws out of sluice', () => {
  it('a revoked Proxy, a throwing getter and a function in one batch fail only their own items with SLUICE_ERR_NOT_CLONABLE; their ' +
    'batch-mates run', async () => {
    const runtime = start('none', [], { pool: { threads: 1, dispatchBatch: 16 } });
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
    revoke();
    const getter = {
      get boom(): number {
        throw new Error('getter boom');
      },
    };
    const values: unknown[] = [1, proxy, 2, getter, 3, () => 4, 5, { nested: { p: proxy } }, 6];
    const jobs = await postRange(runtime, 0, values.length, 'work', values);
    expect(tally(jobs)).toEqual({ completed: 5, [`failed:${ErrorCode.NotClonable}`]: 4 });
    const messages = jobs.filter((j) => j.status === 'failed').map((j) => j.error?.message ?? '');
    for (const message of messages) expect(message).toMatch(/Routine "work" .*slot "in"/);
    expect(messages[0]).toMatch(/cannot be inspected.*revoked/);
    expect(messages[1]).toMatch(/items\[0\]\.boom .*getter boom/);
    expect(messages[2]).toMatch(/function/);
    // Getter alone in its batch: postMessage itself throws reading it; still only its own item fails.
    const alone = await postRange(runtime, 0, 3, 'work', [10, getter, 11]);
    expect(tally(alone)).toEqual({ completed: 2, [`failed:${ErrorCode.NotClonable}`]: 1 });
  }, 30_000);
});

describe('replies are never silently dropped', () => {
  it('a routine that emits the same cached typed array in every batch: copied by default, every job completes with its data', async () => {
    const runtime = start('cache-typed', [], { pool: { threads: 1, dispatchBatch: 4 } });
    const jobs = await postRange(runtime, 0, 24);
    expect(tally(jobs)).toEqual({ completed: 24 });
    for (const job of jobs) expect(job.data.out).toMatchObject({ length: 1024 });
  }, 30_000);

  it('an explicit transfer moves the buffer; transferring a buffer that is already detached fails with SLUICE_ERR_NOT_CLONABLE, never ' +
    'a hang', async () => {
    const runtime = start('transfer', [], { pool: { threads: 1, dispatchBatch: 4 } });
    const jobs = await postRange(runtime, 0, 12);
    expect(tally(jobs)).toEqual({ completed: 12 });
    for (const [i, job] of jobs.entries()) expect(job.data.out).toEqual({ item: i, length: 1024, first: i });
    // The same cached buffer transferred batch after batch: detached after the first reply.
    const buggy = start('cache-transfer', [], { pool: { threads: 1, dispatchBatch: 4 } });
    const later = await postRange(buggy, 0, 12);
    const counts = tally(later);
    expect(counts.completed).toBeGreaterThanOrEqual(1);
    expect((counts.completed ?? 0) + (counts[`failed:${ErrorCode.NotClonable}`] ?? 0)).toBe(12);
    const failed = later.find((j) => j.status === 'failed');
    expect(failed?.error?.message).toMatch(/detached ArrayBuffer/);
  }, 30_000);
});

describe('a poison item fails alone', () => {
  it('an item that crashes its thread on every attempt under RETRY: 1 failed job, every other job of its batches completed', async () => {
    const runtime = start('crash', [5], { retry: true, pool: { dispatchBatch: 64 } });
    const jobs = await postRange(runtime, 0, 200);
    expect(tally(jobs)).toEqual({ completed: 199, [`failed:${ErrorCode.RetriesExhausted}`]: 1 });
    expect(jobs[5]?.error?.message).toContain('failed 3 times');
    expect((jobs[5]?.error?.cause as { code?: string } | undefined)?.code).toBe(ErrorCode.WorkerCrashed);
  }, 60_000);

  it('logic that throws for one item of a pool dispatch batch, without RETRY: only that job fails', async () => {
    const runtime = start('throw', [3, 17], { pool: { dispatchBatch: 64 } });
    const jobs = await postRange(runtime, 0, 64);
    expect(tally(jobs)).toEqual({ completed: 62, [`failed:${ErrorCode.RoutineFailed}`]: 2 });
  }, 30_000);

  it('ctx.failJob on a pool thread fails one job of the batch with the error, the others complete', async () => {
    const runtime = start('fail-job', [2, 9], { pool: { dispatchBatch: 16 } });
    const jobs = await postRange(runtime, 0, 16);
    expect(tally(jobs)).toEqual({ completed: 14, [`failed:${ErrorCode.RoutineFailed}`]: 2 });
    expect(jobs[2]?.error?.message).toContain('reading 2 out of range');
  }, 30_000);
});

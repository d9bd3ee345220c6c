import { describe, expect, it, vi } from 'vitest';
import { ErrorCode, Runtime, type WorkerState } from '../../src/index.ts';
import { resolveThreadPoolOptions } from '../../src/pool/index.ts';
import probe from '../fixtures/flows/pool-probe.ts';
import { expectCode, expectRejectCode } from '../fixtures/helpers.ts';
import { range } from './helpers.ts';

/** Posts `n` items and returns the most activations that ran at the same time in threads. */
async function measure(runtime: Runtime, worker: WorkerState, counters: Int32Array, n: number): Promise<number> {
  Atomics.store(counters, 1, 0);
  for (const i of range(n)) runtime.post(worker.flowId, 'source', 'in', i, { workerId: worker.workerId });
  expect(await runtime.waitUntilAllJobsFinished({ timeout: 20_000 })).toBe(true);
  return Atomics.load(counters, 1);
}

describe('runtime.pool.resize(n)', () => {
  it('changes how many activations run at once, up, down, and past maxThreads', async () => {
    const buffer = new SharedArrayBuffer(12);
    const counters = new Int32Array(buffer);
    const runtime = new Runtime({ pool: { threads: 1, maxThreads: 2, dispatchBatch: 1 } });
    runtime.register(probe, { id: 'resize', mode: 'concurrency', counters: buffer, spinMs: 30 });
    const worker = runtime.exec('resize');
    await runtime.pool.warmUp();
    expect(await measure(runtime, worker, counters, 6)).toBe(1);

    runtime.pool.resize(2);
    await runtime.pool.warmUp();
    expect(runtime.pool.stats().threads).toBe(2);
    expect(await measure(runtime, worker, counters, 8)).toBe(2);

    runtime.pool.resize(1);
    expect(await measure(runtime, worker, counters, 6)).toBe(1);

    // Past the ceiling: a larger Piscina pool is swapped in, the old one drains.
    runtime.pool.resize(3);
    expect(runtime.pool.stats().maxThreads).toBe(3);
    await runtime.pool.warmUp();
    expect(await measure(runtime, worker, counters, 9)).toBe(3);
    expect(Atomics.load(counters, 2)).toBe(6 + 8 + 6 + 9);

    const stats = runtime.pool.stats();
    expect(stats).toMatchObject({ status: 'running', threads: 3, dispatchBatch: 1, busy: 0, queueDepth: 0 });
    expect(stats.threadsAlive).toBeGreaterThanOrEqual(3);
    expect(stats.runTime.p50).toBeGreaterThan(0);
    expect(typeof stats.waitTime.p99).toBe('number');
    const perThread = await runtime.pool.threadStats();
    expect(perThread.length).toBeGreaterThanOrEqual(3);
    expect(perThread.reduce((n, t) => n + t.activations, 0)).toBeGreaterThan(0);
    await runtime.close();
    expect(runtime.pool.status).toBe('closed');
  });

  it('packs activations into dispatch batches of the current size', async () => {
    const runtime = new Runtime({ pool: { threads: 1, dispatchBatch: 32 } });
    runtime.register(probe, { id: 'batching' });
    const worker = runtime.exec('batching');
    await runtime.pool.warmUp();
    for (const i of range(256)) runtime.post('batching', 'source', 'in', i, { workerId: worker.workerId });
    await runtime.waitUntilAllJobsFinished({ timeout: 20_000 });
    const first = runtime.pool.stats();
    expect(first.activationsSent).toBe(256);
    expect(first.meanBatch).toBeGreaterThan(8);
    runtime.pool.setDispatchBatch(1);
    expect(runtime.pool.stats().dispatchBatch).toBe(1);
    for (const i of range(20)) runtime.post('batching', 'source', 'in', i, { workerId: worker.workerId });
    await runtime.waitUntilAllJobsFinished({ timeout: 20_000 });
    const second = runtime.pool.stats();
    expect(second.batchesSent - first.batchesSent).toBe(20);
    await runtime.close();
  });

  it('validates the setters and options', async () => {
    const runtime = new Runtime({ pool: { threads: 1, maxThreads: 2 } });
    expectCode(() => runtime.pool.resize(0), ErrorCode.InvalidArgument);
    expectCode(() => runtime.pool.resize(1.5), ErrorCode.InvalidArgument);
    expectCode(() => runtime.pool.setDispatchBatch(0), ErrorCode.InvalidArgument);
    expectCode(() => resolveThreadPoolOptions({ threads: 3, maxThreads: 2 }), ErrorCode.InvalidArgument);
    expectCode(() => resolveThreadPoolOptions({ threads: 0 }), ErrorCode.InvalidArgument);
    expectCode(() => resolveThreadPoolOptions({ flushMs: -1 }), ErrorCode.InvalidArgument);
    expectCode(() => new Runtime({ pool: { treads: 2 } as never }), ErrorCode.InvalidArgument);
    await runtime.close();
    expectCode(() => runtime.pool.resize(2), ErrorCode.PoolClosed);
    await expectRejectCode(runtime.pool.warmUp(), ErrorCode.PoolClosed).catch(() => undefined);
  });
});

describe('cancellation reaches activations in threads', () => {
  it('job.cancel() aborts the signal of the running pool activation', async () => {
    const runtime = new Runtime({ pool: { threads: 1, dispatchBatch: 1 } });
    runtime.register(probe, { id: 'cancel', mode: 'abort' });
    const worker = runtime.exec('cancel');
    const [, job] = runtime.post('cancel', 'source', 'in', 1, { workerId: worker.workerId });
    await vi.waitFor(async () => expect((await runtime.pool.threadStats()).some((t) => t.running > 0)).toBe(true), {
      timeout: 10_000,
      interval: 20,
    });
    job.cancel('test');
    expect(job.status).toBe('cancelled');
    // The logic waits for its signal; it returns only because the abort reached the thread.
    await vi.waitFor(async () => expect(runtime.pool.stats().busy).toBe(0), { timeout: 5_000, interval: 20 });
    expect((await runtime.pool.threadStats()).every((t) => t.running === 0)).toBe(true);
    expect(worker.getRoutineState('sink')?.got).toBeUndefined();
    await runtime.close();
  });

  it('an injected Piscina is used and left open', async () => {
    const { Piscina } = await import('piscina');
    const piscina = new Piscina({ maxThreads: 1, minThreads: 1 });
    const runtime = new Runtime({ pool: piscina });
    runtime.register(probe, { id: 'injected' });
    const worker = runtime.exec('injected');
    for (const i of range(10)) runtime.post('injected', 'source', 'in', i, { workerId: worker.workerId });
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 20_000 })).toBe(true);
    expect((worker.getRoutineState('sink')!.got as unknown[]).length).toBe(10);
    expect(runtime.pool.stats().injected).toBe(true);
    expectCode(() => runtime.pool.resize(2), ErrorCode.InvalidArgument);
    await runtime.close();
    expect(piscina.threads.length).toBeGreaterThan(0);
    await piscina.destroy();
  });
});

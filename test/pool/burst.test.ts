/** A burst of CPU work spreads over idle threads: a dispatch batch never holds work back from an idle thread. */
import { describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.ts';
import noopModule from '../../bench/pool-flows.ts';

async function burst(jobs: number, dispatchBatch?: number) {
  const runtime = new Runtime({ pool: { threads: 2, maxThreads: 2, ...(dispatchBatch === undefined ? {} : { dispatchBatch }) } });
  try {
    runtime.register(noopModule, { id: 'burst', shape: 'spin', spinMs: 5 });
    const worker = runtime.exec('burst');
    const flow = runtime.getFlow('burst');
    await runtime.pool.warmUp({
      flows: [{ flow, moduleUrl: (flow.source as { moduleUrl: string }).moduleUrl, params: flow.source?.params }],
    });
    for (let i = 0; i < jobs; i++) runtime.post('burst', 'spin', 'in', i);
    await runtime.waitUntilAllJobsFinished({ timeout: 30_000 });
    expect(worker.counters.jobsProcessed).toBe(jobs);
    const perThread = (await runtime.pool.threadStats()).map((t) => t.activations).sort((a, b) => a - b);
    return { perThread, stats: runtime.pool.stats() };
  } finally {
    await runtime.close();
  }
}

describe('bursts spread over idle threads (default dispatch batch 64)', () => {
  it('8 jobs posted at once on 2 idle threads run 4 and 4, not 8 on one', async () => {
    const { perThread, stats } = await burst(8);
    expect(stats.dispatchBatch).toBe(64);
    expect(perThread).toEqual([4, 4]);
    expect(stats.batchesSent).toBe(2);
  }, 30_000);

  it('70 jobs split about evenly (32/38: half of the first full batch, then the rest), not 64/6', async () => {
    const { perThread } = await burst(70);
    expect(perThread.reduce((a, b) => a + b, 0)).toBe(70);
    expect(perThread[0]).toBeGreaterThanOrEqual(30);
  }, 30_000);

  it('a stream larger than one batch per idle thread still goes in whole batches once the pool is busy', async () => {
    const { stats } = await burst(1_000, 64);
    expect(stats.meanBatch).toBeGreaterThan(16);
  }, 60_000);
});

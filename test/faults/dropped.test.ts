/** Fault: an item evicted by `dropOldest` — its job must not end as completed. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime } from '../../src/index.ts';
import { tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

describe('evicted is not completed', () => {
  it('a job whose only item was evicted fails with SLUICE_ERR_ITEM_DROPPED, counted in stats and in job.failed events', async () => {
    const runtime = new Runtime();
    const failed: Array<{ jobId: string; code: string }> = [];
    runtime.bus.subscribe('job.failed', (e) => {
      const p = e.payload as { jobId: string; error: { code: string } };
      failed.push({ jobId: p.jobId, code: p.error.code });
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: unknown[] = [];
    const sink = makeRoutine({
      slots: [['in', { maxQueueLength: 3, overflow: 'dropOldest' }]],
      logic: async (items) => {
        await gate;
        seen.push(...(items.in ?? []));
      },
    });
    runtime.register(new Flow('lossy').addRoutine(sink, 'sink'));
    const jobs = Array.from({ length: 10 }, (_, i) => runtime.post('lossy', 'sink', 'in', i)[1]);
    await tick();
    release();
    await runtime.waitUntilAllJobsFinished();
    await tick();
    const completed = jobs.filter((j) => j.status === 'completed');
    const dropped = jobs.filter((j) => j.error?.code === ErrorCode.ItemDropped);
    // Items in = items out: every job either ran its item or failed as dropped.
    expect(completed.length + dropped.length).toBe(10);
    expect(seen).toHaveLength(completed.length);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((j) => j.status === 'failed')).toBe(true);
    const [worker] = runtime.listWorkers();
    expect(worker?.counters).toMatchObject({ itemsDropped: dropped.length, jobsDropped: dropped.length, jobsProcessed: completed.length });
    expect(
      failed
        .filter((f) => f.code === ErrorCode.ItemDropped)
        .map((f) => f.jobId)
        .sort(),
    ).toEqual(dropped.map((j) => j.jobId).sort());
    await runtime.close();
  });
});

/** omega-runtime's `get_metrics()`: job latency per flow and activation durations per routine, not only counters. */
import { describe, expect, it } from 'vitest';
import { Flow, Runtime } from '../../src/index.ts';
import { makeRoutine } from '../fixtures/routines.ts';

describe('runtime.stats() carries latency', () => {
  it('job latency per flow (count, avg, p50, p99, max) and activation duration per routine', async () => {
    const runtime = new Runtime();
    const slow = makeRoutine({
      events: ['out'],
      logic: (items) =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            for (const x of items.in ?? []) slow.emit('out', x);
            resolve();
          }, 20),
        ),
    });
    const fast = makeRoutine({ logic: () => undefined });
    runtime.register(new Flow('timed').addRoutine(slow, 'slow', { concurrency: 10 }).addRoutine(fast, 'fast').pipe('slow', 'fast'));
    runtime.register(new Flow('quick').addRoutine(makeRoutine({ logic: () => undefined }), 'only'));
    for (let i = 0; i < 10; i++) runtime.post('timed', 'slow', 'in', i);
    for (let i = 0; i < 5; i++) runtime.post('quick', 'only', 'in', i);
    await runtime.waitUntilAllJobsFinished();
    const stats = runtime.stats();
    expect(Object.keys(stats.jobLatency).sort()).toEqual(['quick', 'timed']);
    const timed = stats.jobLatency.timed!;
    expect(timed.count).toBe(10);
    expect(timed.p50Ms).toBeGreaterThanOrEqual(15);
    expect(timed.p99Ms).toBeGreaterThanOrEqual(timed.p50Ms);
    expect(timed.maxMs).toBeGreaterThanOrEqual(timed.p99Ms);
    expect(timed.avgMs).toBeGreaterThan(0);
    expect(stats.jobLatency.quick!.count).toBe(5);
    expect(stats.jobLatency.quick!.p50Ms).toBeLessThan(timed.p50Ms);
    const byRoutine = Object.fromEntries(stats.activations.map((a) => [a.routineId, a]));
    expect(byRoutine.slow).toMatchObject({ count: 10 });
    expect(byRoutine.slow!.p50Ms).toBeGreaterThanOrEqual(15);
    expect(byRoutine.fast).toMatchObject({ count: 10 });
    expect(byRoutine.fast!.p50Ms).toBeLessThan(byRoutine.slow!.p50Ms);
    expect(byRoutine.only).toMatchObject({ count: 5 });
    await runtime.close();
  });
});

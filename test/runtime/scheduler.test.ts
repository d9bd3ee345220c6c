/** The scheduler: event-driven, depth-first, and it yields to the event loop during long bursts. */
import { describe, expect, it } from 'vitest';
import { Flow, Runtime } from '../../src/index.ts';
import { Pass, makeRoutine } from '../fixtures/routines.ts';

describe('scheduler', () => {
  it('yields to the event loop during a long burst, so timers and I/O are not starved', async () => {
    const runtime = new Runtime({ drainBudgetMs: 0.1 });
    let processed = 0;
    runtime.register(
      new Flow('burst')
        .addRoutine(new Pass({ maxQueueLength: 100_000 }), 'a')
        .addRoutine(makeRoutine({ logic: () => void processed++ }), 'b')
        .pipe('a', 'b'),
    );
    const total = 20_000;
    for (let i = 0; i < total; i++) runtime.post('burst', 'a', 'in', i);
    let seenByMacrotask = -1;
    setImmediate(() => (seenByMacrotask = processed));
    await runtime.waitUntilAllJobsFinished();
    expect(processed).toBe(total);
    expect(seenByMacrotask).toBeGreaterThanOrEqual(0);
    expect(seenByMacrotask).toBeLessThan(total);
  });

  it('moves items depth-first: a downstream routine runs before its upstream takes the next item', async () => {
    const order: string[] = [];
    const runtime = new Runtime();
    runtime.register(
      new Flow('depth')
        .addRoutine(
          makeRoutine({
            events: ['out'],
            logic: ({ in: items }, ctx) => {
              order.push(`a${String(items![0])}`);
              ctx.emit('out', items![0]);
            },
          }),
          'a',
        )
        .addRoutine(makeRoutine({ logic: ({ in: items }) => void order.push(`b${String(items![0])}`) }), 'b')
        .pipe('a', 'b'),
    );
    for (let i = 0; i < 3; i++) runtime.post('depth', 'a', 'in', i);
    await runtime.waitUntilAllJobsFinished();
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    const worker = runtime.listWorkers()[0];
    expect(Math.max(...worker!.queueStatus().map((q) => q.counters.enqueued - q.counters.consumed))).toBe(0);
  });

  it('a throwing or rejecting logic never leaves an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const runtime = new Runtime();
      runtime.register(
        new Flow('boom').addRoutine(
          makeRoutine({
            logic: async ({ in: items }) => {
              if (items![0] === 'sync') throw new Error('sync');
              await Promise.resolve();
              throw new Error('async');
            },
          }),
          'r',
          { errorHandler: { strategy: 'continue' } },
        ),
      );
      for (const x of ['sync', 'async', 'sync', 'async']) runtime.post('boom', 'r', 'in', x);
      await runtime.waitUntilAllJobsFinished();
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(runtime.listJobs().map((j) => j.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

/** WorkerState: its own id, flow, status, state copies, capped history, counters, toJSON; isolation. */
import { describe, expect, it } from 'vitest';
import { Flow, Runtime, batchSize, type ActivationContext, type SlotItems } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { Routine } from '../../src/index.ts';
import { tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

/** Counts the items it saw in its per-worker state and keeps a nested list. */
class Counter extends Routine {
  constructor() {
    super();
    this.addSlot('in', { maxQueueLength: 4 });
  }

  logic({ in: items }: SlotItems, ctx: ActivationContext): void {
    const count = ((ctx.state.count as number | undefined) ?? 0) + items!.length;
    const seen = [...((ctx.state.seen as unknown[] | undefined) ?? []), ...items!];
    ctx.setState({ count, seen });
  }
}

describe('WorkerState', () => {
  it('has its id, flow id and status, and counters that follow its jobs', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Counter(), 'c'));
    const worker = runtime.exec('f', { workerId: 'w1' });
    expect([worker.workerId, worker.flowId, worker.status]).toEqual(['w1', 'f', 'running']);
    for (let i = 0; i < 3; i++) runtime.post('f', 'c', 'in', i, { workerId: 'w1' });
    await runtime.waitUntilAllJobsFinished();
    expect(worker.counters).toEqual({
      jobsPosted: 3,
      jobsProcessed: 3,
      jobsFailed: 0,
      jobsCancelled: 0,
      jobsDropped: 0,
      activations: 3,
      activationErrors: 0,
      itemsDropped: 0,
      itemsDiscarded: 0,
    });
    const copy = worker.counters;
    copy.activations = 99;
    expect(worker.counters.activations).toBe(3);
  });

  it('routineStates and getRoutineState return copies; mutating them changes nothing', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Counter(), 'c'));
    const [worker] = runtime.post('f', 'c', 'in', 'a');
    await runtime.waitUntilAllJobsFinished();
    const states = worker.routineStates;
    expect(states).toEqual({ c: { count: 1, seen: ['a'] } });
    (states.c as { count: number }).count = 100;
    (states.c!.seen as unknown[]).push('evil');
    const one = worker.getRoutineState('c');
    (one.seen as unknown[]).push('evil');
    expect(worker.routineStates).toEqual({ c: { count: 1, seen: ['a'] } });
    expect(worker.getRoutineState('nobody')).toEqual({});
    runtime.post('f', 'c', 'in', 'b');
    await runtime.waitUntilAllJobsFinished();
    expect(worker.getRoutineState('c')).toEqual({ count: 2, seen: ['a', 'b'] });
  });

  it('ctx.state is a read-only view: writing to it does not change the state', async () => {
    const runtime = new Runtime();
    runtime.register(
      new Flow('f').addRoutine(
        makeRoutine({
          logic: (_items, ctx) => {
            ctx.setState({ n: 1 });
            (ctx.state as Record<string, unknown>).n = 2;
          },
        }),
        'r',
      ),
    );
    const [worker] = runtime.post('f', 'r', 'in', 1);
    await runtime.waitUntilAllJobsFinished();
    expect(worker.getRoutineState('r')).toEqual({ n: 1 });
  });

  it('keeps a capped execution history, oldest first', async () => {
    const runtime = new Runtime({ historyLimit: 3 });
    runtime.register(
      new Flow('f').addRoutine(
        makeRoutine({
          logic: ({ in: items }) => {
            if (items![0] === 'bad') throw new Error('bad');
          },
        }),
        'r',
      ),
    );
    const jobIds: string[] = [];
    for (const item of ['a', 'b', 'c', 'bad', 'e']) jobIds.push(runtime.post('f', 'r', 'in', item)[1].jobId);
    await runtime.waitUntilAllJobsFinished();
    const worker = runtime.listWorkers()[0];
    const history = worker?.executionHistory ?? [];
    expect(history.map((h) => h.jobIds[0])).toEqual(jobIds.slice(2));
    expect(history.map((h) => h.status)).toEqual(['ok', 'failed', 'ok']);
    expect(history[1]?.error?.message).toContain('bad');
    expect(history.every((h) => h.routineId === 'r' && h.items === 1)).toBe(true);
    history.length = 0;
    expect(worker?.executionHistory).toHaveLength(3);
  });

  it('historyLimit 0 records nothing', async () => {
    const runtime = new Runtime({ historyLimit: 0 });
    runtime.register(new Flow('f').addRoutine(makeRoutine({ logic: () => {} }), 'r'));
    const [worker] = runtime.post('f', 'r', 'in', 1);
    await runtime.waitUntilAllJobsFinished();
    expect(worker.executionHistory).toEqual([]);
  });

  it('toJSON is a plain, JSON-safe copy with counters, states, history and queues', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Counter(), 'c'));
    const [worker] = runtime.post('f', 'c', 'in', 1);
    await runtime.waitUntilAllJobsFinished();
    const json = JSON.parse(JSON.stringify(worker.toJSON()));
    expect(json).toMatchObject({
      workerId: worker.workerId,
      flowId: 'f',
      status: 'running',
      counters: { jobsProcessed: 1 },
      routineStates: { c: { count: 1 } },
      queues: [{ routineId: 'c', slot: 'in', length: 0, maxQueueLength: 4, pressure: 'low' }],
    });
    expect(json.executionHistory).toHaveLength(1);
    expect(typeof json.createdAt).toBe('string');
  });
});

describe('worker isolation', () => {
  it('two workers of one flow never share queues, routine state or policy state', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock });
    const batches: Array<{ worker: string; items: unknown[] }> = [];
    runtime.register(
      new Flow('iso').addRoutine(new Counter(), 'count').addRoutine(
        makeRoutine({
          slots: [['in', { maxQueueLength: 2 }]],
          policy: batchSize(2, { timeoutMs: 100 }),
          logic: ({ in: items }, ctx) => void batches.push({ worker: ctx.worker.workerId, items: items! }),
        }),
        'batch',
      ),
    );
    const a = runtime.exec('iso', { workerId: 'a' });
    const b = runtime.exec('iso', { workerId: 'b' });
    for (let i = 0; i < 3; i++) runtime.post('iso', 'count', 'in', `a${i}`, { workerId: 'a' });
    runtime.post('iso', 'count', 'in', 'b0', { workerId: 'b' });
    // One item in each worker's batch slot: neither makes a batch of two with the other's.
    runtime.post('iso', 'batch', 'in', 'a-item', { workerId: 'a' });
    runtime.post('iso', 'batch', 'in', 'a-item2', { workerId: 'a' });
    // Each worker's slot is bounded on its own: a's is full (2), b's still has room.
    expect(a.queueStatus().find((s) => s.routineId === 'batch')?.length).toBe(2);
    runtime.post('iso', 'batch', 'in', 'b-item', { workerId: 'b' });
    await tick();
    expect(a.getRoutineState('count')).toEqual({ count: 3, seen: ['a0', 'a1', 'a2'] });
    expect(b.getRoutineState('count')).toEqual({ count: 1, seen: ['b0'] });
    expect(batches).toEqual([{ worker: 'a', items: ['a-item', 'a-item2'] }]);
    expect(b.queueStatus().find((s) => s.routineId === 'batch')?.length).toBe(1);
    clock.advance(100);
    await tick();
    expect(batches).toEqual([
      { worker: 'a', items: ['a-item', 'a-item2'] },
      { worker: 'b', items: ['b-item'] },
    ]);
    expect(a.counters.jobsPosted).toBe(5);
    expect(b.counters.jobsPosted).toBe(2);
  });

  it('stopping one worker leaves the other serving', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('iso').addRoutine(new Counter(), 'count'));
    runtime.exec('iso', { workerId: 'a' });
    const b = runtime.exec('iso', { workerId: 'b' });
    await runtime.stopWorker('a');
    runtime.post('iso', 'count', 'in', 'x', { workerId: 'b' });
    await runtime.waitUntilAllJobsFinished();
    expect(b.getRoutineState('count')).toEqual({ count: 1, seen: ['x'] });
  });
});

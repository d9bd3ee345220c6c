/** What a full slot does, end to end: reject, dropOldest, block. Nothing is lost silently. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime, SlotQueueFullError, isSlotQueueFullError, type SlotOptions } from '../../src/index.ts';
import { deferred, expectCode, isSettled, tick, type Deferred } from '../fixtures/helpers.ts';
import { Pass, makeRoutine } from '../fixtures/routines.ts';

/** A sink whose activations each wait on a gate the test opens. */
function gatedSink(options: SlotOptions, seen: unknown[], gates: Deferred[]) {
  return makeRoutine({
    slots: [['in', options]],
    logic: async ({ in: items }) => {
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      seen.push(...items!);
    },
  });
}

async function openAll(gates: Deferred[]): Promise<void> {
  for (let i = 0; i < 100 && gates.length > 0; i++) {
    for (const g of gates.splice(0)) g.resolve();
    await tick();
  }
}

describe("overflow 'reject'", () => {
  it('post() throws SlotQueueFullError naming the slot and counts the rejection; nothing is half-posted', async () => {
    const seen: unknown[] = [];
    const gates: Deferred[] = [];
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(gatedSink({ maxQueueLength: 1 }, seen, gates), 'sink'));
    runtime.post('f', 'sink', 'in', 1);
    await tick(); // the sink takes item 1 and waits on its gate
    runtime.post('f', 'sink', 'in', 2);
    let thrown: unknown;
    try {
      runtime.post('f', 'sink', 'in', 3);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SlotQueueFullError);
    expect(isSlotQueueFullError(thrown)).toBe(true);
    expect((thrown as SlotQueueFullError).code).toBe(ErrorCode.QueueFull);
    expect((thrown as Error).message).toContain('sink.in');
    const [worker] = runtime.listWorkers();
    expect(worker?.queueStatus()[0]?.counters).toMatchObject({ rejected: 1, enqueued: 2 });
    expect(worker?.counters.jobsPosted).toBe(2);
    await openAll(gates);
    expect(await runtime.waitUntilAllJobsFinished()).toBe(true);
    expect(seen).toEqual([1, 2]);
  });

  it('an activation emitting into a full slot fails under its error handler; other jobs go on', async () => {
    const seen: unknown[] = [];
    const gates: Deferred[] = [];
    const runtime = new Runtime();
    runtime.register(
      new Flow('f')
        .addRoutine(new Pass(), 'src')
        .addRoutine(new Pass(), 'src2', { errorHandler: { strategy: 'continue' } })
        .addRoutine(gatedSink({ maxQueueLength: 1 }, seen, gates), 'sink')
        .pipe('src', 'sink')
        .pipe('src2', 'sink'),
    );
    const [, a] = runtime.post('f', 'src', 'in', 'a'); // taken by the sink
    await tick();
    const [, b] = runtime.post('f', 'src', 'in', 'b'); // queued in the sink
    await tick();
    const [, c] = runtime.post('f', 'src', 'in', 'c'); // refused: STOP fails the job
    const [, d] = runtime.post('f', 'src2', 'in', 'd'); // refused: CONTINUE records it
    await tick();
    expect(c.status).toBe('failed');
    expect(c.error?.code).toBe(ErrorCode.QueueFull);
    expect(c.traceLog.map((t) => [t.routineId, t.status])).toEqual([['src', 'failed']]);
    expect(d.status).toBe('completed');
    expect(d.errors.map((e) => e.code)).toEqual([ErrorCode.QueueFull]);
    await openAll(gates);
    await runtime.waitUntilAllJobsFinished();
    expect([a.status, b.status]).toEqual(['completed', 'completed']);
    expect(seen).toEqual(['a', 'b']);
  });
});

describe("overflow 'dropOldest'", () => {
  it('evicts the oldest item, counts it, and the evicted job fails with SLUICE_ERR_ITEM_DROPPED and a dropped trace', async () => {
    const seen: unknown[] = [];
    const gates: Deferred[] = [];
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(gatedSink({ maxQueueLength: 2, overflow: 'dropOldest' }, seen, gates), 'sink'));
    const jobs = [runtime.post('f', 'sink', 'in', 0)[1]];
    await tick(); // item 0 is running
    for (let i = 1; i <= 4; i++) jobs.push(runtime.post('f', 'sink', 'in', i)[1]);
    // Queue holds 2: items 1 and 2 were evicted by 3 and 4.
    const [worker] = runtime.listWorkers();
    expect(worker?.queueStatus()[0]).toMatchObject({ length: 2, counters: { dropped: 2, enqueued: 5 } });
    expect(worker?.counters.itemsDropped).toBe(2);
    for (const dropped of [jobs[1], jobs[2]]) {
      expect(dropped?.status).toBe('failed');
      expect(dropped?.error?.code).toBe(ErrorCode.ItemDropped);
      expect(dropped?.traceLog.map((t) => [t.routineId, t.status])).toEqual([['sink', 'dropped']]);
    }
    await openAll(gates);
    await runtime.waitUntilAllJobsFinished();
    expect(seen).toEqual([0, 3, 4]);
    expect([0, 3, 4].map((i) => jobs[i]?.status)).toEqual(['completed', 'completed', 'completed']);
    expect(worker?.counters).toMatchObject({ jobsProcessed: 3, jobsFailed: 2, jobsDropped: 2 });
  });

  it('applies to emitted items too', async () => {
    const seen: unknown[] = [];
    const gates: Deferred[] = [];
    const runtime = new Runtime();
    runtime.register(
      new Flow('f')
        .addRoutine(new Pass(), 'src')
        .addRoutine(gatedSink({ maxQueueLength: 1, overflow: 'dropOldest' }, seen, gates), 'sink')
        .pipe('src', 'sink'),
    );
    const jobs = [0, 1, 2, 3].map((i) => runtime.post('f', 'src', 'in', i)[1]);
    await tick();
    await openAll(gates);
    await runtime.waitUntilAllJobsFinished();
    const dropped = jobs.filter((j) => j.traceLog.some((t) => t.status === 'dropped'));
    // One runs, one stays queued at a time: everything in between is dropped, and counted.
    expect(seen.length + dropped.length).toBe(4);
    expect(dropped.length).toBeGreaterThan(0);
    expect(runtime.listWorkers()[0]?.counters.itemsDropped).toBe(dropped.length);
    expect(runtime.listWorkers()[0]?.counters.jobsDropped).toBe(dropped.length);
    for (const job of jobs) expect(job.status).toBe(dropped.includes(job) ? 'failed' : 'completed');
  });
});

describe("overflow 'block'", () => {
  it('post() refuses a full block slot and points to postAsync()', async () => {
    const gates: Deferred[] = [];
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(gatedSink({ maxQueueLength: 1, overflow: 'block' }, [], gates), 'sink'));
    runtime.post('f', 'sink', 'in', 1);
    await tick();
    runtime.post('f', 'sink', 'in', 2);
    expect(expectCode(() => runtime.post('f', 'sink', 'in', 3), ErrorCode.QueueFull).message).toContain('postAsync');
    await openAll(gates);
  });

  it('postAsync() waits for room and resolves once admitted; nothing is lost', async () => {
    const seen: unknown[] = [];
    const gates: Deferred[] = [];
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(gatedSink({ maxQueueLength: 1, overflow: 'block' }, seen, gates), 'sink'));
    await runtime.postAsync('f', 'sink', 'in', 1); // room: resolves at once
    await tick();
    await runtime.postAsync('f', 'sink', 'in', 2);
    const p3 = runtime.postAsync('f', 'sink', 'in', 3);
    const p4 = runtime.postAsync('f', 'sink', 'in', 4);
    expect(await isSettled(p3)).toBe(false);
    const [worker] = runtime.listWorkers();
    expect(worker?.queueStatus()[0]).toMatchObject({ length: 1, waiting: 2, pressure: 'critical', counters: { blocked: 2 } });
    gates.shift()?.resolve(); // item 1 done → item 2 taken → item 3 admitted
    await tick();
    expect(await isSettled(p3)).toBe(true);
    expect(await isSettled(p4)).toBe(false);
    const [, job3] = await p3;
    expect(job3.status).not.toBe('completed');
    await openAll(gates);
    const [, job4] = await p4;
    expect(await runtime.waitUntilAllJobsFinished()).toBe(true);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(job3.status).toBe('completed');
    expect(job4.status).toBe('completed');
    expect(worker?.counters).toMatchObject({ jobsPosted: 4, jobsProcessed: 4 });
  });

  it('postAsync() aborted while waiting rejects with SLUICE_ERR_ABORTED and cancels its job', async () => {
    const seen: unknown[] = [];
    const gates: Deferred[] = [];
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(gatedSink({ maxQueueLength: 1, overflow: 'block' }, seen, gates), 'sink'));
    runtime.post('f', 'sink', 'in', 1);
    await tick();
    runtime.post('f', 'sink', 'in', 2);
    const controller = new AbortController();
    const p = runtime.postAsync('f', 'sink', 'in', 3, { jobId: 'waiting', signal: controller.signal });
    await tick();
    controller.abort();
    await expect(p).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(runtime.getJob('waiting')?.status).toBe('cancelled');
    await openAll(gates);
    await runtime.waitUntilAllJobsFinished();
    expect(seen).toEqual([1, 2]);
  });

  it('an emitting routine is not activated again while its emitted item waits; nothing is lost', async () => {
    const seen: unknown[] = [];
    const gates: Deferred[] = [];
    let srcRuns = 0;
    const runtime = new Runtime();
    runtime.register(
      new Flow('f')
        .addRoutine(
          makeRoutine({
            events: ['out'],
            logic: ({ in: items }, ctx) => {
              srcRuns++;
              for (const x of items!) ctx.emit('out', x);
            },
          }),
          'src',
        )
        .addRoutine(gatedSink({ maxQueueLength: 1, overflow: 'block' }, seen, gates), 'sink')
        .pipe('src', 'sink'),
    );
    const n = 6;
    const jobs = Array.from({ length: n }, (_, i) => runtime.post('f', 'src', 'in', i)[1]);
    await tick();
    // sink runs item 0, holds item 1 queued; src emitted item 2, which waits: src is paused.
    expect(srcRuns).toBe(3);
    const [worker] = runtime.listWorkers();
    const status = Object.fromEntries(worker!.queueStatus().map((s) => [s.routineId, s]));
    expect(status.sink).toMatchObject({ length: 1, waiting: 1 });
    expect(status.src?.length).toBe(n - 3);
    await tick();
    expect(srcRuns).toBe(3);
    await openAll(gates);
    expect(await runtime.waitUntilAllJobsFinished()).toBe(true);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(srcRuns).toBe(n);
    expect(jobs.every((j) => j.status === 'completed')).toBe(true);
    expect(status.sink?.counters.rejected).toBe(0);
  });
});

/** Jobs: they complete by themselves, move through their statuses once, trace, cancel, and are capped. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime, allSlotsReady, batchSize, type JobStatus } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { deferred, tick } from '../fixtures/helpers.ts';
import { Collect, Pass, makeRoutine } from '../fixtures/routines.ts';

/** a → (b, c) → d(join of x, y): fan-out and a join. */
function diamond(seen: Array<{ data: unknown; jobId: string }>): Flow {
  return new Flow('diamond')
    .addRoutine(new Pass(), 'a')
    .addRoutine(new Pass(), 'b')
    .addRoutine(new Pass(), 'c')
    .addRoutine(
      makeRoutine({
        slots: ['x', 'y'],
        events: ['out'],
        policy: allSlotsReady(),
        logic: ({ x, y }, ctx) => ctx.emit('out', [x?.[0], y?.[0]]),
      }),
      'd',
    )
    .addRoutine(new Collect(seen), 'sink')
    .pipe('a', 'b', { id: 'd', slot: 'x' })
    .pipe('a', 'c', { id: 'd', slot: 'y' })
    .pipe('d', 'sink');
}

describe('job completion', () => {
  it('completes by itself through fan-out and a join, with one trace entry per activation', async () => {
    const seen: Array<{ data: unknown; jobId: string }> = [];
    const runtime = new Runtime();
    runtime.register(diamond(seen));
    const [, job] = runtime.post('diamond', 'a', 'in', 1, { metadata: { who: 'test' } });
    expect(job.status).toBe('pending');
    await job.done();
    expect(job.status).toBe('completed');
    expect(job.isTerminal).toBe(true);
    expect(job.inFlight).toBe(0);
    expect(seen).toEqual([{ data: [1, 1], jobId: job.jobId }]);
    expect(job.traceLog.map((t) => t.routineId).sort()).toEqual(['a', 'b', 'c', 'd', 'sink']);
    expect(job.traceLog.every((t) => t.status === 'ok' && t.attempt === 1 && t.items >= 1)).toBe(true);
    expect(job.metadata).toEqual({ who: 'test' });
    expect(job.finishedAt).toBeGreaterThanOrEqual(job.createdAt);
  });

  it('keeps jobs apart inside a batch: each completes when its own items are done', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock });
    const seen: Array<{ data: unknown; jobId: string }> = [];
    runtime.register(
      new Flow('b')
        .addRoutine(makeRoutine({ events: ['out'], policy: batchSize(2), logic: ({ in: items }, ctx) => ctx.emit('out', items) }), 'batch')
        .addRoutine(new Collect(seen), 'sink')
        .pipe('batch', 'sink'),
    );
    const jobs = [1, 2, 3].map((n) => runtime.post('b', 'batch', 'in', n)[1]);
    await tick();
    expect(jobs.map((j) => j.status)).toEqual(['completed', 'completed', 'pending']);
    // The batch's output belongs to both jobs of the batch.
    expect(seen).toEqual([
      { data: [1, 2], jobId: jobs[0]?.jobId },
      { data: [1, 2], jobId: jobs[1]?.jobId },
    ]);
    clock.advance(50);
    await tick();
    expect(jobs[2]?.status).toBe('completed');
  });

  it('moves pending → running → completed once', async () => {
    const gate = deferred();
    const observed: JobStatus[] = [];
    const runtime = new Runtime();
    runtime.register(
      new Flow('s').addRoutine(
        makeRoutine({
          logic: async (_items, ctx) => {
            observed.push(ctx.job.status);
            await gate.promise;
          },
        }),
        'r',
      ),
    );
    const [, job] = runtime.post('s', 'r', 'in', 1);
    observed.push(job.status);
    await tick();
    observed.push(job.status);
    gate.resolve();
    await job.done();
    observed.push(job.status);
    expect(observed).toEqual(['pending', 'running', 'running', 'completed']);
    job.cancel();
    expect(job.status).toBe('completed');
  });

  it('job.data is written by routines and toJSON is a plain copy', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('d').addRoutine(makeRoutine({ logic: (_i, ctx) => void (ctx.job.data.answer = 42) }), 'r'));
    const [, job] = runtime.post('d', 'r', 'in', 1, { jobId: 'my-job', metadata: { m: 1 } });
    await job.done();
    expect(job.data).toEqual({ answer: 42 });
    const json = job.toJSON();
    expect(json).toMatchObject({
      jobId: 'my-job',
      flowId: 'd',
      status: 'completed',
      metadata: { m: 1 },
      data: { answer: 42 },
      error: undefined,
      errors: [],
      traceDropped: 0,
    });
    expect(typeof json.createdAt).toBe('string');
    expect(JSON.parse(JSON.stringify(json)).traceLog).toHaveLength(1);
    json.data.answer = 0;
    json.traceLog.length = 0;
    expect(job.data.answer).toBe(42);
    expect(job.traceLog).toHaveLength(1);
  });

  it('caps the trace at traceLimit and counts what was dropped', async () => {
    const runtime = new Runtime({ traceLimit: 3 });
    const flow = new Flow('long');
    for (let i = 0; i < 6; i++) flow.addRoutine(new Pass(), `p${i}`);
    flow.pipe('p0', 'p1', 'p2', 'p3', 'p4', 'p5');
    runtime.register(flow);
    const [, job] = runtime.post('long', 'p0', 'in', 1);
    await job.done();
    expect(job.traceLog.map((t) => t.routineId)).toEqual(['p0', 'p1', 'p2']);
    expect(job.traceDropped).toBe(3);
    expect(job.toJSON().traceDropped).toBe(3);
  });
});

describe('job.cancel()', () => {
  it('removes queued items, aborts ctx.signal of the running activation, and delivers nothing emitted afterwards', async () => {
    const gate = deferred();
    const seen: Array<{ data: unknown; jobId: string }> = [];
    let signalAborted = false;
    let emitAfterCancel: unknown = 'not called';
    const runtime = new Runtime();
    runtime.register(
      new Flow('c')
        .addRoutine(
          makeRoutine({
            events: ['out'],
            logic: async ({ in: items }, ctx) => {
              ctx.signal.addEventListener('abort', () => (signalAborted = true));
              await gate.promise;
              try {
                ctx.emit('out', items![0]);
                emitAfterCancel = 'no throw';
              } catch (error) {
                emitAfterCancel = error;
              }
            },
          }),
          'slow',
        )
        .addRoutine(new Collect(seen), 'sink')
        .pipe('slow', 'sink'),
    );
    const [worker, job] = runtime.post('c', 'slow', 'in', 'first', { jobId: 'victim' });
    runtime.post('c', 'slow', 'in', 'second', { jobId: 'victim-2' });
    const [, other] = runtime.post('c', 'slow', 'in', 'third');
    await tick();
    // "first" runs; "second" and "third" are queued behind it.
    runtime.getJob('victim-2')?.cancel('test');
    job.cancel('test');
    expect(job.status).toBe('cancelled');
    expect(job.error?.code).toBe(ErrorCode.JobCancelled);
    expect(job.error?.message).toContain('test');
    expect(signalAborted).toBe(true);
    await tick();
    expect(worker.queueStatus().find((s) => s.routineId === 'slow')).toMatchObject({ length: 1, counters: { discarded: 1 } });
    gate.resolve();
    await runtime.waitUntilAllJobsFinished();
    await tick();
    expect(emitAfterCancel).toBe('no throw');
    expect(seen.map((s) => s.data)).toEqual(['third']);
    expect(other.status).toBe('completed');
    expect(worker.counters).toMatchObject({ jobsCancelled: 2, jobsProcessed: 1 });
    expect(runtime.getJob('victim-2')?.status).toBe('cancelled');
  });

  it('done() resolves for cancelled jobs and waitForJob returns them', async () => {
    const gate = deferred();
    const runtime = new Runtime();
    runtime.register(new Flow('c').addRoutine(makeRoutine({ logic: () => gate.promise }), 'r'));
    const [, job] = runtime.post('c', 'r', 'in', 1);
    const waiting = runtime.waitForJob(job.jobId);
    job.cancel();
    expect(await waiting).toBe(job);
    expect((await job.done()).status).toBe('cancelled');
    gate.resolve();
  });
});

describe('job history', () => {
  it('keeps at most jobHistoryLimit finished jobs, evicting the oldest finished only', async () => {
    const gate = deferred();
    const runtime = new Runtime({ jobHistoryLimit: 2 });
    runtime.register(
      new Flow('h').addRoutine(makeRoutine({ logic: ({ in: items }) => (items![0] === 'slow' ? gate.promise : undefined) }), 'r', {
        concurrency: 2,
      }),
    );
    const [, slow] = runtime.post('h', 'r', 'in', 'slow', { jobId: 'slow' });
    const ids = ['j1', 'j2', 'j3', 'j4'];
    for (const id of ids) runtime.post('h', 'r', 'in', id, { jobId: id });
    await tick();
    expect(slow.status).toBe('running');
    expect(runtime.getJob('slow')).toBe(slow);
    expect(runtime.getJob('j1')).toBeUndefined();
    expect(runtime.getJob('j2')).toBeUndefined();
    expect(runtime.getJob('j3')?.status).toBe('completed');
    expect(runtime.getJob('j4')?.status).toBe('completed');
    expect(runtime.stats().jobsEvicted).toBe(2);
    expect(runtime.listJobs().map((j) => j.jobId)).toEqual(['slow', 'j4', 'j3']);
    gate.resolve();
    await slow.done();
    expect(runtime.listJobs().map((j) => j.jobId)).toEqual(['slow', 'j4']);
    expect(runtime.stats().jobsEvicted).toBe(3);
  });

  it('finds generated and given ids alike, unfinished ones oldest first, across thousands of generated ids', async () => {
    const gate = deferred();
    const runtime = new Runtime({ jobHistoryLimit: 3 });
    runtime.register(
      new Flow('g').addRoutine(
        makeRoutine({ logic: ({ in: items }) => (String(items![0]).startsWith('hold') ? gate.promise : undefined) }),
        'r',
        {
          concurrency: 8,
        },
      ),
    );
    const [, first] = runtime.post('g', 'r', 'in', 'hold-first');
    const [, named] = runtime.post('g', 'r', 'in', 'hold-named', { jobId: 'named' });
    // More generated ids than the table's ring has slots: the first job is still held when its slot comes round.
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      ids.push(runtime.post('g', 'r', 'in', i)[1].jobId);
      if (i % 500 === 499) await tick();
    }
    const [, last] = runtime.post('g', 'r', 'in', 'hold-last');
    await tick();
    expect(runtime.getJob(first.jobId)).toBe(first);
    expect(runtime.getJob('named')).toBe(named);
    expect(runtime.getJob(last.jobId)).toBe(last);
    expect(runtime.getJob(ids[0] as string)).toBeUndefined(); // evicted long ago
    expect(runtime.getJob(ids.at(-1) as string)?.status).toBe('completed');
    expect(runtime.getJob(`${first.jobId}0`)).toBeUndefined();
    expect(runtime.getJob(first.jobId.replace(/\d+$/, 'x'))).toBeUndefined();
    // Unfinished first (newest first), then the finished ones kept.
    expect(runtime.listJobs({ status: 'running' }).map((j) => j.jobId)).toEqual([last.jobId, 'named', first.jobId]);
    expect(() => runtime.post('g', 'r', 'in', 'again', { jobId: first.jobId })).toThrowError(
      expect.objectContaining({ code: ErrorCode.JobExists }),
    );
    gate.resolve();
    await runtime.waitUntilAllJobsFinished();
    expect(runtime.getJob(first.jobId)?.status).toBe('completed');
    for (let i = 0; i < 3; i++) runtime.post('g', 'r', 'in', `after${i}`);
    await runtime.waitUntilAllJobsFinished();
    expect(runtime.getJob(first.jobId)).toBeUndefined(); // three finished since
    expect(runtime.stats().activeJobs).toBe(0);
    await runtime.close();
  });

  it('listJobs filters by status, flow, worker and limit', async () => {
    const runtime = new Runtime();
    runtime.register(
      new Flow('a').addRoutine(
        makeRoutine({
          logic: ({ in: items }) =>
            void (
              items![0] === 'bad' &&
              (() => {
                throw new Error('bad');
              })()
            ),
        }),
        'r',
      ),
    );
    runtime.register(new Flow('b').addRoutine(makeRoutine({ logic: () => {} }), 'r'));
    // Posts without workerId go to the first exec'd worker (wa1); a3 names wa2.
    runtime.exec('a', { workerId: 'wa1' });
    runtime.exec('a', { workerId: 'wa2' });
    runtime.post('a', 'r', 'in', 'ok', { jobId: 'a1' });
    runtime.post('a', 'r', 'in', 'bad', { jobId: 'a2' });
    runtime.post('a', 'r', 'in', 'ok', { jobId: 'a3', workerId: 'wa2' });
    runtime.post('b', 'r', 'in', 'ok', { jobId: 'b1' });
    await runtime.waitUntilAllJobsFinished();
    expect(runtime.listJobs({ status: 'failed' }).map((j) => j.jobId)).toEqual(['a2']);
    expect(runtime.listJobs({ flowId: 'b' }).map((j) => j.jobId)).toEqual(['b1']);
    expect(runtime.listJobs({ workerId: 'wa2' }).map((j) => j.jobId)).toEqual(['a3']);
    const all = runtime.listJobs().map((j) => j.jobId);
    expect([...all].sort()).toEqual(['a1', 'a2', 'a3', 'b1']);
    // Newest (last finished) first; a limit keeps a prefix of that order.
    expect(runtime.listJobs({ limit: 2 }).map((j) => j.jobId)).toEqual(all.slice(0, 2));
  });
});

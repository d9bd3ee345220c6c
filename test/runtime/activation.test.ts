/** What logic can do with its ctx, and how a job's end reaches activations still running for it. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime, type JobContext } from '../../src/index.ts';
import { deferred, tick } from '../fixtures/helpers.ts';
import { Collect, Pass, makeRoutine } from '../fixtures/routines.ts';

describe('ctx', () => {
  it('entries() of an unknown slot, setState() with a non-object and emit() for a foreign job are coded errors', async () => {
    const codes: string[] = [];
    let foreign: JobContext | undefined;
    const runtime = new Runtime();
    runtime.register(
      new Flow('f')
        .addRoutine(
          makeRoutine({
            events: ['out'],
            logic: (_items, ctx) => {
              for (const attempt of [
                () => ctx.entries('nope'),
                () => ctx.setState(5 as never),
                () => ctx.emit('out', 1, { job: foreign }),
              ]) {
                try {
                  attempt();
                  codes.push('none');
                } catch (error) {
                  codes.push((error as { code: string }).code);
                }
              }
            },
          }),
          'r',
        )
        .addRoutine(new Collect([]), 'sink')
        .pipe('r', 'sink'),
    );
    [, foreign] = runtime.post('f', 'r', 'in', 'first');
    await runtime.waitUntilAllJobsFinished();
    codes.length = 0;
    runtime.post('f', 'r', 'in', 'second');
    await runtime.waitUntilAllJobsFinished();
    expect(codes).toEqual([ErrorCode.UnknownSlot, ErrorCode.InvalidArgument, ErrorCode.InvalidArgument]);
  });

  it('exposes routineId, config, message and attempt', async () => {
    const seen: unknown[] = [];
    const runtime = new Runtime();
    const routine = makeRoutine({
      logic: (_items, ctx) => void seen.push([ctx.routineId, ctx.config, ctx.message, ctx.attempt]),
    }).setConfig({ k: 'v' });
    runtime.register(new Flow('f').addRoutine(routine, 'r'));
    runtime.post('f', 'r', 'in', 1);
    await runtime.waitUntilAllJobsFinished();
    expect(seen).toEqual([['r', { k: 'v' }, undefined, 1]]);
  });
});

describe('a job ending while one of its activations runs', () => {
  it('a failure in one branch aborts the signal of the other branch, whose later emits go nowhere', async () => {
    const gate = deferred();
    const seen: Array<{ data: unknown; jobId: string }> = [];
    let aborted = false;
    const runtime = new Runtime();
    runtime.register(
      new Flow('b')
        .addRoutine(new Pass(), 'split')
        .addRoutine(
          makeRoutine({
            events: ['out'],
            logic: async ({ in: items }, ctx) => {
              ctx.signal.addEventListener('abort', () => (aborted = true));
              await gate.promise;
              ctx.emit('out', items![0]);
            },
          }),
          'slow',
        )
        .addRoutine(
          makeRoutine({
            logic: async () => {
              // Fail only once the other branch is running.
              await new Promise((resolve) => setImmediate(resolve));
              throw new Error('branch failed');
            },
          }),
          'failing',
        )
        .addRoutine(new Collect(seen), 'sink')
        .pipe('split', 'slow', 'sink')
        .pipe('split', 'failing'),
    );
    const [worker, job] = runtime.post('b', 'split', 'in', 'x');
    await tick(1);
    // Queued behind the running activation of the job about to fail.
    runtime.post('b', 'slow', 'in', 'queued-behind', { jobId: 'other' });
    await tick();
    expect(job.status).toBe('failed');
    expect(job.error?.message).toContain('branch failed');
    expect(aborted).toBe(true);
    gate.resolve();
    await runtime.waitUntilAllJobsFinished();
    // The failed job's late emit is discarded; the other job still flows.
    expect(seen.map((s) => s.data)).toEqual(['queued-behind']);
    expect(worker.counters.itemsDiscarded).toBe(1);
    expect(runtime.stats().queuedItems).toBe(0);
  });

  it('destroy() aborts the signal of a running activation', async () => {
    let signal: AbortSignal | undefined;
    const gate = deferred();
    const runtime = new Runtime();
    runtime.register(
      new Flow('d').addRoutine(
        makeRoutine({
          logic: async (_items, ctx) => {
            signal = ctx.signal;
            await gate.promise;
          },
        }),
        'r',
      ),
    );
    runtime.post('d', 'r', 'in', 1);
    await tick();
    expect(signal?.aborted).toBe(false);
    runtime.destroy();
    expect(signal?.aborted).toBe(true);
    gate.resolve();
    await tick();
  });
});

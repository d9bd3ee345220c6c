/** Error strategies: STOP, CONTINUE, RETRY (exact backoff on a ManualClock), SKIP. Nothing crashes. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, ErrorStrategy, Flow, Runtime, type ErrorHandlerOptions } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { tick } from '../fixtures/helpers.ts';
import { Collect, makeRoutine } from '../fixtures/routines.ts';

/** src fails for items listed in `failing` (as many times as `failTimes`), else forwards to sink. */
function setup(errorHandler: ErrorHandlerOptions, failTimes = Number.POSITIVE_INFINITY, mode: 'throw' | 'reject' = 'throw') {
  const clock = new ManualClock();
  const runtime = new Runtime({ clock, random: () => 0.5 });
  const seen: Array<{ data: unknown; jobId: string }> = [];
  const attempts: Array<{ item: unknown; attempt: number; at: number }> = [];
  runtime.register(
    new Flow('e')
      .addRoutine(
        makeRoutine({
          events: ['out'],
          logic: ({ in: items }, ctx) => {
            const item = items![0];
            attempts.push({ item, attempt: ctx.attempt, at: clock.now() });
            const failures = attempts.filter((a) => a.item === item).length;
            if (String(item).startsWith('bad') && failures <= failTimes) {
              if (mode === 'reject') return Promise.reject(new Error(`rejected ${String(item)}`));
              throw new Error(`failed ${String(item)}`);
            }
            ctx.emit('out', item);
            return undefined;
          },
        }),
        'src',
        { errorHandler },
      )
      .addRoutine(new Collect(seen), 'sink')
      .pipe('src', 'sink'),
  );
  const post = (data: unknown) => runtime.post('e', 'src', 'in', data)[1];
  return { clock, runtime, seen, attempts, post };
}

describe('STOP', () => {
  it.each(['throw', 'reject'] as const)('fails the job on a %s and the worker keeps serving other jobs', async (mode) => {
    const { runtime, seen, post } = setup({ strategy: ErrorStrategy.STOP }, Number.POSITIVE_INFINITY, mode);
    const bad = post('bad');
    const good = post('good');
    await runtime.waitUntilAllJobsFinished();
    expect(bad.status).toBe('failed');
    expect(bad.error?.code).toBe(ErrorCode.RoutineFailed);
    expect(bad.error?.message).toContain('"src"');
    expect(bad.error?.message).toContain(mode === 'throw' ? 'failed bad' : 'rejected bad');
    expect((bad.error!.cause as Error).message).toContain('bad');
    expect(bad.traceLog.map((t) => [t.routineId, t.status, t.error?.code])).toEqual([['src', 'failed', ErrorCode.RoutineFailed]]);
    expect(good.status).toBe('completed');
    expect(seen.map((s) => s.data)).toEqual(['good']);
    const worker = runtime.listWorkers()[0];
    expect(worker?.status).toBe('running');
    expect(worker?.counters).toMatchObject({ jobsFailed: 1, jobsProcessed: 1, activationErrors: 1 });
    expect(post('good2')).toBeDefined();
    await runtime.waitUntilAllJobsFinished();
    expect(seen.map((s) => s.data)).toEqual(['good', 'good2']);
  });

  it('is the default', async () => {
    const { runtime, post } = setup({});
    const bad = post('bad');
    await runtime.waitUntilAllJobsFinished();
    expect(bad.status).toBe('failed');
  });

  it('a logic that rejects with no reason still fails the job cleanly', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('u').addRoutine(makeRoutine({ logic: () => Promise.reject(undefined) }), 'r'));
    const [, job] = runtime.post('u', 'r', 'in', 1);
    await job.done();
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe(ErrorCode.RoutineFailed);
  });
});

describe('CONTINUE', () => {
  it('records the error in the trace and job.errors; the job completes', async () => {
    const { runtime, seen, post } = setup({ strategy: 'continue' });
    const bad = post('bad');
    await runtime.waitUntilAllJobsFinished();
    expect(bad.status).toBe('completed');
    expect(bad.error).toBeUndefined();
    expect(bad.errors).toEqual([{ routineId: 'src', code: ErrorCode.RoutineFailed, message: expect.stringContaining('failed bad') }]);
    expect(bad.traceLog.map((t) => t.status)).toEqual(['continued']);
    expect(seen).toEqual([]);
  });
});

describe('SKIP', () => {
  it('drops the items without marking the job; the job completes with a skipped trace', async () => {
    const { runtime, post } = setup({ strategy: 'skip' });
    const bad = post('bad');
    await runtime.waitUntilAllJobsFinished();
    expect(bad.status).toBe('completed');
    expect(bad.errors).toEqual([]);
    expect(bad.traceLog.map((t) => t.status)).toEqual(['skipped']);
  });
});

describe('RETRY', () => {
  const retry: ErrorHandlerOptions = { strategy: 'retry', maxAttempts: 3, retryDelayMs: 100, backoff: 2, jitter: 0.2 };

  it('re-runs the same items after retryDelay * backoff^(n-1) and completes on the 3rd attempt', async () => {
    const { clock, runtime, seen, attempts, post } = setup(retry, 2);
    const job = post('bad-1');
    await tick();
    expect(attempts).toEqual([{ item: 'bad-1', attempt: 1, at: 0 }]);
    clock.advance(99);
    await tick();
    expect(attempts).toHaveLength(1);
    expect(job.status).toBe('running');
    clock.advance(1);
    await tick();
    expect(attempts.map((a) => [a.attempt, a.at])).toEqual([
      [1, 0],
      [2, 100],
    ]);
    clock.advance(199);
    await tick();
    expect(attempts).toHaveLength(2);
    clock.advance(1);
    await tick();
    expect(attempts.map((a) => [a.item, a.attempt, a.at])).toEqual([
      ['bad-1', 1, 0],
      ['bad-1', 2, 100],
      ['bad-1', 3, 300],
    ]);
    expect(job.status).toBe('completed');
    expect(job.traceLog.map((t) => [t.status, t.attempt])).toEqual([
      ['retrying', 1],
      ['retrying', 2],
      ['ok', 3],
      ['ok', 1],
    ]);
    expect(seen.map((s) => s.data)).toEqual(['bad-1']);
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 0 })).toBe(true);
  });

  it('fails the job with SLUICE_ERR_RETRIES_EXHAUSTED after maxAttempts', async () => {
    const { clock, attempts, post } = setup(retry);
    const job = post('bad-forever');
    await tick();
    clock.advance(100);
    await tick();
    clock.advance(200);
    await tick();
    expect(attempts).toHaveLength(3);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe(ErrorCode.RetriesExhausted);
    expect(job.error?.message).toContain('"src"');
    expect(job.error?.message).toContain('3 times');
    expect(job.traceLog.map((t) => t.status)).toEqual(['retrying', 'retrying', 'failed']);
    clock.advance(10_000);
    await tick();
    expect(attempts).toHaveLength(3);
  });

  it('applies jitter from the runtime random source', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock, random: () => 1 });
    const at: number[] = [];
    runtime.register(
      new Flow('j').addRoutine(
        makeRoutine({
          logic: () => {
            at.push(clock.now());
            throw new Error('x');
          },
        }),
        'r',
        { errorHandler: { ...retry, maxAttempts: 2 } },
      ),
    );
    runtime.post('j', 'r', 'in', 1);
    await tick();
    clock.advance(119);
    await tick();
    expect(at).toEqual([0]);
    clock.advance(1);
    await tick();
    expect(at).toEqual([0, 120]);
  });

  it('other jobs keep flowing while one waits for its retry', async () => {
    const { clock, runtime, seen, post } = setup(retry, 1);
    const bad = post('bad');
    const good = post('good');
    await tick();
    expect(good.status).toBe('completed');
    expect(bad.status).toBe('running');
    clock.advance(100);
    await runtime.waitUntilAllJobsFinished();
    expect(seen.map((s) => s.data)).toEqual(['good', 'bad']);
  });

  it('a job cancelled while it waits for a retry is not re-run', async () => {
    const { clock, attempts, post } = setup(retry);
    const job = post('bad');
    await tick();
    job.cancel();
    clock.advance(1000);
    await tick();
    expect(attempts).toHaveLength(1);
    expect(job.status).toBe('cancelled');
  });
});

describe('flow-wide error handler', () => {
  it('applies to routines without their own, and a routine option overrides it', async () => {
    const runtime = new Runtime();
    const boom = (): never => {
      throw new Error('boom');
    };
    runtime.register(
      new Flow('fw', { errorHandler: { strategy: 'continue' } })
        .addRoutine(makeRoutine({ slots: ['in'], logic: boom }), 'inherits')
        .addRoutine(makeRoutine({ slots: ['in'], logic: boom }), 'stops', { errorHandler: { strategy: 'stop' } }),
    );
    const [, a] = runtime.post('fw', 'inherits', 'in', 1);
    const [, b] = runtime.post('fw', 'stops', 'in', 1);
    await runtime.waitUntilAllJobsFinished();
    expect(a.status).toBe('completed');
    expect(b.status).toBe('failed');
  });
});

/**
 * Fault: delays past Node's timer ceiling. Node fires a `setTimeout` of 2^31 ms or more after
 * 1 ms; every millisecond option must either be refused at the edge or wait as long as it says.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, Flow, Runtime, timeInterval } from '../../src/index.ts';
import { setLongTimeout, kMaxTimerMs } from '../../src/core/index.ts';
import { expectCode } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

const kHuge = 3_000_000_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('setLongTimeout', () => {
  afterEach(() => void vi.useRealTimers());

  it('waits the whole delay past the 2^31 ms ceiling, and a cancel stops every link of the chain', () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    setLongTimeout(() => fired.push('long'), kMaxTimerMs + 10);
    const cancelled = setLongTimeout(() => fired.push('cancelled'), kMaxTimerMs * 2);
    setLongTimeout(() => fired.push('never'), Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(kMaxTimerMs);
    expect(fired).toEqual([]);
    cancelled.cancel();
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['long']);
    vi.advanceTimersByTime(kMaxTimerMs * 2);
    expect(fired).toEqual(['long']);
  });
});

describe('no timer fires early', () => {
  it('close({ timeout: 2 ** 31 }) drains instead of cancelling everything', async () => {
    const runtime = new Runtime();
    const slow = makeRoutine({ logic: () => sleep(30) });
    runtime.register(new Flow('slow').addRoutine(slow, 'slow'));
    const jobs = [1, 2, 3].map((n) => runtime.post('slow', 'slow', 'in', n)[1]);
    const report = await runtime.close({ timeout: 2 ** 31 });
    expect(report.cancelled).toEqual([]);
    expect(report.drained).toBe(true);
    expect(jobs.map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
  });

  it('a routine timeoutMs, a waitForJob timeout and waitUntilAllJobsFinished past 2^31 ms wait as long as they say', async () => {
    const runtime = new Runtime();
    const slow = makeRoutine({ logic: () => sleep(30) });
    runtime.register(new Flow('slow').addRoutine(slow, 'slow', { timeoutMs: kHuge }));
    const [, job] = runtime.post('slow', 'slow', 'in', 1);
    await expect(runtime.waitForJob(job.jobId, { timeout: kHuge })).resolves.toBe(job);
    expect(job.status).toBe('completed');
    runtime.post('slow', 'slow', 'in', 2);
    await expect(runtime.waitUntilAllJobsFinished({ timeout: kHuge })).resolves.toBe(true);
    await runtime.close();
  });

  it('a retry delay past 2^31 ms does not retry at once, and a timeInterval past it does not fire at once', async () => {
    const runtime = new Runtime();
    let calls = 0;
    const failing = makeRoutine({
      logic: () => {
        calls++;
        throw new Error('down');
      },
    });
    let ticks = 0;
    const periodic = makeRoutine({ policy: timeInterval(kHuge), logic: () => void ticks++ });
    runtime.register(
      new Flow('late')
        .addRoutine(failing, 'failing', {
          errorHandler: { strategy: 'retry', maxAttempts: 3, retryDelayMs: kHuge, maxDelayMs: kHuge, jitter: 0 },
        })
        .addRoutine(periodic, 'periodic'),
    );
    const [, retried] = runtime.post('late', 'failing', 'in', 1);
    // The first item runs at once (no run yet); the second waits for the next tick.
    runtime.post('late', 'periodic', 'in', 1);
    await sleep(5);
    runtime.post('late', 'periodic', 'in', 2);
    await sleep(50);
    expect(calls).toBe(1);
    expect(retried.status).toBe('running');
    expect(ticks).toBe(1);
    const report = await runtime.close({ timeout: 0 });
    expect(report.cancelled).toHaveLength(2);
  });

  it('refuses millisecond options that are not durations at the edge, naming the option', () => {
    expect(expectCode(() => new Runtime({ heartbeatMs: 1.5 }), ErrorCode.InvalidArgument).message).toContain('`heartbeatMs`');
    expect(expectCode(() => new Runtime({ heartbeatMs: Number.POSITIVE_INFINITY }), ErrorCode.InvalidArgument).message).toContain(
      '`heartbeatMs`',
    );
    expect(expectCode(() => new Runtime({ healthIntervalMs: Number.NaN }), ErrorCode.InvalidArgument).message).toContain(
      '`healthIntervalMs`',
    );
    expect(
      expectCode(() => new Runtime({ pool: { activationTimeoutMs: Number.POSITIVE_INFINITY } }), ErrorCode.InvalidArgument).message,
    ).toContain('`activationTimeoutMs`');
    const r = makeRoutine({ logic: () => undefined });
    expect(
      expectCode(() => new Flow('f').addRoutine(r, 'r', { timeoutMs: Number.POSITIVE_INFINITY }), ErrorCode.InvalidArgument).message,
    ).toContain('timeoutMs');
    expect(
      expectCode(
        () => new Flow('f').addRoutine(r, 'r', { errorHandler: { strategy: 'retry', retryDelayMs: Number.NaN } }),
        ErrorCode.InvalidArgument,
      ).message,
    ).toContain('retryDelayMs');
    expect(expectCode(() => timeInterval(Number.POSITIVE_INFINITY), ErrorCode.InvalidArgument).message).toContain('timeInterval ms');
    const runtime = new Runtime();
    expect(expectCode(() => void runtime.close({ timeout: -1 }), ErrorCode.InvalidArgument).message).toContain('close timeout');
  });

  it('sluice run --timeout 3000000000 waits for every job instead of cancelling them', () => {
    const root = new URL('../../', import.meta.url);
    const out = spawnSync(
      process.execPath,
      ['bin/sluice.js', 'run', 'flows/pipeline.ts', '--items', '3000', '--timeout', String(kHuge), '--no-record', '--json'],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(out.status, out.stderr).toBe(0);
    const summary = JSON.parse(out.stdout.trim().split('\n').at(-1) as string) as { completed: number; cancelled: number; failed: number };
    expect(summary).toMatchObject({ completed: 3000, cancelled: 0, failed: 0 });
  }, 60_000);
});

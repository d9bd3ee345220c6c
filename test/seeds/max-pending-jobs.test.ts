/** Routilux's `max_queue_size`: a runtime-wide bound on unfinished jobs, with the slots' overflow behaviour. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime } from '../../src/index.ts';
import { expectCode, isSettled, tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

function gatedRuntime(maxPendingJobs: number) {
  const runtime = new Runtime({ maxPendingJobs });
  const gates: Array<() => void> = [];
  const slow = makeRoutine({ slots: [['in', { maxQueueLength: 100 }]], logic: () => new Promise<void>((resolve) => gates.push(resolve)) });
  runtime.register(new Flow('bounded').addRoutine(slow, 'slow', { concurrency: 100 }));
  return {
    runtime,
    open: () => {
      for (const resolve of gates.splice(0)) resolve();
    },
  };
}

describe('maxPendingJobs', () => {
  it('post() refuses at the bound with SLUICE_ERR_TOO_MANY_JOBS; postAsync() waits for a job to end; nothing is half-posted', async () => {
    const { runtime, open } = gatedRuntime(3);
    for (let i = 0; i < 3; i++) runtime.post('bounded', 'slow', 'in', i);
    const refused = expectCode(() => runtime.post('bounded', 'slow', 'in', 3), ErrorCode.TooManyJobs);
    expect(refused.message).toContain('maxPendingJobs 3');
    expect(runtime.stats().activeJobs).toBe(3);
    const waiting = runtime.postAsync('bounded', 'slow', 'in', 4);
    await tick();
    expect(await isSettled(waiting)).toBe(false);
    open();
    const [, job] = await waiting;
    expect(runtime.stats().activeJobs).toBeLessThanOrEqual(3);
    await tick();
    open();
    await runtime.waitForJob(job.jobId, { timeout: 5_000 });
    expect(job.status).toBe('completed');
    await runtime.close();
  });

  it('postAll() keeps at most maxPendingJobs unfinished and posts everything', async () => {
    const runtime = new Runtime({ maxPendingJobs: 5 });
    let peak = 0;
    const work = makeRoutine({
      slots: [['in', { maxQueueLength: 1_000 }]],
      logic: async () => {
        peak = Math.max(peak, runtime.stats().activeJobs);
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    runtime.register(new Flow('bounded').addRoutine(work, 'work', { concurrency: 50 }));
    const { posted } = await runtime.postAll(
      'bounded',
      'work',
      'in',
      Array.from({ length: 200 }, (_, i) => i),
    );
    expect(posted).toBe(200);
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(5);
    expect(runtime.listWorkers()[0]?.counters.jobsProcessed).toBe(200);
    expect(() => new Runtime({ maxPendingJobs: 0 })).toThrow(/maxPendingJobs/);
    await runtime.close();
  });
});

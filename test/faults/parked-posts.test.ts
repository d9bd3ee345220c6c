/** Fault: 100k concurrent postAsync() calls on a full `block` slot must not grow memory without limit. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime, isSluiceError } from '../../src/index.ts';
import { tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

describe('parked postAsync callers are bounded', () => {
  it('100,000 concurrent postAsync calls: maxParkedPosts (default 10,000) wait, the rest are refused at once with ' +
    'SLUICE_ERR_TOO_MANY_WAITING; every admitted job completes', async () => {
    const runtime = new Runtime();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let ran = 0;
    const slow = makeRoutine({
      slots: [['in', { maxQueueLength: 1, overflow: 'block' }]],
      logic: async () => {
        await gate;
        ran++;
      },
    });
    runtime.register(new Flow('parked').addRoutine(slow, 'slow'));
    const heapBefore = process.memoryUsage().heapUsed;
    const calls = Array.from({ length: 100_000 }, (_, i) => runtime.postAsync('parked', 'slow', 'in', { i, pad: 'x'.repeat(64) }));
    const refused: unknown[] = [];
    let refusals = 0;
    let admitted = 0;
    for (const call of calls) {
      call.then(
        () => void admitted++,
        (reason: unknown) => {
          if (refusals++ < 3) refused.push(reason);
        },
      );
    }
    calls.length = 0;
    await tick(3);
    // The first fits the slot; of the rest, 10,000 wait and 89,999 are refused.
    expect(refusals).toBe(100_000 - 1 - 10_000);
    for (const reason of refused) {
      expect(isSluiceError(reason) && reason.code).toBe(ErrorCode.TooManyWaiting);
      expect((reason as Error).message).toContain('maxParkedPosts 10000');
    }
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    console.log(`heap growth with 10,000 parked and 89,999 refused: ${heapGrowthMb.toFixed(1)} MB`);
    expect(heapGrowthMb).toBeLessThan(300);
    release();
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 30_000 })).toBe(true);
    await tick();
    expect(admitted).toBe(10_001);
    expect(ran).toBe(10_001);
    await runtime.close();
  }, 60_000);

  it('a lower maxParkedPosts refuses sooner; aborted and admitted waiters free their places', async () => {
    const runtime = new Runtime({ maxParkedPosts: 3 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = makeRoutine({ slots: [['in', { maxQueueLength: 1, overflow: 'block' }]], logic: () => gate });
    runtime.register(new Flow('parked').addRoutine(slow, 'slow'));
    runtime.post('parked', 'slow', 'in', 0);
    await tick();
    runtime.post('parked', 'slow', 'in', 1);
    // Calls aborted before they could wait take no place.
    for (let i = 0; i < 5; i++)
      await expect(runtime.postAsync('parked', 'slow', 'in', -1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
        code: ErrorCode.Aborted,
      });
    const abort = new AbortController();
    const waiting = [
      runtime.postAsync('parked', 'slow', 'in', 2, { signal: abort.signal }),
      runtime.postAsync('parked', 'slow', 'in', 3),
      runtime.postAsync('parked', 'slow', 'in', 4),
    ];
    await expect(runtime.postAsync('parked', 'slow', 'in', 5)).rejects.toMatchObject({ code: ErrorCode.TooManyWaiting });
    abort.abort();
    await expect(waiting[0]).rejects.toMatchObject({ code: ErrorCode.Aborted });
    const sixth = runtime.postAsync('parked', 'slow', 'in', 6);
    await expect(runtime.postAsync('parked', 'slow', 'in', 7)).rejects.toMatchObject({ code: ErrorCode.TooManyWaiting });
    release();
    await Promise.all([waiting[1], waiting[2], sixth]);
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 5_000 })).toBe(true);
    expect(() => new Runtime({ maxParkedPosts: -1 })).toThrow(/maxParkedPosts/);
    await runtime.close();
  });
});

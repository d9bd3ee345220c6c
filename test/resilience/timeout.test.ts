import { describe, expect, it, vi } from 'vitest';
import { ErrorCode, ManualClock, TimeoutError } from '../../src/core/index.ts';
import { withTimeout } from '../../src/resilience/index.ts';
import { deferred, tick, thrown } from '../fixtures/helpers.ts';

describe('withTimeout', () => {
  it('resolves with the work and clears its timer', async () => {
    const clock = new ManualClock();
    const work = deferred<string>();
    const result = withTimeout(work.promise, 1_000, { clock });
    expect(clock.pendingTimers).toBe(1);
    work.resolve('done');
    await expect(result).resolves.toBe('done');
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with SLUICE_ERR_ACTIVATION_TIMEOUT naming what timed out and after how long, and aborts the signal', async () => {
    const clock = new ManualClock();
    const onTimeout = vi.fn();
    let signal: AbortSignal | undefined;
    const late = deferred<number>();
    const result = withTimeout(
      (s) => {
        signal = s;
        return late.promise;
      },
      250,
      { clock, name: 'routine "pipeline/fetch"', onTimeout },
    );
    const settled = result.catch((error: unknown) => error);
    clock.advance(249);
    expect(signal?.aborted).toBe(false);
    clock.advance(1);
    const error = (await settled) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.code).toBe(ErrorCode.ActivationTimeout);
    expect(error.message).toBe('Routine "pipeline/fetch" did not settle within its timeout of 250 ms');
    expect(error.details).toEqual({ name: 'routine "pipeline/fetch"', timeoutMs: 250 });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    expect(onTimeout).toHaveBeenCalledWith(error);
    expect(clock.pendingTimers).toBe(0);
    late.resolve(1); // a late result is dropped
    await tick(1);
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it('passes a rejection or a synchronous throw through and clears its timer', async () => {
    const clock = new ManualClock();
    await expect(withTimeout(Promise.reject(new Error('logic failed')), 100, { clock })).rejects.toThrow('logic failed');
    expect(clock.pendingTimers).toBe(0);
    await expect(
      withTimeout(
        () => {
          throw new Error('sync throw');
        },
        100,
        { clock },
      ),
    ).rejects.toThrow('sync throw');
    expect(clock.pendingTimers).toBe(0);
    await expect(withTimeout(() => 7, 100, { clock })).resolves.toBe(7);
    expect(clock.pendingTimers).toBe(0);
  });

  it("follows the caller's signal: aborts the work, rejects with SLUICE_ERR_ABORTED, removes its listener", async () => {
    const clock = new ManualClock();
    const caller = new AbortController();
    const remove = vi.spyOn(caller.signal, 'removeEventListener');
    let signal: AbortSignal | undefined;
    const result = withTimeout(
      (s) => {
        signal = s;
        return new Promise<never>(() => undefined);
      },
      1_000,
      { clock, signal: caller.signal, name: 'probe' },
    );
    caller.abort(new Error('shutting down'));
    await expect(result).rejects.toMatchObject({ code: ErrorCode.Aborted, message: 'Probe was aborted by the caller' });
    expect(signal?.aborted).toBe(true);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
    expect(clock.pendingTimers).toBe(0);

    const settledFirst = new AbortController();
    const removeAfter = vi.spyOn(settledFirst.signal, 'removeEventListener');
    await withTimeout(Promise.resolve(1), 1_000, { clock, signal: settledFirst.signal });
    expect(removeAfter).toHaveBeenCalledTimes(1);
  });

  it('does not call the work when the caller already aborted', async () => {
    const work = vi.fn(async () => 1);
    await expect(withTimeout(work, 100, { signal: AbortSignal.abort(), clock: new ManualClock() })).rejects.toMatchObject({
      code: ErrorCode.Aborted,
    });
    expect(work).not.toHaveBeenCalled();
  });

  it('arms no timer for 0 or Infinity', async () => {
    const clock = new ManualClock();
    const work = deferred<number>();
    const zero = withTimeout(work.promise, 0, { clock });
    const forever = withTimeout(work.promise, Number.POSITIVE_INFINITY, { clock });
    expect(clock.pendingTimers).toBe(0);
    work.resolve(3);
    await expect(Promise.all([zero, forever])).resolves.toEqual([3, 3]);
  });

  it('validates at the edge', () => {
    expect(thrown(() => withTimeout(Promise.resolve(), -1)).message).toContain('`ms`');
    expect(thrown(() => withTimeout(42 as never, 10)).message).toContain('`work`');
    expect(thrown(() => withTimeout(Promise.resolve(), 10, { signal: {} as never })).message).toContain('`signal`');
    expect(thrown(() => withTimeout(Promise.resolve(), 10, { onTimeout: 1 as never })).code).toBe(ErrorCode.InvalidArgument);
  });
});

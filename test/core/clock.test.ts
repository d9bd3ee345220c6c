import { describe, expect, it } from 'vitest';
import { ManualClock, RealClock } from '../../src/entry/testing.ts';

describe('ManualClock', () => {
  it('moves only when advanced and fires due timers in time order', () => {
    const clock = new ManualClock(10);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 5);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    expect(clock.now()).toBe(10);
    expect(clock.pendingTimers).toBe(3);
    clock.advance(4);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['a@15']);
    clock.advance(100);
    expect(fired).toEqual(['a@15', 'b@30', 'c@30']);
    expect(clock.now()).toBe(115);
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancels timers and fires timers set by timers within the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const handle = clock.setTimeout(() => fired.push(1), 10);
    handle.cancel();
    handle.cancel();
    clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.now()), 10), 10);
    clock.advance(25);
    expect(fired).toEqual([20]);
  });
});

describe('RealClock', () => {
  it('fires a timer and can cancel one', async () => {
    const clock = new RealClock();
    let cancelledFired = false;
    clock.setTimeout(() => (cancelledFired = true), 0).cancel();
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 1, { ref: false }));
    expect(cancelledFired).toBe(false);
    expect(clock.now()).toBeGreaterThan(0);
  });
});

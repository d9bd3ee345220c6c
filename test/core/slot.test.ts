import { describe, expect, it } from 'vitest';
import {
  ArrayQueue,
  ErrorCode,
  OfferResult,
  RingQueue,
  Slot,
  resolveSlotOptions,
  type QueuedItem,
  type SlotOptions,
} from '../../src/core/index.ts';
import { expectCode } from '../fixtures/helpers.ts';

function slot(options: SlotOptions = {}, queue?: 'ring' | 'array'): Slot<string> {
  const spec = resolveSlotOptions('Owner', 'in', options);
  return new Slot<string>('r1', spec, queue === 'array' ? new ArrayQueue<QueuedItem<string>>() : new RingQueue<QueuedItem<string>>(2));
}

const item = (data: unknown, jobs = 'job'): QueuedItem<string> => ({ data, jobs });

describe('resolveSlotOptions', () => {
  it('fills in defaults', () => {
    expect(resolveSlotOptions('R', 'in', undefined)).toEqual({ name: 'in', maxQueueLength: 1000, watermark: 0.8, overflow: 'reject' });
  });

  it.each([
    [{ maxQueueLength: 0 }, 'R.in.maxQueueLength', '`0` (number)'],
    [{ maxQueueLength: 1.5 }, 'R.in.maxQueueLength', '`1.5` (number)'],
    [{ maxQueueLength: '10' }, 'R.in.maxQueueLength', '`"10"` (string)'],
    [{ watermark: 2 }, 'R.in.watermark', '`2` (number)'],
    [{ watermark: 0 }, 'R.in.watermark', '`0` (number)'],
    [{ watermark: -0.1 }, 'R.in.watermark', '`-0.1` (number)'],
    [{ watermark: Number.NaN }, 'R.in.watermark', '(number)'],
    [{ overflow: 'drop' }, 'R.in.overflow', '`"drop"` (string)'],
  ])('rejects %j naming the option and the value', (options, name, value) => {
    const err = expectCode(() => resolveSlotOptions('R', 'in', options as SlotOptions), ErrorCode.InvalidArgument);
    expect(err.message).toContain(name);
    expect(err.message).toContain(value);
  });

  it('rejects unknown option keys and non-object options', () => {
    const err = expectCode(() => resolveSlotOptions('R', 'in', { maxQueueLenght: 5 } as SlotOptions), ErrorCode.InvalidArgument);
    expect(err.message).toContain('maxQueueLenght');
    expect(err.message).toContain('R.addSlot("in")');
    expectCode(() => resolveSlotOptions('R', 'in', 5 as unknown as SlotOptions), ErrorCode.InvalidArgument);
  });
});

describe.each(['ring', 'array'] as const)('Slot over a %s queue', (queue) => {
  it('admits up to maxQueueLength and counts', () => {
    const s = slot({ maxQueueLength: 2 }, queue);
    expect(s.offer(item(1))).toBe(OfferResult.Accepted);
    expect(s.offer(item(2))).toBe(OfferResult.Accepted);
    expect(s.isFull).toBe(true);
    expect(s.offer(item(3))).toBe(OfferResult.Rejected);
    expect(s.length).toBe(2);
    expect(s.counters).toMatchObject({ enqueued: 2, rejected: 1, consumed: 0, dropped: 0 });
    const into: QueuedItem<string>[] = [];
    s.take(2, into);
    expect(into.map((i) => i.data)).toEqual([1, 2]);
    expect(s.counters.consumed).toBe(2);
    expect(s.length).toBe(0);
  });

  it('dropOldest evicts the head, remembers it and counts the drop', () => {
    const s = slot({ maxQueueLength: 2, overflow: 'dropOldest' }, queue);
    s.offer(item('a'));
    s.offer(item('b'));
    expect(s.offer(item('c'))).toBe(OfferResult.Evicted);
    expect(s.lastEvicted?.data).toBe('a');
    expect([s.peek(0)?.data, s.peek(1)?.data]).toEqual(['b', 'c']);
    expect(s.counters).toMatchObject({ enqueued: 3, dropped: 1, rejected: 0 });
  });

  it('block parks producers and admits them in order as room is made', () => {
    const s = slot({ maxQueueLength: 1, overflow: 'block' }, queue);
    s.offer(item('a'));
    expect(s.offer(item('b'))).toBe(OfferResult.MustWait);
    const admitted: string[] = [];
    s.wait(item('b'), () => admitted.push('b'));
    s.wait(item('c'), () => admitted.push('c'));
    expect(s.waiting).toBe(2);
    expect(s.counters.blocked).toBe(2);
    // A waiting producer keeps the queue "full" for newcomers, so nobody jumps the line.
    expect(s.offer(item('d'))).toBe(OfferResult.MustWait);
    const into: QueuedItem<string>[] = [];
    s.take(1, into);
    expect(admitted).toEqual(['b']);
    s.take(1, into);
    expect(admitted).toEqual(['b', 'c']);
    s.take(1, into);
    expect(into.map((i) => i.data)).toEqual(['a', 'b', 'c']);
    expect(s.waiting).toBe(0);
  });

  it('room() resolves once there is room', async () => {
    const s = slot({ maxQueueLength: 1, overflow: 'block' }, queue);
    await s.room();
    s.offer(item('a'));
    let resolved = false;
    const p = s.room().then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    s.take(1, []);
    await p;
    expect(resolved).toBe(true);
  });

  it('removeWhere keeps the order of the rest', () => {
    const s = slot({}, queue);
    for (const [d, j] of [
      [1, 'x'],
      [2, 'y'],
      [3, 'x'],
      [4, 'y'],
    ] as const)
      s.offer(item(d, j));
    const removed = s.removeWhere((it) => it.jobs === 'x');
    expect(removed.map((i) => i.data)).toEqual([1, 3]);
    expect([s.peek(0)?.data, s.peek(1)?.data, s.length]).toEqual([2, 4, 2]);
  });

  it('drain() empties queue and parked producers', () => {
    const s = slot({ maxQueueLength: 1, overflow: 'block' }, queue);
    s.offer(item('a'));
    s.wait(item('b'), () => undefined);
    const { queued, parked } = s.drain();
    expect(queued.map((i) => i.data)).toEqual(['a']);
    expect(parked.map((p) => p.item.data)).toEqual(['b']);
    expect(s.length).toBe(0);
    expect(s.waiting).toBe(0);
  });

  it('reports pressure levels low / medium / high / critical', () => {
    const s = slot({ maxQueueLength: 10, watermark: 0.8, overflow: 'block' }, queue);
    const levels: string[] = [];
    for (let i = 0; i < 10; i++) {
      levels.push(s.pressure());
      s.offer(item(i));
    }
    levels.push(s.pressure());
    // 0-3 low (< 0.4), 4-7 medium (< 0.8), 8-9 high, 10 critical.
    expect(levels).toEqual(['low', 'low', 'low', 'low', 'medium', 'medium', 'medium', 'medium', 'high', 'high', 'critical']);
    s.take(3, []);
    expect(s.pressure()).toBe('medium');
    s.offer(item('x'));
    s.offer(item('y'));
    s.offer(item('z'));
    s.wait(item('w'), () => undefined);
    expect(s.pressure()).toBe('critical');
  });

  it('status() is a plain snapshot', () => {
    const s = slot({ maxQueueLength: 4 }, queue);
    s.offer(item(1));
    const status = s.status();
    expect(status).toEqual({
      routineId: 'r1',
      slot: 'in',
      length: 1,
      maxQueueLength: 4,
      utilisation: 0.25,
      pressure: 'low',
      waiting: 0,
      overflow: 'reject',
      counters: { enqueued: 1, consumed: 0, rejected: 0, dropped: 0, blocked: 0, discarded: 0 },
    });
    (status.counters as { enqueued: number }).enqueued = 99;
    expect(s.counters.enqueued).toBe(1);
  });
});

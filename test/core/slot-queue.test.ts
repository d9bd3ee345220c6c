import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArrayQueue, RingQueue, type SlotQueue } from '../../src/core/index.ts';

const implementations: Array<[string, () => SlotQueue<number>]> = [
  ['RingQueue', () => new RingQueue<number>(4)],
  ['RingQueue (default capacity)', () => new RingQueue<number>()],
  ['ArrayQueue', () => new ArrayQueue<number>()],
];

function contents(q: SlotQueue<number>): number[] {
  const out: number[] = [];
  q.forEach((x) => {
    out.push(x);
  });
  return out;
}

describe.each(implementations)('SlotQueue conformance: %s', (_name, make) => {
  it('starts empty', () => {
    const q = make();
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
    expect(q.clear()).toEqual([]);
  });

  it('is first in, first out', () => {
    const q = make();
    q.push(1);
    q.push(2);
    q.push(3);
    expect(q.length).toBe(3);
    expect(q.shift()).toBe(1);
    expect(q.shift()).toBe(2);
    expect(q.length).toBe(1);
    expect(q.shift()).toBe(3);
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });

  it('peeks by index without removing, and out of range gives undefined', () => {
    const q = make();
    for (const x of [10, 20, 30]) q.push(x);
    expect(q.peek()).toBe(10);
    expect(q.peek(0)).toBe(10);
    expect(q.peek(2)).toBe(30);
    expect(q.peek(3)).toBeUndefined();
    expect(q.peek(-1)).toBeUndefined();
    expect(q.length).toBe(3);
  });

  it('clear() returns everything in order and empties the queue', () => {
    const q = make();
    for (let i = 0; i < 7; i++) q.push(i);
    q.shift();
    expect(q.clear()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
    q.push(99);
    expect(contents(q)).toEqual([99]);
  });

  it('forEach visits head to tail', () => {
    const q = make();
    for (let i = 0; i < 5; i++) q.push(i);
    q.shift();
    q.push(5);
    expect(contents(q)).toEqual([1, 2, 3, 4, 5]);
  });

  it('grows past its initial capacity while wrapped around, keeping order', () => {
    const q = make();
    // Wrap the head around first, then grow several times.
    for (let i = 0; i < 3; i++) q.push(i);
    q.shift();
    q.shift();
    for (let i = 3; i < 100; i++) q.push(i);
    expect(q.length).toBe(98);
    expect(q.peek(0)).toBe(2);
    expect(q.peek(97)).toBe(99);
    const out: number[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
    expect(out).toEqual(Array.from({ length: 98 }, (_, i) => i + 2));
  });

  it('stays correct over a long run of interleaved pushes and shifts (compaction)', () => {
    const q = make();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 3000; round++) {
      q.push(next++);
      q.push(next++);
      expect(q.shift()).toBe(expected++);
    }
    expect(q.length).toBe(next - expected);
    expect(q.peek()).toBe(expected);
    expect(contents(q)).toEqual(Array.from({ length: next - expected }, (_, i) => i + expected));
  });

  it('matches a plain array model under random interleavings (property)', () => {
    type Op = { op: 'push'; value: number } | { op: 'shift' } | { op: 'peek'; index: number } | { op: 'clear' } | { op: 'forEach' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.integer().map((value) => ({ op: 'push' as const, value })) },
      { weight: 3, arbitrary: fc.constant({ op: 'shift' as const }) },
      { weight: 2, arbitrary: fc.integer({ min: -2, max: 40 }).map((index) => ({ op: 'peek' as const, index })) },
      { weight: 1, arbitrary: fc.constant({ op: 'forEach' as const }) },
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = make();
        const model: number[] = [];
        for (const o of ops) {
          switch (o.op) {
            case 'push':
              q.push(o.value);
              model.push(o.value);
              break;
            case 'shift':
              expect(q.shift()).toBe(model.shift());
              break;
            case 'peek':
              expect(q.peek(o.index)).toBe(o.index >= 0 ? model[o.index] : undefined);
              break;
            case 'clear':
              expect(q.clear()).toEqual(model.splice(0));
              break;
            case 'forEach':
              expect(contents(q)).toEqual(model);
              break;
          }
          expect(q.length).toBe(model.length);
        }
      }),
      { numRuns: 150 },
    );
  });
});

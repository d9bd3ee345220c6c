import { describe, expect, it } from 'vitest';
import { StartBoard, stampStart } from '../../src/pool/start-board.ts';

describe('StartBoard', () => {
  it('hands out shared slots, then buffers of their own when every slot is taken', () => {
    const board = new StartBoard(true, 2);
    const a = board.take();
    const b = board.take();
    const c = board.take();
    expect(a).toEqual({ startSlot: 0 });
    expect(b).toEqual({ startSlot: 1 });
    expect('started' in c && c.started).toBeInstanceOf(SharedArrayBuffer);
    const view = new BigInt64Array(board.buffer as SharedArrayBuffer);
    for (const mark of [a, b, c]) expect(board.startedAt(mark)).toBe(0);
    stampStart(b, view);
    stampStart(c, undefined);
    expect(board.startedAt(a)).toBe(0);
    expect(Math.abs(board.startedAt(b) - Date.now())).toBeLessThan(5_000);
    expect(Math.abs(board.startedAt(c) - Date.now())).toBeLessThan(5_000);
    // A released slot comes back cleared.
    board.release(b);
    const again = board.take();
    expect(again).toEqual({ startSlot: 1 });
    expect(board.startedAt(again)).toBe(0);
  });

  it('an unshared board (an injected pool) gives every batch a buffer of its own', () => {
    const board = new StartBoard(false);
    expect(board.buffer).toBeUndefined();
    const mark = board.take();
    expect('started' in mark).toBe(true);
    board.release(mark);
  });

  it('a thread without the board refuses a slot instead of losing the stamp', () => {
    expect(() => stampStart({ startSlot: 3 }, undefined)).toThrow(/start slot 3/);
  });
});

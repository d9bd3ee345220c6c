/**
 * The dispatcher's batching and balancing rules, with a fake task runner (no threads): full
 * batches first, a small burst shared among idle threads, partial batches at the end of the turn
 * or after flushMs, solo activations ahead of the queues, the in-flight limit, and how a failed
 * task's error is classified.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode, SluiceError } from '../../src/core/errors.ts';
import { Dispatcher, type PoolTarget } from '../../src/pool/dispatcher.ts';
import type { BatchResult, BatchTask, StartMark } from '../../src/pool/protocol.ts';
import { StartBoard, stampStart } from '../../src/pool/start-board.ts';
import { deferred, tick, type Deferred } from '../fixtures/helpers.ts';

interface Sent {
  readonly target: string;
  readonly items: number[];
  readonly start: StartMark | undefined;
  readonly signal: AbortSignal | undefined;
  readonly reply: Deferred<BatchResult>;
}

interface Settled {
  readonly target: string;
  readonly items: number[];
  readonly error: SluiceError | undefined;
}

/** A dispatcher over a fake runner that records every task and lets the test answer it. */
function setup(options: { limit?: number; batch?: number; flushMs?: number; balanced?: boolean } = {}) {
  const clock = new ManualClock();
  const board = new StartBoard(true);
  const sent: Sent[] = [];
  const settled: Settled[] = [];
  const lastItems = new Map<BatchTask, { target: string; items: number[]; start: StartMark | undefined }>();
  const dispatcher = new Dispatcher(
    (task, signal) => {
      const reply = deferred<BatchResult>();
      const encoded = lastItems.get(task) as { target: string; items: number[]; start: StartMark | undefined };
      sent.push({ ...encoded, signal, reply });
      return reply.promise;
    },
    {
      limit: options.limit ?? 2,
      batch: options.batch ?? 4,
      flushMs: options.flushMs ?? 0,
      setTimer: (fn, ms) => clock.setTimeout(fn, ms),
      board,
      balanced: options.balanced ?? true,
    },
  );
  const target = (name: string, timeoutMs = 0): PoolTarget<number> => ({
    key: { name },
    flowId: 'f',
    routineId: name,
    timeoutMs,
    encode(items, start) {
      const task = { kind: 'batch', routineId: name } as unknown as BatchTask;
      lastItems.set(task, { target: name, items: [...items], start });
      return task;
    },
    settle(items, _result, error) {
      settled.push({ target: name, items: [...items], error });
    },
  });
  const ok = (s: Sent): void => s.reply.resolve({ ops: [] });
  return { dispatcher, clock, board, sent, settled, target, ok };
}

const sizes = (sent: readonly Sent[]): number[][] => sent.map((s) => s.items);

describe('Dispatcher (fake task runner)', () => {
  it('sends full batches at once, holds the rest while every thread is busy, and sends a partial batch when a thread frees', async () => {
    const { dispatcher, sent, settled, target, ok } = setup({ limit: 1, batch: 4 });
    const a = target('a');
    for (let i = 1; i <= 10; i++) dispatcher.submit(a, i);
    expect(sizes(sent)).toEqual([[1, 2, 3, 4]]);
    expect(dispatcher.stats()).toMatchObject({ inFlight: 1, queued: 6 });
    ok(sent[0] as Sent);
    await tick();
    expect(sizes(sent)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    ok(sent[1] as Sent);
    await tick();
    // The thread is free again and two wait: a partial batch goes.
    expect(sizes(sent).at(-1)).toEqual([9, 10]);
    ok(sent[2] as Sent);
    await dispatcher.idle();
    expect(settled.map((s) => s.items.length)).toEqual([4, 4, 2]);
    expect(dispatcher.stats()).toMatchObject({ inFlight: 0, queued: 0, batchesSent: 3, activationsSent: 10, meanBatch: 10 / 3 });
  });

  it('shares a small burst among the idle threads instead of batching it into one', async () => {
    const { dispatcher, sent, target } = setup({ limit: 4, batch: 16 });
    const a = target('a');
    for (let i = 1; i <= 8; i++) dispatcher.submit(a, i);
    expect(sent).toHaveLength(0);
    await tick(1);
    // Sent at the end of the turn: 8 waiting over 4 idle threads, 2 each.
    expect(sizes(sent)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
  });

  it('prefers a queue with a full batch over an older partial one', () => {
    const { dispatcher, sent, target } = setup({ limit: 1, batch: 3 });
    const a = target('a');
    const b = target('b');
    dispatcher.submit(a, 1);
    dispatcher.submit(b, 10);
    dispatcher.submit(b, 11);
    dispatcher.submit(b, 12);
    expect(sent.map((s) => [s.target, s.items])).toEqual([['b', [10, 11, 12]]]);
  });

  it('with flushMs, a partial batch waits that long for company', async () => {
    const { dispatcher, clock, sent, target } = setup({ limit: 2, batch: 4, flushMs: 5 });
    const a = target('a');
    dispatcher.submit(a, 1);
    await tick();
    expect(sent).toHaveLength(0);
    dispatcher.submit(a, 2);
    clock.advance(5);
    expect(sizes(sent)).toEqual([[1], [2]]);
  });

  it('sends a solo activation ahead of the queues, in a batch of its own', async () => {
    const { dispatcher, sent, target, ok } = setup({ limit: 1, batch: 4 });
    const a = target('a');
    for (let i = 1; i <= 6; i++) dispatcher.submit(a, i);
    dispatcher.submitAlone(a, 99);
    ok(sent[0] as Sent);
    await tick();
    expect(sizes(sent)).toEqual([[1, 2, 3, 4], [99]]);
  });

  it('raising the limit sends what waits at once', () => {
    const { dispatcher, sent, target } = setup({ limit: 1, batch: 2 });
    const a = target('a');
    for (let i = 1; i <= 6; i++) dispatcher.submit(a, i);
    expect(sent).toHaveLength(1);
    dispatcher.limit = 3;
    expect(sizes(sent)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  it('classifies a task postMessage could not clone as SLUICE_ERR_NOT_CLONABLE', async () => {
    const { dispatcher, sent, settled, target } = setup({ limit: 1, batch: 2 });
    const a = target('a');
    dispatcher.submit(a, 1);
    dispatcher.submit(a, 2);
    const clone = new Error('could not be cloned');
    clone.name = 'DataCloneError';
    (sent[0] as Sent).reply.reject(clone);
    await tick();
    expect(settled[0]?.error).toMatchObject({ code: ErrorCode.NotClonable, details: { dataClone: true, routineId: 'a' } });

    (sent[0] as Sent).reply.resolve({ ops: [] });
  });

  it('a batch a crashed thread never started goes back to its queue (3 times at most); one it started fails as a crash', async () => {
    const { dispatcher, sent, settled, target, board } = setup({ limit: 1, batch: 2 });
    // Timeouts make the dispatcher take a start mark, which the thread stamps when it starts.
    const t = target('t', 60_000) as unknown as PoolTarget<object>;
    const item = { n: 1 };
    dispatcher.submit(t, item);
    await tick(1);
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(sent).toHaveLength(attempt);
      expect((sent.at(-1) as Sent).start).toBeDefined();
      (sent.at(-1) as Sent).reply.reject(new Error('thread exited'));
      await tick();
    }
    expect(sent).toHaveLength(4);
    expect(settled.map((s) => s.error?.code)).toEqual([ErrorCode.WorkerCrashed]);

    dispatcher.submit(t, { n: 2 });
    await tick(1);
    const started = sent.at(-1) as Sent;
    stampStart(started.start as StartMark, new BigInt64Array(board.buffer as SharedArrayBuffer));
    started.reply.reject(new Error('thread exited'));
    await tick();
    expect(sent).toHaveLength(5);
    expect(settled.map((s) => s.error?.code)).toEqual([ErrorCode.WorkerCrashed, ErrorCode.WorkerCrashed]);
    expect(settled[1]?.error?.message).toContain('A pool thread died while running 1 activation(s) of routine "t"');
  });

  it('fails what is queued with the given error when the pool is destroyed, and is idle after', async () => {
    const { dispatcher, sent, settled, target, ok } = setup({ limit: 1, batch: 2 });
    const a = target('a');
    for (let i = 1; i <= 5; i++) dispatcher.submit(a, i);
    const idle = dispatcher.idle();
    dispatcher.rejectQueued(new SluiceError(ErrorCode.PoolClosed, 'closed'));
    expect(settled.map((s) => [s.items, s.error?.code])).toEqual([[[3, 4, 5], ErrorCode.PoolClosed]]);
    ok(sent[0] as Sent);
    await idle;
    expect(dispatcher.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });
});

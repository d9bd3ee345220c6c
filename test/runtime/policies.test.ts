/** Activation policies as the engine runs them: joins, batches and intervals on a ManualClock. */
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  Flow,
  Runtime,
  allSlotsReady,
  batchSize,
  custom,
  timeInterval,
  type ActivationPolicy,
  type SlotItems,
} from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { expectCode, tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

interface Run {
  items: SlotItems;
  message: unknown;
  at: number;
}

/** A runtime on a ManualClock with one routine `r` under `policy`, recording each activation. */
function setup(policy: ActivationPolicy, slots: string[] = ['in']) {
  const clock = new ManualClock();
  const runtime = new Runtime({ clock });
  const runs: Run[] = [];
  runtime.register(
    new Flow('f').addRoutine(
      makeRoutine({ slots, policy, logic: (items, ctx) => void runs.push({ items, message: ctx.message, at: clock.now() }) }),
      'r',
    ),
  );
  const post = (data: unknown, slot = slots[0] as string) => runtime.post('f', 'r', slot, data)[1];
  return { clock, runtime, runs, post };
}

describe('allSlotsReady (join)', () => {
  it('runs once every slot has an item, pairing them in order, and both jobs complete', async () => {
    const { runs, post } = setup(allSlotsReady({ timeoutMs: 1000 }), ['a', 'b']);
    const a1 = post('a1', 'a');
    const a2 = post('a2', 'a');
    await tick();
    expect(runs).toEqual([]);
    const b1 = post('b1', 'b');
    const b2 = post('b2', 'b');
    await tick();
    expect(runs.map((r) => r.items)).toEqual([
      { a: ['a1'], b: ['b1'] },
      { a: ['a2'], b: ['b2'] },
    ]);
    for (const job of [a1, a2, b1, b2]) expect(job.status).toBe('completed');
  });

  it("with onTimeout 'fail' fails the waiting item's job with SLUICE_ERR_JOIN_TIMEOUT when its timer fires", async () => {
    const { clock, runs, post, runtime } = setup(allSlotsReady({ timeoutMs: 100 }), ['a', 'b']);
    const lonely = post('a1', 'a');
    await tick();
    clock.advance(99);
    await tick();
    expect(lonely.status).toBe('pending');
    clock.advance(1);
    await tick();
    expect(lonely.status).toBe('failed');
    expect(lonely.error?.code).toBe(ErrorCode.JoinTimeout);
    expect(lonely.traceLog.map((t) => t.status)).toEqual(['expired']);
    expect(runs).toEqual([]);
    expect(runtime.stats().queuedItems).toBe(0);
  });

  it("with onTimeout 'flush' runs the partial set with empty arrays for missing slots", async () => {
    const { clock, runs, post } = setup(allSlotsReady({ timeoutMs: 100, onTimeout: 'flush' }), ['a', 'b']);
    const job = post('a1', 'a');
    await tick();
    clock.advance(100);
    await tick();
    expect(runs).toEqual([{ items: { a: ['a1'], b: [] }, message: { partial: true }, at: 100 }]);
    expect(job.status).toBe('completed');
  });
});

describe('batchSize', () => {
  it('runs full batches at once', async () => {
    const { runs, post } = setup(batchSize(3, { timeoutMs: 50 }));
    const jobs = [1, 2, 3, 4, 5, 6].map((n) => post(n));
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(runs[0]?.message).toEqual({ batchSize: 3, partial: false });
    expect(jobs.every((j) => j.status === 'completed')).toBe(true);
  });

  it('flushes a partial batch when its timer fires, not before', async () => {
    const { clock, runs, post } = setup(batchSize(3, { timeoutMs: 50 }));
    const jobs = [post(1), post(2), post(3), post(4)];
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([[1, 2, 3]]);
    clock.advance(49);
    await tick();
    expect(runs).toHaveLength(1);
    expect(jobs[3]?.status).toBe('pending');
    clock.advance(1);
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([[1, 2, 3], [4]]);
    expect(runs[1]).toMatchObject({ message: { batchSize: 3, partial: true }, at: 50 });
    expect(jobs[3]?.status).toBe('completed');
  });

  it('times a partial batch from its first item', async () => {
    const { clock, runs, post } = setup(batchSize(3, { timeoutMs: 50 }));
    post(1);
    await tick();
    clock.advance(30);
    post(2);
    await tick();
    clock.advance(19);
    await tick();
    expect(runs).toHaveLength(0);
    clock.advance(1);
    await tick();
    expect(runs.map((r) => [r.items.in, r.at])).toEqual([[[1, 2], 50]]);
  });

  it('is capped by runtime.setBatchLimit, and uncapped again with undefined', async () => {
    const { clock, runtime, runs, post } = setup(batchSize(4));
    runtime.exec('f', { workerId: 'other' });
    post(0); // creates the default worker
    await tick();
    clock.advance(50); // flush the partial batch of one
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([[0]]);
    runs.length = 0;
    runtime.setBatchLimit('f', 'r', 2);
    for (let i = 1; i <= 4; i++) post(i);
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(runs[0]?.message).toEqual({ batchSize: 2, partial: false });
    runs.length = 0;
    runtime.setBatchLimit('f', 'r', undefined);
    for (let i = 1; i <= 4; i++) post(i);
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([[1, 2, 3, 4]]);
  });

  it('setBatchLimit also caps workers started afterwards', async () => {
    const { runtime, runs, post } = setup(batchSize(4));
    runtime.setBatchLimit('f', 'r', 2);
    for (let i = 1; i <= 4; i++) post(i);
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('setBatchLimit validates its arguments', () => {
    const { runtime } = setup(batchSize(4));
    expectCode(() => runtime.setBatchLimit('nope', 'r', 2), ErrorCode.FlowNotFound);
    expect(expectCode(() => runtime.setBatchLimit('f', 'ghost', 2), ErrorCode.RoutineNotFound).message).toContain('"ghost"');
    expect(expectCode(() => runtime.setBatchLimit('f', 'r', 0), ErrorCode.InvalidArgument).message).toContain('`0` (number)');
  });
});

describe('timeInterval', () => {
  it('runs at most once per interval and fires on its timer without new arrivals', async () => {
    const { clock, runs, post } = setup(timeInterval(100));
    post(1);
    await tick();
    expect(runs.map((r) => [r.items.in, r.at])).toEqual([[[1], 0]]);
    clock.advance(10);
    const late = [post(2), post(3)];
    await tick();
    expect(runs).toHaveLength(1);
    clock.advance(89);
    await tick();
    expect(runs).toHaveLength(1);
    expect(late[0]?.status).toBe('pending');
    clock.advance(1);
    await tick();
    expect(runs.map((r) => [r.items.in, r.at])).toEqual([
      [[1], 0],
      [[2, 3], 100],
    ]);
    expect(late.every((j) => j.status === 'completed')).toBe(true);
    // Nothing queued: the timer does not keep firing.
    clock.advance(1000);
    await tick();
    expect(runs).toHaveLength(2);
  });
});

describe('custom', () => {
  it('runs when the check says so, taking what it names', async () => {
    const { runs, post } = setup(custom((slots) => slots.count('in') >= 2 && { activate: true, take: { in: 2 }, message: 'pair' }));
    post('a');
    await tick();
    expect(runs).toEqual([]);
    post('b');
    post('c');
    await tick();
    expect(runs.map((r) => [r.items.in, r.message])).toEqual([[['a', 'b'], 'pair']]);
  });

  it('a malformed decision fails the queued jobs with SLUICE_ERR_INVALID_POLICY_DECISION naming the routine', async () => {
    const { runs, post, runtime } = setup(custom(() => ({ activate: true, take: { nope: 1 } })));
    const job = post('x');
    await job.done();
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe(ErrorCode.InvalidPolicyDecision);
    expect(job.error?.message).toContain('"r"');
    expect(job.error?.message).toContain('nope');
    expect(runs).toEqual([]);
    expect(runtime.stats().queuedItems).toBe(0);
  });

  it('a throwing check fails the queued jobs with SLUICE_ERR_INVALID_POLICY_DECISION', async () => {
    const { post } = setup(
      custom(() => {
        throw new Error('boom');
      }),
    );
    const job = post('x');
    await job.done();
    expect(job.error?.code).toBe(ErrorCode.InvalidPolicyDecision);
    expect(job.error?.message).toContain('"r"');
    expect(job.error?.message).toContain('boom');
  });

  it('a wait decision with wakeAfterMs re-evaluates on its timer', async () => {
    const { clock, runs, post } = setup(custom((_s, ctx) => (ctx.reason === 'timer' ? true : { activate: false, wakeAfterMs: 30 })));
    post('x');
    await tick();
    clock.advance(29);
    await tick();
    expect(runs).toEqual([]);
    clock.advance(1);
    await tick();
    expect(runs.map((r) => r.items.in)).toEqual([['x']]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  allSlotsReady,
  batchSize,
  custom,
  immediate,
  timeInterval,
  type PolicyContext,
  type SlotsView,
} from '../../src/index.ts';
import { policies } from '../../src/core/index.ts';
import { checkDecision, isBuiltinPolicy } from '../../src/core/index.ts';
import { expectCode } from '../fixtures/helpers.ts';

/** A SlotsView over plain arrays. */
function view(slots: Record<string, unknown[]>): SlotsView {
  return {
    names: Object.keys(slots),
    count: (s) => slots[s]?.length ?? 0,
    peek: (s, i = 0) => slots[s]?.[i],
    total: () => Object.values(slots).reduce((n, list) => n + list.length, 0),
  };
}

function ctx(now: number, state: Record<string, unknown> = {}, batchLimit?: number): PolicyContext {
  return { now, state, workerId: 'w', routineId: 'r', reason: 'data', batchLimit };
}

describe('policy metadata', () => {
  it('each built-in states its type, config and description', () => {
    expect(immediate()).toMatchObject({ type: 'immediate', config: {} });
    expect(allSlotsReady({ timeoutMs: 500, onTimeout: 'flush' })).toMatchObject({
      type: 'allSlotsReady',
      config: { timeoutMs: 500, onTimeout: 'flush' },
    });
    expect(allSlotsReady().config).toEqual({ timeoutMs: 30_000, onTimeout: 'fail' });
    expect(batchSize(8, { timeoutMs: 20 })).toMatchObject({ type: 'batchSize', config: { n: 8, timeoutMs: 20 } });
    expect(batchSize(8).config).toEqual({ n: 8, timeoutMs: 50 });
    expect(timeInterval(250)).toMatchObject({ type: 'timeInterval', config: { ms: 250 } });
    function evenCounts(): boolean {
      return false;
    }
    expect(custom(evenCounts, 'even counts')).toMatchObject({
      type: 'custom',
      config: { check: 'evenCounts' },
      description: 'even counts',
    });
    expect(batchSize(8, { timeoutMs: 20 }).description).toContain('8');
    expect(batchSize(8, { timeoutMs: 20 }).description).toContain('20 ms');
    expect(allSlotsReady({ timeoutMs: 500 }).description).toContain('500 ms');
    expect(timeInterval(250).description).toContain('250 ms');
    expect(Object.isFrozen(batchSize(2).config)).toBe(true);
    expect(policies.batchSize).toBe(batchSize);
  });

  it('marks built-ins as trusted and custom policies as checked', () => {
    expect(isBuiltinPolicy(immediate())).toBe(true);
    expect(isBuiltinPolicy(batchSize(2))).toBe(true);
    expect(isBuiltinPolicy(custom(() => true))).toBe(false);
  });

  it.each([
    ['batchSize(0)', () => batchSize(0), 'batchSize n', '`0` (number)'],
    ['batchSize(1.5)', () => batchSize(1.5), 'batchSize n', '`1.5`'],
    ['batchSize timeoutMs -1', () => batchSize(2, { timeoutMs: -1 }), 'batchSize timeoutMs', '`-1`'],
    ['batchSize unknown key', () => batchSize(2, { timeout: 5 } as never), 'timeout', 'timeoutMs'],
    ['allSlotsReady timeoutMs 0', () => allSlotsReady({ timeoutMs: 0 }), 'allSlotsReady timeoutMs', '`0`'],
    ['allSlotsReady onTimeout', () => allSlotsReady({ onTimeout: 'drop' as never }), 'allSlotsReady onTimeout', '`"drop"`'],
    ['allSlotsReady unknown key', () => allSlotsReady({ wait: 1 } as never), 'wait', 'onTimeout'],
    ['timeInterval(0)', () => timeInterval(0), 'timeInterval ms', '`0`'],
    ['custom(non-function)', () => custom('x' as never), 'custom check', '`"x"`'],
  ])('%s is a coded error naming the option and value', (_label, make, name, value) => {
    const err = expectCode(make, ErrorCode.InvalidArgument);
    expect(err.message).toContain(name);
    expect(err.message).toContain(value);
  });
});

describe('immediate', () => {
  it('takes one item from the first non-empty slot', () => {
    const p = immediate();
    expect(p.evaluate(view({ a: [], b: [] }), ctx(0))).toEqual({ activate: false });
    expect(p.evaluate(view({ a: [], b: [1, 2] }), ctx(0))).toEqual({ activate: true, take: { b: 1 } });
    expect(p.evaluate(view({ a: [9], b: [1] }), ctx(0))).toEqual({ activate: true, take: { a: 1 } });
  });
});

describe('allSlotsReady', () => {
  it('waits until every slot has an item, then takes one of each', () => {
    const p = allSlotsReady({ timeoutMs: 100 });
    const state = {};
    expect(p.evaluate(view({ a: [1], b: [] }), ctx(0, state))).toEqual({ activate: false, wakeAfterMs: 100 });
    expect(p.evaluate(view({ a: [1], b: [] }), ctx(40, state))).toEqual({ activate: false, wakeAfterMs: 60 });
    expect(p.evaluate(view({ a: [1, 2], b: [3] }), ctx(50, state))).toEqual({ activate: true, take: { a: 1, b: 1 } });
  });

  it('expires the waiting items after the timeout with onTimeout fail', () => {
    const p = allSlotsReady({ timeoutMs: 100 });
    const state = {};
    p.evaluate(view({ a: [1], b: [] }), ctx(0, state));
    const d = p.evaluate(view({ a: [1], b: [] }), ctx(100, state));
    expect(d).toMatchObject({ activate: false, expire: { a: 1 } });
  });

  it('runs the partial set after the timeout with onTimeout flush', () => {
    const p = allSlotsReady({ timeoutMs: 100, onTimeout: 'flush' });
    const state = {};
    p.evaluate(view({ a: [1], b: [] }), ctx(0, state));
    expect(p.evaluate(view({ a: [1], b: [] }), ctx(100, state))).toEqual({ activate: true, take: { a: 1 }, message: { partial: true } });
  });
});

describe('batchSize', () => {
  it('takes full batches across slots, then flushes a partial one after the timeout', () => {
    const p = batchSize(3, { timeoutMs: 50 });
    const state = {};
    expect(p.evaluate(view({ a: [1, 2], b: [3, 4] }), ctx(0, state))).toEqual({
      activate: true,
      take: { a: 2, b: 1 },
      message: { batchSize: 3, partial: false },
    });
    expect(p.evaluate(view({ a: [], b: [4] }), ctx(0, state))).toEqual({ activate: false, wakeAfterMs: 50 });
    expect(p.evaluate(view({ a: [], b: [4] }), ctx(30, state))).toEqual({ activate: false, wakeAfterMs: 20 });
    expect(p.evaluate(view({ a: [], b: [4] }), ctx(50, state))).toEqual({
      activate: true,
      take: { b: 1 },
      message: { batchSize: 3, partial: true },
    });
  });

  it('never takes more than the batch limit, nor more than n', () => {
    const p = batchSize(4);
    expect(p.evaluate(view({ a: [1, 2, 3, 4, 5] }), ctx(0, {}, 2))).toMatchObject({ activate: true, take: { a: 2 } });
    expect(p.evaluate(view({ a: [1, 2, 3, 4, 5] }), ctx(0, {}, 100))).toMatchObject({ activate: true, take: { a: 4 } });
  });
});

describe('timeInterval', () => {
  it('runs at most once per interval over everything queued', () => {
    const p = timeInterval(100);
    const state = {};
    expect(p.evaluate(view({ a: [] }), ctx(0, state))).toEqual({ activate: false });
    expect(p.evaluate(view({ a: [1, 2] }), ctx(5, state))).toMatchObject({ activate: true, take: { a: 2 } });
    expect(p.evaluate(view({ a: [3] }), ctx(50, state))).toEqual({ activate: false, wakeAfterMs: 55 });
    expect(p.evaluate(view({ a: [3] }), ctx(105, state))).toMatchObject({ activate: true, take: { a: 1 } });
  });
});

describe('custom', () => {
  it('maps true to "take everything", false to wait, and passes decisions through', () => {
    let answer: unknown = true;
    const p = custom(() => answer as boolean);
    expect(p.evaluate(view({ a: [1, 2], b: [3] }), ctx(0))).toEqual({ activate: true, take: { a: 2, b: 1 } });
    expect(p.evaluate(view({ a: [] }), ctx(0))).toEqual({ activate: false });
    answer = false;
    expect(p.evaluate(view({ a: [1] }), ctx(0))).toEqual({ activate: false });
    answer = { activate: true, take: { a: 1 }, message: 'm' };
    expect(p.evaluate(view({ a: [1] }), ctx(0))).toBe(answer);
  });
});

describe('checkDecision', () => {
  const slots = view({ a: [1, 2], b: [] });
  it.each([
    ['not an object', 5],
    ['activate missing', {}],
    ['take missing', { activate: true }],
    ['unknown slot', { activate: true, take: { zz: 1 } }],
    ['negative count', { activate: true, take: { a: -1 } }],
    ['too many', { activate: true, take: { a: 3 } }],
    ['nothing taken', { activate: true, take: { a: 0 } }],
    ['bad wakeAfterMs', { activate: false, wakeAfterMs: -5 }],
    ['bad expire slot', { activate: false, expire: { zz: 1 } }],
    ['expire out of range', { activate: false, expire: { a: 5 } }],
  ])('rejects %s with SLUICE_ERR_INVALID_POLICY_DECISION naming the routine', (_label, decision) => {
    const err = expectCode(() => checkDecision('joiner', decision, slots), ErrorCode.InvalidPolicyDecision);
    expect(err.message).toContain('"joiner"');
  });

  it('accepts well-formed decisions', () => {
    expect(checkDecision('r', { activate: true, take: { a: 2 } }, slots)).toEqual({ activate: true, take: { a: 2 } });
    expect(checkDecision('r', { activate: false, wakeAfterMs: 5, expire: { a: 1 } }, slots)).toEqual({
      activate: false,
      wakeAfterMs: 5,
      expire: { a: 1 },
    });
  });
});

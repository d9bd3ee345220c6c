import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { Governor, createGovernable, isGovernable, resolveKnob } from '../../src/governor/index.ts';

describe('createGovernable', () => {
  function make() {
    let pool = 2;
    let rate = 500;
    const governable = createGovernable({
      name: 'runtime',
      knobs: {
        pool: { kind: 'pool_size', min: 1, max: 8, get: () => pool, set: (n) => void (pool = n) },
        rate: { kind: 'admission_rate', min: 1, max: 1000, baseline: 1000, get: () => rate, set: (n) => void (rate = n) },
      },
    });
    return { governable, get: () => ({ pool, rate }) };
  }

  it('describes knobs with the baseline defaulting to the value at creation', () => {
    const { governable } = make();
    expect(isGovernable(governable)).toBe(true);
    expect(governable.knobs()).toEqual([
      { name: 'pool', kind: 'pool_size', value: 2, min: 1, max: 8, baseline: 2 },
      { name: 'rate', kind: 'admission_rate', value: 500, min: 1, max: 1000, baseline: 1000 },
    ]);
    expect(resolveKnob('runtime', governable.knobs()[1]!).step).toBe('continuous');
  });

  it('rounds integer knobs, clamps to bounds and returns the applied value', () => {
    const { governable, get } = make();
    expect(governable.setKnob('pool', 3.6)).toBe(4);
    expect(governable.setKnob('pool', 99)).toBe(8);
    expect(governable.setKnob('rate', 12.5)).toBe(12.5);
    expect(get()).toEqual({ pool: 8, rate: 12.5 });
  });

  it('rejects unknown knobs and NaN with coded errors', () => {
    const { governable } = make();
    expect(() => governable.setKnob('threads', 2)).toThrowError(
      expect.objectContaining({ code: ErrorCode.UnknownKnob, message: expect.stringContaining('"threads"') }),
    );
    expect(() => governable.setKnob('pool', Number.NaN)).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining('`NaN`') }),
    );
  });

  it('fails at creation on a bad table', () => {
    expect(() =>
      createGovernable({ name: 'x', knobs: { p: { kind: 'pool_size', min: 5, max: 1, get: () => 2, set: () => {} } } }),
    ).toThrowError(expect.objectContaining({ code: ErrorCode.InvalidKnob }));
    expect(() => createGovernable({ name: ' x', knobs: {} })).toThrowError(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });

  it('a setter returning nothing numeric gives a rejected decision', async () => {
    const governor = new Governor({
      clock: new ManualClock(),
      sensor: () => ({ cpu_util: 0.99 }),
      rules: [{ metric: 'cpu_util', threshold: 0.9, action: 'throttle' }],
    });
    governor.register({
      name: 'odd',
      knobs: () => [{ name: 'r', kind: 'admission_rate', value: 100, min: 1, max: 100, baseline: 100 }],
      setKnob: () => undefined as unknown as number,
    });
    const { decisions } = await governor.tick();
    expect(decisions[0]).toMatchObject({ outcome: 'rejected', error: { message: expect.stringContaining('undefined') } });
  });
});

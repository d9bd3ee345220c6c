import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.ts';
import { Governor, PolicyRule, createDefaultRules } from '../../src/governor/index.ts';

describe('PolicyRule', () => {
  it('triggers strictly above the threshold and clears strictly below the clear bound', () => {
    const rule = new PolicyRule({ metric: 'vram_util', threshold: 0.85, clearThreshold: 0.7, action: 'reduce_batch' });
    expect(rule.triggered(0.86)).toBe(true);
    expect(rule.triggered(0.85)).toBe(false);
    expect(rule.cleared(0.8)).toBe(false); // inside the hysteresis band
    expect(rule.cleared(0.69)).toBe(true);
  });

  it('mirrors for direction below', () => {
    const rule = new PolicyRule({ metric: 'pool_util', direction: 'below', threshold: 0.25, clearThreshold: 0.5, action: 'scale_down' });
    expect(rule.triggered(0.2)).toBe(true);
    expect(rule.triggered(0.3)).toBe(false);
    expect(rule.cleared(0.4)).toBe(false);
    expect(rule.cleared(0.6)).toBe(true);
  });

  it('fills defaults: name, factor per action, value input, no band, 2 s cooldown', () => {
    const rule = new PolicyRule({ metric: 'cpu_util', threshold: 0.9, action: 'throttle' });
    expect(rule.toJSON()).toMatchObject({
      name: 'cpu_util-above-throttle',
      factor: 0.8,
      use: 'value',
      direction: 'above',
      clearThreshold: 0.9,
      cooldownMs: 2000,
      fireAfter: 1,
      clearAfter: 3,
      restore: true,
      requires: [],
    });
    expect(new PolicyRule({ metric: 'x', threshold: 1, action: 'reduce_batch' }).factor).toBe(0.5);
    expect(new PolicyRule({ metric: 'x', threshold: 1, action: 'scale_up' }).factor).toBe(1);
  });

  it('is immutable', () => {
    const rule = new PolicyRule({ metric: 'x', threshold: 1, action: 'scale_up' });
    expect(() => {
      (rule as { threshold: number }).threshold = 2;
    }).toThrow(TypeError);
  });

  it.each([
    [{ metric: 'x', threshold: Number.NaN, action: 'throttle' }, 'threshold', '`NaN`'],
    [{ metric: '', threshold: 1, action: 'throttle' }, 'metric', '`""`'],
    [{ metric: 'x', threshold: 1, action: 'reduce_batch', factor: 1.5 }, 'factor', '`1.5`'],
    [{ metric: 'x', threshold: 1, action: 'throttle', factor: 0 }, 'factor', '`0`'],
    [{ metric: 'x', threshold: 1, action: 'scale_up', factor: -1 }, 'factor', '`-1`'],
    [{ metric: 'x', threshold: 1, action: 'scale_up', direction: 'up' }, 'direction', '"up"'],
    [{ metric: 'x', threshold: 1, action: 'scale_up', use: 'median' }, 'use', '"median"'],
    [{ metric: 'x', threshold: 1, action: 'scale_up', cooldownMs: -5 }, 'cooldownMs', '`-5`'],
    [{ metric: 'x', threshold: 1, action: 'scale_up', clearAfter: 0 }, 'clearAfter', '`0`'],
    [{ metric: 'x', threshold: 1, action: 'scale_up', fireAfter: 1.5 }, 'fireAfter', '`1.5`'],
    [{ metric: 'x', threshold: 1, action: 'scale_up', requires: [{ metric: 'y', threshold: 'high' }] }, 'requires[0].threshold', '"high"'],
  ])('rejects %o with a coded error naming `%s` and the value', (options, name, shown) => {
    expect(() => new PolicyRule(options as never)).toThrowError(
      expect.objectContaining({
        code: ErrorCode.InvalidArgument,
        message: expect.stringMatching(new RegExp(`\`${name.replace(/[[\]]/g, '\\$&')}\`.*${shown.replace(/[[\]]/g, '\\$&')}`)),
      }),
    );
  });

  it('rejects a clear bound on the wrong side of the threshold with a RangeError', () => {
    expect(() => new PolicyRule({ metric: 'x', threshold: 0.8, clearThreshold: 0.9, action: 'throttle' })).toThrow(RangeError);
    expect(() => new PolicyRule({ metric: 'x', direction: 'below', threshold: 0.5, clearThreshold: 0.4, action: 'scale_down' })).toThrow(
      RangeError,
    );
  });

  it('rejects misspelt options', () => {
    expect(() => new PolicyRule({ metric: 'x', threshold: 1, action: 'throttle', cooldown: 5 } as never)).toThrowError(
      /PolicyRule options\.cooldown/,
    );
  });
});

describe('createDefaultRules', () => {
  it('holds the issue defaults plus memory and pool scaling rules', () => {
    const rules = Object.fromEntries(createDefaultRules().map((r) => [r.name, r]));
    expect(rules['vram-pressure']).toMatchObject({ metric: 'vram_util', threshold: 0.85, action: 'reduce_batch', use: 'forecast' });
    expect(rules['cpu-saturation']).toMatchObject({ metric: 'cpu_util', threshold: 0.9, action: 'throttle' });
    expect(rules['latency-slo']).toMatchObject({ metric: 'latency_ms', threshold: 500, action: 'shed_load' });
    expect(rules['memory-pressure']).toMatchObject({ metric: 'mem_util', action: 'reduce_batch' });
    expect(rules['pool-scale-up']).toMatchObject({ metric: 'pool_util', action: 'scale_up', direction: 'above' });
    expect(rules['pool-scale-up']!.requires.map((c) => c.metric)).toEqual(['queue_depth', 'cpu_util']);
    expect(rules['pool-scale-down']).toMatchObject({ metric: 'pool_util', action: 'scale_down', direction: 'below' });
    for (const rule of Object.values(rules)) expect(rule.cleared(rule.threshold)).toBe(false); // every default has a band
  });

  it('holds the latency target it is given, and the Governor passes its own', () => {
    const slo = createDefaultRules({ latencyTargetMs: 80 }).find((r) => r.name === 'latency-slo');
    expect(slo).toMatchObject({ threshold: 80, clearThreshold: 40, action: 'shed_load' });
    const governor = new Governor({ latencyTargetMs: 120 });
    expect(governor.latencyTargetMs).toBe(120);
    expect(governor.rules().find((r) => r.name === 'latency-slo')).toMatchObject({ threshold: 120, clearThreshold: 60 });
    expect(new Governor().latencyTargetMs).toBe(500);
    expect(() => new Governor({ latencyTargetMs: 0 })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining('latencyTargetMs') }),
    );
  });

  it('returns fresh rules each call', () => {
    expect(createDefaultRules()[0]).not.toBe(createDefaultRules()[0]);
  });
});

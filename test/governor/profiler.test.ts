import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.ts';
import { Ema, MetricProfiler, createKalmanFilter } from '../../src/governor/index.ts';

describe('Ema', () => {
  it('is seeded with the first sample and weighs the newest by alpha', () => {
    const ema = new Ema(0.5);
    expect(ema.value).toBeUndefined();
    expect(ema.update(10)).toBe(10);
    expect(ema.update(20)).toBe(15);
    expect(ema.update(20)).toBe(17.5);
    expect(ema.update(0)).toBe(8.75);
  });

  it('with alpha 1 is the last value', () => {
    const ema = new Ema(1);
    for (const x of [3, 9, 4]) ema.update(x);
    expect(ema.value).toBe(4);
  });

  it.each([0, -0.1, 1.5, Number.NaN])('rejects alpha %s with a coded error naming it', (alpha) => {
    expect(() => new Ema(alpha)).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining(`\`${alpha}\``) }),
    );
  });
});

describe('Kalman filters', () => {
  it('constant-velocity forecast tracks a ramp better than the last value', () => {
    const kf = createKalmanFilter({ model: 'constant-velocity' });
    let kalmanError = 0;
    let naiveError = 0;
    for (let i = 0; i < 30; i++) {
      const x = 5 + 2 * i;
      if (i >= 3) {
        kalmanError += Math.abs(kf.forecast! - x);
        naiveError += Math.abs(kf.estimate! === undefined ? 0 : 5 + 2 * (i - 1) - x);
      }
      kf.update(x);
    }
    // The last value lags by the slope (2) on every step; the forecast converges onto the ramp.
    expect(naiveError).toBeCloseTo(2 * 27, 6);
    expect(kalmanError).toBeLessThan(naiveError / 10);
    expect(kf.trend).toBeCloseTo(2, 2);
    expect(kf.forecast).toBeCloseTo(5 + 2 * 30, 1);
  });

  it('constant-velocity forecast on a known ramp: first steps', () => {
    const kf = createKalmanFilter();
    kf.update(0);
    expect(kf.forecast).toBe(0);
    expect(kf.trend).toBe(0);
    kf.update(2);
    // With a wide prior on the trend the second sample almost fixes it: level ~2, trend ~2.
    expect(kf.estimate).toBeCloseTo(2, 1);
    expect(kf.forecast).toBeCloseTo(4, 1);
  });

  it('random-walk model converges on a constant and forecasts its level', () => {
    const kf = createKalmanFilter({ model: 'random-walk' });
    kf.update(10);
    for (let i = 0; i < 50; i++) kf.update(i % 2 === 0 ? 11 : 9);
    expect(kf.trend).toBe(0);
    expect(kf.forecast).toBe(kf.estimate);
    expect(kf.forecast!).toBeGreaterThan(9.5);
    expect(kf.forecast!).toBeLessThan(10.5);
  });

  it('is linear: scaling the data scales the forecast', () => {
    const a = createKalmanFilter();
    const b = createKalmanFilter();
    for (const x of [1, 4, 2, 8, 5, 7]) {
      a.update(x);
      b.update(x * 1e6);
    }
    expect(b.forecast! / 1e6).toBeCloseTo(a.forecast!, 9);
  });

  it('rejects invalid options with coded errors naming the value', () => {
    expect(() => createKalmanFilter({ model: 'linear' as never })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining('"linear"') }),
    );
    expect(() => createKalmanFilter({ processNoise: 0 })).toThrowError(/kalman\.processNoise.*`0`/);
    expect(() => createKalmanFilter({ measurementNoise: -1 })).toThrowError(/kalman\.measurementNoise.*`-1`/);
  });
});

describe('MetricProfiler', () => {
  it('exposes current, ema, forecast and trend per metric', () => {
    const profiler = new MetricProfiler({ alpha: 0.5 });
    profiler.update({ queue_depth: 10 });
    profiler.update({ queue_depth: 20 });
    const p = profiler.profile('queue_depth')!;
    expect(p.current).toBe(20);
    expect(p.ema).toBe(15);
    expect(p.samples).toBe(2);
    expect(p.forecast).toBeGreaterThan(20);
    expect(p.trend).toBeGreaterThan(0);
  });

  it('keeps a missing metric as it was instead of feeding it a zero', () => {
    const profiler = new MetricProfiler();
    profiler.update({ a: 5, b: 1 });
    profiler.update({ b: 2 });
    expect(profiler.profile('a')).toMatchObject({ current: 5, samples: 1 });
    expect(profiler.profile('gpu_util')).toBeUndefined();
    expect(Object.keys(profiler.profiles()).sort()).toEqual(['a', 'b']);
  });

  it('forgets metrics by prefix and returns snapshots', () => {
    const profiler = new MetricProfiler();
    profiler.update({ 'runtime.latency_ms': 5, cpu_util: 0.5 });
    const snap = profiler.profiles();
    profiler.update({ cpu_util: 0.9 });
    expect(snap.cpu_util!.current).toBe(0.5);
    profiler.forget('runtime.');
    expect(profiler.profile('runtime.latency_ms')).toBeUndefined();
  });

  it('rejects unknown options', () => {
    expect(() => new MetricProfiler({ alfa: 0.2 } as never)).toThrowError(/profiler\.alfa/);
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { LatencyTracker, ThroughputCounter } from '../../src/telemetry/index.ts';

describe('LatencyTracker', () => {
  it('tracks an EMA and window percentiles (nearest rank)', () => {
    const latency = new LatencyTracker({ alpha: 0.5, window: 100 });
    expect(latency.snapshot()).toMatchObject({ count: 0, ema: undefined, p99: undefined });
    latency.record(10);
    latency.record(20);
    expect(latency.ema).toBe(15);
    latency.reset();
    for (let i = 1; i <= 100; i++) latency.record(i);
    expect(latency.snapshot()).toMatchObject({ count: 100, min: 1, max: 100, mean: 50.5, p50: 50, p90: 90, p99: 99, last: 100 });
    expect(latency.percentile(1)).toBe(100);
  });

  it('percentiles cover only the latest window', () => {
    const latency = new LatencyTracker({ window: 10 });
    for (let i = 0; i < 1000; i++) latency.record(1000);
    for (let i = 0; i < 10; i++) latency.record(1);
    expect(latency.snapshot()).toMatchObject({ p99: 1, max: 1000, count: 1010 });
  });

  it('refuses negative samples and bad options', () => {
    expect(() => new LatencyTracker().record(-1)).toThrow(/`ms`/);
    expect(() => new LatencyTracker({ alpha: 0 })).toThrow('Expected `alpha` to be a number in (0, 1], got `0` (number)');
    expect(() => new LatencyTracker({ window: 0 })).toThrow(/`window`/);
  });
});

describe('ThroughputCounter', () => {
  it('reports the rate over a sliding window', () => {
    const clock = new ManualClock(0);
    const counter = new ThroughputCounter({ windowMs: 1000, buckets: 10, clock });
    for (let t = 0; t < 1000; t += 10) {
      counter.add(5);
      clock.advance(10);
    }
    expect(counter.rate()).toBeCloseTo(500, 0); // 5 per 10 ms
    clock.advance(500); // half the window is now empty
    expect(counter.rate()).toBeCloseTo(250, 0);
    clock.advance(600); // all of it slid out
    expect(counter.rate()).toBe(0);
    expect(counter.total).toBe(500);
  });

  it('while younger than its window, divides by its age, not the window', () => {
    const clock = new ManualClock(0);
    const counter = new ThroughputCounter({ windowMs: 10_000, clock });
    counter.add(100);
    clock.advance(1000);
    expect(counter.rate()).toBeCloseTo(100, 0);
  });

  it('survives a long idle gap', () => {
    const clock = new ManualClock(0);
    const counter = new ThroughputCounter({ windowMs: 100, buckets: 4, clock });
    counter.add(1);
    clock.advance(1e9);
    counter.add(8);
    expect(counter.snapshot()).toEqual({ total: 9, perSecond: 80, windowMs: 100 });
  });
});

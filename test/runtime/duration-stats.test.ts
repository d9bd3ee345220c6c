import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DurationStats, windowPercentiles } from '../../src/runtime/duration-stats.ts';

describe('DurationStats', () => {
  it('percentiles are within 12.5 % of the exact ones, for any sample', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 500 }), (samples) => {
        const stats = new DurationStats();
        for (const ms of samples) stats.record(ms);
        const us = samples.map((ms) => Math.max(1, Math.round(ms * 1000))).sort((a, b) => a - b);
        const exact = (q: number): number => (us[Math.ceil(q * us.length) - 1] as number) / 1000;
        const snap = stats.snapshot();
        expect(snap.count).toBe(samples.length);
        expect(snap.maxMs).toBe((us.at(-1) as number) / 1000);
        for (const [got, want] of [
          [snap.p50Ms, exact(0.5)],
          [snap.p99Ms, exact(0.99)],
        ] as const) {
          expect(Math.abs(got - want)).toBeLessThanOrEqual(want * 0.125 + 0.001);
        }
        expect(snap.avgMs).toBeCloseTo(us.reduce((a, b) => a + b, 0) / us.length / 1000, 6);
      }),
    );
  });

  it('is all zeros before the first sample', () => {
    expect(new DurationStats().snapshot()).toEqual({ count: 0, avgMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
  });

  it('counts the samples below each bucket edge exactly (what Prometheus buckets are read from)', () => {
    const bounds = Array.from({ length: 21 }, (_, k) => 10 * 2 ** k);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20_000_000 }), { maxLength: 200 }), (samplesUs) => {
        const stats = new DurationStats();
        for (const us of samplesUs) stats.record(us / 1000);
        const below = stats.countsBelow(bounds);
        for (const [i, bound] of bounds.entries()) expect(below[i]).toBe(samplesUs.filter((us) => us < bound).length);
        expect(stats.totals).toEqual({ count: samplesUs.length, sumUs: samplesUs.reduce((a, b) => a + b, 0) });
      }),
    );
  });

  it('tells its observer every recorded duration', () => {
    const stats = new DurationStats();
    const seen: number[] = [];
    stats.observer = (ms) => seen.push(ms);
    stats.record(1.5);
    stats.record(0.002);
    stats.observer = undefined;
    stats.record(3);
    expect(seen).toEqual([1.5, 0.002]);
  });

  it('gives the percentiles of what was recorded between two copies of its counts', () => {
    const stats = new DurationStats();
    for (let i = 0; i < 100; i++) stats.record(100);
    const before = stats.counts();
    expect(windowPercentiles(stats.counts(), before)).toBeUndefined();
    for (let i = 0; i < 99; i++) stats.record(1);
    stats.record(50);
    const window = windowPercentiles(stats.counts(), before);
    expect(window?.count).toBe(100);
    expect(window?.p50Ms).toBeCloseTo(1, 0);
    expect(window?.p99Ms).toBeCloseTo(1, 0);
    // Since the start: the 100 ms samples are half of all.
    const all = windowPercentiles(stats.counts(), undefined);
    expect(all?.count).toBe(200);
    expect(all?.p99Ms).toBeGreaterThan(90);
  });
});

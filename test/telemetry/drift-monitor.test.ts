import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DriftMonitor } from '../../src/telemetry/index.ts';

/** A seeded generator, so every run sees the same series. */
function createRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

describe('DriftMonitor (Page-Hinkley)', () => {
  const seeds = Array.from({ length: 20 }, (_, i) => i + 1);

  it('stays quiet on stationary noise', () => {
    for (const seed of seeds) {
      const random = createRandom(seed);
      const drift = new DriftMonitor({ delta: 0.25, threshold: 25 });
      for (let i = 0; i < 3000; i++) expect(drift.update(10 + gaussian(random)).drift).toBe(false);
      expect(drift.snapshot().detections).toBe(0);
    }
  });

  it.each([
    ['up', 13],
    ['down', 7],
  ] as const)('detects a step %s within a few dozen samples and reports the direction', (direction, level) => {
    for (const seed of seeds) {
      const random = createRandom(seed);
      const drift = new DriftMonitor({ delta: 0.25, threshold: 25 });
      for (let i = 0; i < 1000; i++) drift.update(10 + gaussian(random));
      let delay = -1;
      for (let i = 0; i < 200 && delay < 0; i++) {
        const r = drift.update(level + gaussian(random));
        if (r.drift) {
          expect(r.direction).toBe(direction);
          delay = i;
        }
      }
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(40);
    }
  });

  it('starts over after a detection and learns the new level', () => {
    const drift = new DriftMonitor({ delta: 0.1, threshold: 5, minSamples: 5 });
    for (let i = 0; i < 50; i++) drift.update(1);
    let detections = 0;
    for (let i = 0; i < 500; i++) if (drift.update(5).drift) detections++;
    expect(detections).toBe(1);
    expect(drift.snapshot()).toMatchObject({ drift: false, mean: 5, detections: 1 });
  });

  it('raises no alarm before minSamples', () => {
    const drift = new DriftMonitor({ delta: 0, threshold: 1, minSamples: 10 });
    const results = [0, 100, 0, 100, 0].map((x) => drift.update(x).drift);
    expect(results).toEqual([false, false, false, false, false]);
  });

  it('validates options', () => {
    expect(() => new DriftMonitor({ threshold: 0 })).toThrow('Expected `threshold` to be a number > 0, got `0` (number)');
    expect(() => new DriftMonitor({ alpha: 1.5 })).toThrow(/`alpha`/);
    expect(() => new DriftMonitor().update(Number.NaN)).toThrow(/`x`/);
  });
});

describe('DriftMonitor defaults (scale: stddev)', () => {
  it('property: zero alarms on 240,000 samples of stationary noise, whatever its level and spread', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(0.001, 1, 1_000),
        fc.constantFrom(0, 100, -5e6),
        (seed, sigma, level) => {
          const random = createRandom(seed);
          const drift = new DriftMonitor();
          for (let i = 0; i < 240_000; i++) drift.update(level + sigma * gaussian(random));
          expect(drift.snapshot().detections).toBe(0);
        },
      ),
      { numRuns: 6 },
    );
  }, 60_000);

  it('property: a 3σ shift of the mean, up or down, is detected within 16 samples, in the right direction', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(0.001, 1, 1_000),
        fc.constantFrom(1, -1),
        (seed, sigma, sign) => {
          const random = createRandom(seed);
          const drift = new DriftMonitor();
          for (let i = 0; i < 2_000; i++) expect(drift.update(100 + sigma * gaussian(random)).drift).toBe(false);
          let delay = -1;
          for (let i = 0; i < 100 && delay < 0; i++) {
            const r = drift.update(100 + sign * 3 * sigma + sigma * gaussian(random));
            if (r.drift) {
              expect(r.direction).toBe(sign > 0 ? 'up' : 'down');
              delay = i + 1;
            }
          }
          expect(delay).toBeGreaterThan(0);
          expect(delay).toBeLessThanOrEqual(16);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the seed scenario: N(100, 1), 240,000 samples, no false alarm (raw units with threshold 50 raised 6)', () => {
    const random = createRandom(7);
    const drift = new DriftMonitor();
    for (let i = 0; i < 240_000; i++) drift.update(100 + gaussian(random));
    expect(drift.snapshot().detections).toBe(0);
    expect(() => new DriftMonitor({ scale: 'percent' as never })).toThrow(/`scale`/);
  });
});

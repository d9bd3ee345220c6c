import { describe, expect, it } from 'vitest';
import { benchResultToJson, runBench, validateBenchResult, type BenchResult } from '../../src/harness/index.ts';
import tiny, { baseline } from './fixtures/tiny-flow.ts';
import tinyPool from './fixtures/tiny-pool-flow.ts';

function sane(result: BenchResult): void {
  for (const c of result.configurations) {
    expect(c.itemsPerSecond.median).toBeGreaterThan(0);
    expect(Number.isFinite(c.itemsPerSecond.median)).toBe(true);
    expect(c.itemsPerSecond.values).toHaveLength(result.settings.repeat);
    expect(c.latencyMs.p50).toBeGreaterThan(0);
    expect(c.latencyMs.p50).toBeLessThanOrEqual(c.latencyMs.p95);
    expect(c.latencyMs.p95).toBeLessThanOrEqual(c.latencyMs.p99);
    expect(c.latencyMs.p99).toBeLessThanOrEqual(c.latencyMs.max);
    expect(c.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(c.cpuMs).toBeGreaterThan(0);
    expect(c.repetitions.every((r) => r.seconds > 0 && r.seconds < 60)).toBe(true);
    expect(c.timeline.length).toBeGreaterThan(0);
  }
}

describe('runBench on a tiny inline flow', () => {
  let result: BenchResult;

  it('measures every job after the warm-up, beside the baseline', async () => {
    result = await runBench({
      module: tiny,
      items: 300,
      warmup: 50,
      repeat: 2,
      baseline: { name: 'plain JS', run: (items) => items.forEach(baseline) },
    });
    expect(result.configurations).toHaveLength(1);
    const c = result.configurations[0]!;
    // Warm-up excluded: exactly items × repeat jobs counted, all completed.
    expect(c.jobs).toEqual({ posted: 600, completed: 600, failed: 0, cancelled: 0, refused: 0 });
    expect(c.latencyMs.count).toBe(600);
    expect(c.poolUtilization).toBeNull();
    expect(c.speedup).toBe(1);
    sane(result);
    expect(result.baseline?.name).toBe('plain JS');
    expect(result.baseline!.itemsPerSecond.median).toBeGreaterThan(0);
    expect(c.ratioToBaseline).toBeCloseTo(c.itemsPerSecond.median / result.baseline!.itemsPerSecond.median, 10);
    expect(result.settings).toMatchObject({ items: 300, warmup: 50, repeat: 2, mode: 'closed' });
  }, 60_000);

  it('writes JSON that conforms to the schema', () => {
    const parsed = JSON.parse(benchResultToJson(result)) as Record<string, unknown>;
    expect(validateBenchResult(parsed)).toEqual([]);
    const broken = { ...parsed, configurations: [{ ...(parsed.configurations as object[])[0], itemsPerSecond: 'fast' }], schema: 'other' };
    const problems = validateBenchResult(broken);
    expect(problems).toContain('$.schema: expected "sluice.bench/1", got "other"');
    expect(problems.some((p) => p.startsWith('$.configurations[0].itemsPerSecond: expected object'))).toBe(true);
    expect(validateBenchResult({})).toContain('$: missing "configurations"');
  });

  it('says the threads × batch sweep does not apply to a flow without pool routines', async () => {
    const r = await runBench({ module: tiny, items: 50, warmup: 0, repeat: 1, threads: [1, 2], batch: [1, 8] });
    expect(r.configurations.map((c) => c.label)).toEqual(['inline']);
    expect(r.notes.join(' ')).toMatch(/no pool routines/);
  }, 30_000);

  it('counts failed jobs', async () => {
    const r = await runBench({ module: tiny, input: [1, -1], items: 40, warmup: 0, repeat: 1 });
    expect(r.configurations[0]!.jobs).toMatchObject({ posted: 40, completed: 20, failed: 20 });
    expect(r.notes.join(' ')).toMatch(/failed/);
  }, 30_000);

  it('posts open loop at a fixed rate', async () => {
    const r = await runBench({ module: tiny, rate: 1_000, durationMs: 300, warmup: 10, repeat: 1 });
    const c = r.configurations[0]!;
    expect(r.settings.mode).toBe('open');
    expect(c.jobs.posted).toBeGreaterThan(200);
    expect(c.jobs.posted).toBeLessThanOrEqual(300);
    // Open loop: throughput follows the offered rate, not the flow's capacity.
    expect(c.itemsPerSecond.median).toBeLessThan(1_300);
    sane(r);
  }, 30_000);
});

describe('runBench on a tiny pool flow', () => {
  it('sweeps threads × batch and reports pool utilisation', async () => {
    const r = await runBench({ module: tinyPool, items: 200, warmup: 20, repeat: 1, threads: [1, 2], batch: [4] });
    expect(r.poolRoutines).toEqual(['square']);
    expect(r.configurations.map((c) => [c.label, c.threads, c.batch])).toEqual([
      ['threads=1 batch=4', 1, 4],
      ['threads=2 batch=4', 2, 4],
    ]);
    for (const c of r.configurations) {
      expect(c.jobs.completed).toBe(200);
      expect(c.poolUtilization).not.toBeNull();
      expect(c.poolUtilization!).toBeGreaterThanOrEqual(0);
      expect(c.poolUtilization!).toBeLessThanOrEqual(1);
    }
    expect(r.configurations[0]!.speedup).toBe(1);
    expect(r.configurations[1]!.speedup).toBeGreaterThan(0);
    sane(r);
    expect(validateBenchResult(JSON.parse(benchResultToJson(r)))).toEqual([]);
  }, 60_000);
});

describe('bench options are checked at the edge', () => {
  it.each([
    [{ threads: [0] }, /Expected `threads\[0\]` to be an integer >= 1, got `0`/],
    [{ batch: [] }, /Expected `batch` to be a non-empty array/],
    [{ items: 1.5 }, /Expected `items` to be an integer >= 1, got `1.5`/],
    [{ repeat: 0 }, /Expected `repeat` to be an integer >= 1/],
    [{ rate: -1 }, /Expected `rate` to be a number >= 0.001/],
    [{ itmes: 5 }, /Unknown option `bench options.itmes`/],
  ])('%j', async (bad, message) => {
    await expect(runBench({ module: tiny, ...(bad as object) })).rejects.toThrow(message);
    await expect(runBench({ module: tiny, ...(bad as object) })).rejects.toMatchObject({ code: 'SLUICE_ERR_INVALID_ARGUMENT' });
  });

  it('rampTo needs rate and durationMs (a RangeError)', async () => {
    await expect(runBench({ module: tiny, rampTo: 10 })).rejects.toThrow(RangeError);
  });

  it('a module without input needs routine and slot', async () => {
    const { input: _input, ...noInput } = tiny;
    await expect(runBench({ module: noInput as typeof tiny })).rejects.toThrow(/declares no input; give `routine` and `slot`/);
  });
});

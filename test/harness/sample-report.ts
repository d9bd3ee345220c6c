/**
 * A report with every kind of chart (throughput by threads and by batch, latency over time,
 * governor decisions on the same axis), built from a synthetic result so the browser test does
 * not depend on timing.
 */
import { benchResultToReport, type BenchResult, type ConfigurationResult, type ReportModel } from '../../src/harness/index.ts';

function configuration(threads: number, batch: number, ips: number, governed: boolean): ConfigurationResult {
  const latency = { p50: 2 / threads, p95: 5 / threads, p99: 9 / threads, max: 12 / threads, count: 1000 };
  const rep = {
    seconds: 1,
    itemsPerSecond: ips,
    latencyMs: latency,
    peakRssBytes: 150 * 2 ** 20,
    cpuMs: { user: 900, system: 100 },
    poolUtilization: 0.8,
    jobs: { posted: 1000, completed: 1000, failed: 0, cancelled: 0, refused: 0 },
  };
  return {
    label: `threads=${threads} batch=${batch}`,
    threads,
    batch,
    itemsPerSecond: { median: ips, min: ips * 0.95, max: ips * 1.05, spread: 0.1, values: [ips * 0.95, ips, ips * 1.05] },
    latencyMs: latency,
    peakRssBytes: 150 * 2 ** 20,
    cpuMs: 1000,
    cpuUsPerItem: 1000,
    poolUtilization: 0.8,
    jobs: rep.jobs,
    speedup: ips / 800,
    ratioToBaseline: ips / 900,
    repetitions: [rep],
    timeline: Array.from({ length: 16 }, (_, i) => ({
      t: i * 0.25,
      itemsPerSecond: ips * (0.8 + 0.2 * Math.sin(i)),
      p50: 1 + i * 0.1,
      p95: 3 + i * 0.3,
      p99: 5 + (i > 8 ? 20 : i),
      rssMb: 140 + i,
      poolUtilization: 0.8,
    })),
    decisions: governed
      ? [
          { t: 1.1, rule: 'pool-scale-up', action: 'scale_up', phase: 'apply', knob: 'runtime.pool', before: 2, after: 3 },
          { t: 2.6, rule: 'latency-slo', action: 'shed_load', phase: 'apply', knob: 'runtime.shed', before: 0, after: 1 },
          { t: 3.4, rule: 'latency-slo', action: 'shed_load', phase: 'restore', knob: 'runtime.shed', before: 1, after: 0 },
        ]
      : [],
  };
}

/** A synthetic result with a threads × batch sweep and governor decisions. */
export function sampleResult(): BenchResult {
  return {
    schema: 'sluice.bench/1',
    flow: 'cpu',
    module: 'file:///flows/cpu.ts',
    routine: 'source',
    slot: 'in',
    startedAt: '2026-01-01T00:00:00.000Z',
    environment: { node: 'v20.0.0', platform: 'linux', arch: 'x64', cpus: 2 },
    settings: { items: 1000, durationMs: null, rate: null, rampTo: null, warmup: 100, repeat: 3, mode: 'closed' },
    poolRoutines: ['hash'],
    notes: [],
    baseline: { name: 'plain JS', itemsPerSecond: { median: 900, min: 880, max: 920, spread: 0.04, values: [880, 900, 920] } },
    configurations: [
      configuration(1, 1, 800, true),
      configuration(1, 64, 850, false),
      configuration(2, 1, 1500, false),
      configuration(2, 64, 1600, false),
    ],
  };
}

/** The report model of {@link sampleResult}. */
export function sampleModel(): ReportModel {
  return benchResultToReport(sampleResult());
}

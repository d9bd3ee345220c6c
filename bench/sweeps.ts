/**
 * The harness-driven scenarios of `npm run bench` (src/harness, the same engine as
 * `sluice bench`), each beside a baseline measured in the same process:
 *
 * - cpu scaling: flows/cpu.ts by pool threads, against the same kernel in a plain loop;
 * - dispatch-batch sweep: source (inline) → no-op pool routine → sink (inline), by dispatch
 *   batch, through the harness (a latency sample per job), against raw Piscina running one task
 *   per item; the pool path alone (posts straight into the pool routine) and its targets are in
 *   bench/pool.ts;
 * - latency at fixed rates: flows/pipeline.ts posted open-loop at fixed rates, post → job end
 *   percentiles over time, against plain calls deferred by a microtask.
 *
 * Run standalone with `node --import tsx bench/sweeps.ts [--quick]`, or through `npm run bench`.
 */
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { Piscina } from 'piscina';
import cpuModule, { kernel } from '../flows/cpu.ts';
import pipelineModule from '../flows/pipeline.ts';
import { runBench, type BenchResult } from '../src/harness/index.ts';
import type { BenchRow } from './inline.ts';
import noopModule from './pool-flows.ts';

/** Options of {@link runSweepBench}. */
export interface SweepBenchOptions {
  quick?: boolean;
  log?: (line: string) => void;
}

/** What {@link runSweepBench} measured: rows for the tables, whole results for the charts. */
export interface SweepBenchResult {
  rows: BenchRow[];
  cpu: BenchResult;
  batch: BenchResult;
  latency: BenchResult[];
}

const kRaw = new URL('./raw-worker.mjs', import.meta.url).href;

function rawPiscina(threads: number) {
  let piscina: Piscina | undefined;
  return {
    name: `raw Piscina, ${threads} threads, 1 task/item`,
    async setup() {
      piscina = new Piscina({ filename: kRaw, name: 'noop', minThreads: threads, maxThreads: threads });
      await Promise.all(Array.from({ length: threads * 4 }, (_, i) => piscina?.run(i)));
    },
    run: (items: readonly unknown[]) => Promise.all(items.map((x) => piscina?.run(x))),
    teardown: () => piscina?.destroy(),
  };
}

/** Runs the three sweeps. */
export async function runSweepBench(options: SweepBenchOptions = {}): Promise<SweepBenchResult> {
  const quick = options.quick === true;
  const log = options.log ?? (() => undefined);
  const repeat = quick ? 2 : 3;
  const rows: BenchRow[] = [];
  const { size, rounds } = cpuModule.defaults as { size: number; rounds: number };

  log('  cpu flow by threads (harness)…');
  const threads = quick ? [1, 2] : [1, 2, 4];
  const cpu = await runBench({
    module: cpuModule,
    items: quick ? 300 : 800,
    warmup: 100,
    repeat,
    threads,
    batch: [8],
    window: 64,
    baseline: {
      name: 'plain JS kernel, main thread',
      run: (items) => {
        for (const b of items as Array<{ seed: number }>) kernel(b.seed, size, rounds);
      },
    },
  });
  for (const c of cpu.configurations) {
    rows.push({
      scenario: `cpu flow, ${c.threads} thread${c.threads === 1 ? '' : 's'} vs plain JS on the main thread`,
      unit: 'items/s',
      sluice: c.itemsPerSecond.median,
      baseline: cpu.baseline?.itemsPerSecond.median ?? Number.NaN,
      ratio: c.ratioToBaseline ?? Number.NaN,
      spread: c.itemsPerSecond.spread,
      note: `p99 ${c.latencyMs.p99.toFixed(1)} ms, pool util ${Math.round(100 * (c.poolUtilization ?? 0))}%`,
    });
  }

  log('  source → no-op pool routine → sink by dispatch batch (harness)…');
  const batches = quick ? [1, 16, 256] : [1, 4, 16, 64, 256];
  const batch = await runBench({
    module: noopModule,
    items: quick ? 10_000 : 30_000,
    warmup: 10_000,
    repeat,
    threads: [2],
    batch: batches,
    baseline: rawPiscina(2),
  });
  for (const c of batch.configurations) {
    rows.push({
      scenario: `source → no-op pool routine → sink (harness), dispatch batch ${c.batch} vs raw Piscina`,
      unit: 'items/s',
      sluice: c.itemsPerSecond.median,
      baseline: batch.baseline?.itemsPerSecond.median ?? Number.NaN,
      ratio: c.ratioToBaseline ?? Number.NaN,
      spread: c.itemsPerSecond.spread,
      note: `p99 ${c.latencyMs.p99.toFixed(2)} ms`,
    });
  }

  const latency: BenchResult[] = [];
  for (const rate of quick ? [1_000, 5_000] : [1_000, 5_000, 20_000]) {
    log(`  pipeline at ${rate} posts/s (harness)…`);
    const result = await runBench({
      module: pipelineModule,
      rate,
      durationMs: quick ? 1_000 : 2_000,
      warmup: 2_000,
      repeat: 1,
      timelineMs: 100,
    });
    latency.push(result);
    // The baseline: the same three steps as plain calls, deferred by a microtask like a post.
    const base = await microtaskLatency(rate, quick ? 1_000 : 2_000);
    const c = result.configurations[0];
    if (c === undefined) continue;
    rows.push({
      scenario: `pipeline at ${rate} posts/s: p50 post → job end`,
      unit: 'µs',
      sluice: 1000 * c.latencyMs.p50,
      baseline: base.p50,
      ratio: (1000 * c.latencyMs.p50) / base.p50,
      spread: 0,
      note: `${c.jobs.posted} jobs, ${c.jobs.refused} refused`,
    });
    rows.push({
      scenario: `pipeline at ${rate} posts/s: p99 post → job end`,
      unit: 'µs',
      sluice: 1000 * c.latencyMs.p99,
      baseline: base.p99,
      ratio: (1000 * c.latencyMs.p99) / base.p99,
      spread: 0,
      note: 'baseline: plain calls deferred by a microtask',
    });
  }
  return { rows, cpu, batch, latency };
}

async function microtaskLatency(rate: number, durationMs: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  const total = Math.floor((rate * durationMs) / 1000);
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) {
        const t = performance.now();
        queueMicrotask(() => {
          const f = { t, f: 20 * 1.8 + 32 };
          samples.push((performance.now() - f.t) * 1000);
        });
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(1, Math.min(50, 1000 / rate)));
    };
    tick();
  });
  await new Promise((r) => setImmediate(r));
  samples.sort((a, b) => a - b);
  const at = (p: number): number =>
    samples[Math.min(samples.length - 1, Math.max(0, Math.ceil((p / 100) * samples.length) - 1))] ?? Number.NaN;
  return { p50: at(50), p99: at(99) };
}

if (isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { printRows } = await import('./report.ts');
  const result = await runSweepBench({ quick: process.argv.includes('--quick'), log: (l) => process.stderr.write(`${l}\n`) });
  printRows('harness sweeps', result.rows);
}

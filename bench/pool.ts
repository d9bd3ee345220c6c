/**
 * Pool benchmarks, each beside raw Piscina measured in the same run:
 *
 * - cpu: flows/cpu.ts (hash on the pool) with 1 vs 2 threads: the speed-up (target ≥ 1.8× on 2
 *   cores; Routilux ~1.0×), and raw Piscina running the same kernel on 2 threads;
 * - trivial: a no-op pool routine, items/s with dispatch batch 1, 16, 256, against raw Piscina
 *   running one no-op task per item (target at 256: ≥ 10×);
 * - overhead: time per item of the pool path at batch 1 over raw Piscina `run()` (target ≤ 1.3×).
 *
 * Run standalone with `node --import tsx bench/pool.ts [--quick]`, or through `npm run bench`.
 */
import { isMainThread } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { Runtime } from '../src/index.ts';
import cpuModule from '../flows/cpu.ts';
import noopModule from './pool-flows.ts';
import type { BenchRow } from './inline.ts';
import { printRows, writeResults } from './report.ts';
import { settle, summarize } from './stats.ts';

/** Options of {@link runPoolBench}. */
export interface PoolBenchOptions {
  quick?: boolean;
  /** Items of the CPU scenario. */
  cpuItems?: number;
  /** Items of the trivial scenarios. */
  items?: number;
  runs?: number;
}

const kRaw = new URL('./raw-worker.mjs', import.meta.url).href;

async function timeFlow(runtime: Runtime, flowId: string, items: number, generate: (i: number) => unknown): Promise<number> {
  const worker = runtime.exec(flowId);
  await runtime.pool.warmUp({ flows: [{ flow: runtime.getFlow(flowId), moduleUrl: (runtime.getFlow(flowId).source as { moduleUrl: string }).moduleUrl, params: runtime.getFlow(flowId).source?.params }] });
  const start = performance.now();
  await runtime.postAll(flowId, 'source', 'in', (function* () {
    for (let i = 0; i < items; i++) yield generate(i);
  })(), { workerId: worker.workerId });
  if (!(await runtime.waitUntilAllJobsFinished({ timeout: 600_000 }))) throw new Error('bench jobs did not finish');
  const seconds = (performance.now() - start) / 1000;
  if (worker.counters.jobsProcessed !== items) throw new Error(`only ${worker.counters.jobsProcessed}/${items} jobs completed`);
  return seconds;
}

async function cpuFlow(threads: number, items: number): Promise<number> {
  const runtime = new Runtime({ pool: { threads, maxThreads: threads, dispatchBatch: 8 }, historyLimit: 0, traceLimit: 0 });
  runtime.register(cpuModule, { id: `cpu${threads}` });
  const gen = cpuModule.input?.generate as (i: number) => unknown;
  try {
    return items / (await timeFlow(runtime, `cpu${threads}`, items, gen));
  } finally {
    await runtime.close();
  }
}

async function trivialFlow(batch: number, items: number): Promise<number> {
  const runtime = new Runtime({ pool: { threads: 2, maxThreads: 2, dispatchBatch: batch }, historyLimit: 0, traceLimit: 0 });
  runtime.register(noopModule, { id: `noop${batch}` });
  try {
    return items / (await timeFlow(runtime, `noop${batch}`, items, (i) => i));
  } finally {
    await runtime.close();
  }
}

async function raw(items: number, task: (i: number) => unknown, name: string, threads = 2): Promise<number> {
  const piscina = new Piscina({ filename: kRaw, name, minThreads: threads, maxThreads: threads });
  try {
    await Promise.all(Array.from({ length: threads * 4 }, (_, i) => piscina.run(task(i))));
    const start = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < items; i++) pending.push(piscina.run(task(i)));
    await Promise.all(pending);
    return items / ((performance.now() - start) / 1000);
  } finally {
    await piscina.destroy();
  }
}

async function median(runs: number, fn: () => Promise<number>): Promise<{ median: number; spread: number }> {
  const values: number[] = [];
  for (let r = 0; r < runs; r++) {
    values.push(await fn());
    await settle();
  }
  const s = summarize(values);
  return { median: s.median, spread: s.spread };
}

/** Runs every pool scenario and returns the rows (items/s unless said otherwise). */
export async function runPoolBench(options: PoolBenchOptions = {}, log: (line: string) => void = () => undefined): Promise<BenchRow[]> {
  const quick = options.quick === true;
  const runs = options.runs ?? (quick ? 1 : 3);
  const cpuItems = options.cpuItems ?? (quick ? 400 : 1500);
  const items = options.items ?? (quick ? 20_000 : 60_000);
  const { size, rounds } = cpuModule.defaults as { size: number; rounds: number };
  const rows: BenchRow[] = [];

  log('  cpu flow, 1 and 2 threads…');
  const one = await median(runs, () => cpuFlow(1, cpuItems));
  const two = await median(runs, () => cpuFlow(2, cpuItems));
  const rawCpu = await median(runs, () => raw(cpuItems, (i) => ({ seed: i + 1, size, rounds }), 'default'));
  rows.push({ scenario: 'cpu flow: 2 threads vs 1 thread (speed-up)', unit: 'items/s', sluice: two.median, baseline: one.median, ratio: two.median / one.median, spread: Math.max(one.spread, two.spread), note: 'target ≥ 1.8× on 2 cores (Routilux ~1.0×)' });
  rows.push({ scenario: 'cpu flow 2 threads vs raw Piscina 2 threads', unit: 'items/s', sluice: two.median, baseline: rawCpu.median, ratio: two.median / rawCpu.median, spread: Math.max(two.spread, rawCpu.spread), note: 'same kernel, one raw task per item' });

  log('  raw Piscina no-op, one task per item…');
  const rawNoop = await median(runs, () => raw(Math.min(items, 40_000), (i) => i, 'noop'));
  for (const batch of [1, 16, 256]) {
    log(`  trivial pool routine, dispatch batch ${batch}…`);
    const n = batch === 1 ? Math.min(items, 20_000) : items;
    const r = await median(runs, () => trivialFlow(batch, n));
    rows.push({
      scenario: `trivial pool routine, dispatch batch ${batch}`,
      unit: 'items/s',
      sluice: r.median,
      baseline: rawNoop.median,
      ratio: r.median / rawNoop.median,
      spread: Math.max(r.spread, rawNoop.spread),
      note: batch === 256 ? 'vs raw Piscina one task per item; target ≥ 10×' : 'vs raw Piscina one task per item',
    });
    if (batch === 1) {
      const perItem = 1e6 / r.median;
      const rawPerItem = 1e6 / rawNoop.median;
      rows.push({ scenario: 'per-activation overhead at batch 1 vs raw run()', unit: 'µs/item', sluice: perItem, baseline: rawPerItem, ratio: perItem / rawPerItem, spread: Math.max(r.spread, rawNoop.spread), note: 'target ≤ 1.3×' });
    }
  }
  return rows;
}

if (isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const rows = await runPoolBench({ quick }, (line) => process.stderr.write(`${line}\n`));
  printRows('pool', rows);
  process.stderr.write(`  → ${await writeResults('pool', rows)}\n`);
}

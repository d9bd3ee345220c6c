/**
 * Pool benchmarks, each beside raw Piscina measured in the same run. Every round runs the sluice
 * scenario and its raw baseline back to back (the machine is shared: load drifts between
 * minutes, not between adjacent seconds), and rows report medians over rounds and their ratio.
 *
 * - cpu: flows/cpu.ts (FNV-1a hashing on the pool, ~1 ms an item, the main thread mostly idle)
 *   on 1 vs 2 threads: the speed-up (target ≥ 1.8× on 2 cores; Routilux ~1.0×), beside raw
 *   Piscina running the same kernel one task per item on 1 and 2 threads (what the machine
 *   allows right now) and the 2-thread throughput of both;
 * - trivial: a flow whose only routine is a no-op pool routine (posts go straight into it, it
 *   emits each item back), items/s at dispatch batch 1, 16 and 256, against raw Piscina running
 *   one no-op task per item (target at 256: ≥ 10×);
 * - overhead: time per item of the pool path at batch 1 over raw Piscina `run()` for the same
 *   no-op (target ≤ 1.3×), as throughput (many in flight) and as latency (one at a time, p50);
 * - bursts: a small burst of CPU work posted at once with the default dispatch batch (64) —
 *   8 jobs of 150 ms, 70 jobs of 20 ms — on 2 threads vs 1 (target ≥ 1.8×: a batch must not
 *   hold work back from an idle thread).
 *
 * Run standalone with `node --import tsx bench/pool.ts [--quick]`, or through `npm run bench`.
 */
import { loadavg } from 'node:os';
import { Worker, isMainThread } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { Runtime } from '../src/index.ts';
import cpuModule from '../flows/cpu.ts';
import noopModule from './pool-flows.ts';
import type { BenchRow } from './inline.ts';
import { printRows, writeResults } from './report.ts';
import { percentile, settle, summarize } from './stats.ts';

/** Options of {@link runPoolBench}. */
export interface PoolBenchOptions {
  quick?: boolean;
  /** Items of the CPU scenario. */
  cpuItems?: number;
  /** Items of the trivial scenarios. */
  items?: number;
  /** Rounds (each runs sluice and its baseline); medians are over rounds. */
  runs?: number;
}

const kRaw = new URL('./raw-worker.mjs', import.meta.url).href;
const kRelay = new URL('./relay-worker.mjs', import.meta.url);

/** A runtime with one flow of `module` exec'd and warmed (threads up, flow built, JIT warm). */
async function openFlow(
  module: typeof noopModule | typeof cpuModule,
  params: Record<string, unknown>,
  pool: { threads: number; dispatchBatch: number },
  input: { routine: string; generate: (i: number) => unknown },
): Promise<{ runtime: Runtime; post: (items: number) => Promise<number>; close: () => Promise<unknown> }> {
  const runtime = new Runtime({ pool: { ...pool, maxThreads: pool.threads }, historyLimit: 0, traceLimit: 0 });
  const id = String(params.id);
  runtime.register(module as typeof noopModule, params as never);
  const worker = runtime.exec(id);
  const flow = runtime.getFlow(id);
  await runtime.pool.warmUp({
    flows: [{ flow, moduleUrl: (flow.source as { moduleUrl: string }).moduleUrl, params: flow.source?.params }],
  });
  let done = 0;
  const post = async (items: number): Promise<number> => {
    const start = performance.now();
    await runtime.postAll(
      id,
      input.routine,
      'in',
      (function* () {
        for (let i = 0; i < items; i++) yield input.generate(i);
      })(),
      { workerId: worker.workerId },
    );
    if (!(await runtime.waitUntilAllJobsFinished({ timeout: 600_000 }))) throw new Error('bench jobs did not finish');
    const seconds = (performance.now() - start) / 1000;
    done += items;
    if (worker.counters.jobsProcessed !== done) throw new Error(`only ${worker.counters.jobsProcessed}/${done} jobs completed`);
    return items / seconds;
  };
  return { runtime, post, close: () => runtime.close() };
}

async function sluiceCpu(threads: number, items: number): Promise<number> {
  const gen = cpuModule.input?.generate as (i: number) => unknown;
  const flow = await openFlow(cpuModule, { id: `cpu${threads}` }, { threads, dispatchBatch: 8 }, { routine: 'source', generate: gen });
  try {
    await flow.post(threads * 16);
    return await flow.post(items);
  } finally {
    await flow.close();
  }
}

async function sluiceTrivial(batch: number, items: number): Promise<number> {
  const flow = await openFlow(
    noopModule,
    { id: `noop${batch}`, shape: 'direct' },
    { threads: 2, dispatchBatch: batch },
    { routine: 'noop', generate: (i) => i },
  );
  try {
    // Warm until the hot paths are compiled at this batch size: at batch 256 the first 20,000
    // items (under a hundred batches) still run at two thirds of the steady rate.
    await flow.post(batch === 1 ? 10_000 : 60_000);
    return await flow.post(items);
  } finally {
    await flow.close();
  }
}

/** Seconds for a burst of `jobs` posts of `spinMs` each, all at once, default dispatch batch. */
async function sluiceBurst(threads: number, jobs: number, spinMs: number): Promise<number> {
  const id = `burst${threads}-${jobs}`;
  const runtime = new Runtime({ pool: { threads, maxThreads: threads }, historyLimit: 0, traceLimit: 0 });
  try {
    runtime.register(noopModule, { id, shape: 'spin', spinMs });
    const worker = runtime.exec(id);
    const flow = runtime.getFlow(id);
    await runtime.pool.warmUp({
      flows: [{ flow, moduleUrl: (flow.source as { moduleUrl: string }).moduleUrl, params: flow.source?.params }],
    });
    const start = performance.now();
    for (let i = 0; i < jobs; i++) runtime.post(id, 'spin', 'in', i, { workerId: worker.workerId });
    if (!(await runtime.waitUntilAllJobsFinished({ timeout: 600_000 }))) throw new Error('burst jobs did not finish');
    if (worker.counters.jobsProcessed !== jobs) throw new Error(`only ${worker.counters.jobsProcessed}/${jobs} burst jobs completed`);
    return (performance.now() - start) / 1000;
  } finally {
    await runtime.close();
  }
}

/** Round trips made before the one-at-a-time latencies are measured, on both sides. */
const kLatencyWarm = 3_000;

/** p50 µs of one activation at a time through the pool at batch 1 (post, wait for the job). */
async function sluiceLatency(samples: number): Promise<number> {
  const flow = await openFlow(
    noopModule,
    { id: 'noop-latency', shape: 'direct' },
    { threads: 2, dispatchBatch: 1 },
    { routine: 'noop', generate: (i) => i },
  );
  try {
    const runtime = flow.runtime;
    const one = async (i: number): Promise<number> => {
      const start = performance.now();
      const [, job] = runtime.post('noop-latency', 'noop', 'in', i);
      await job.done();
      return (performance.now() - start) * 1000;
    };
    // Warm until the one-at-a-time path is compiled (as the raw side below).
    for (let i = 0; i < kLatencyWarm; i++) await one(i);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await one(i));
    return percentile(times, 50);
  } finally {
    await flow.close();
  }
}

async function withRaw<T>(threads: number, name: string, fn: (piscina: Piscina) => Promise<T>): Promise<T> {
  const piscina = new Piscina({ filename: kRaw, name, minThreads: threads, maxThreads: threads });
  try {
    return await fn(piscina);
  } finally {
    await piscina.destroy();
  }
}

/** Raw Piscina, one task per item, all submitted at once (after `warm` tasks the same way): items/s. */
function rawThroughput(items: number, task: (i: number) => unknown, name: string, threads: number, warm: number): Promise<number> {
  return withRaw(threads, name, async (piscina) => {
    await Promise.all(Array.from({ length: Math.min(items, warm) }, (_, i) => piscina.run(task(i))));
    const start = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < items; i++) pending.push(piscina.run(task(i)));
    await Promise.all(pending);
    return items / ((performance.now() - start) / 1000);
  });
}

/** Raw Piscina `run()` one at a time: p50 µs. */
function rawLatency(samples: number): Promise<number> {
  return withRaw(2, 'noop', async (piscina) => {
    for (let i = 0; i < kLatencyWarm; i++) await piscina.run(i);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const start = performance.now();
      await piscina.run(i);
      times.push((performance.now() - start) * 1000);
    }
    return percentile(times, 50);
  });
}

/**
 * The raw batched relay: `items` small objects sent main → thread → main in messages of `batch`,
 * over 2 threads, each with up to 4 messages in flight (what a dispatcher with a window does,
 * without any engine): items/s.
 */
async function rawRelay(items: number, batch: number): Promise<number> {
  const threads = [new Worker(kRelay), new Worker(kRelay)];
  try {
    const run = (count: number): Promise<number> =>
      new Promise((resolve) => {
        const messages = Math.ceil(count / batch);
        let sent = 0;
        let received = 0;
        const start = performance.now();
        const send = (thread: Worker): void => {
          const batchItems = new Array<{ i: number; v: number }>(batch);
          for (let k = 0; k < batch; k++) batchItems[k] = { i: sent * batch + k, v: k };
          sent++;
          thread.postMessage(batchItems);
        };
        for (const thread of threads) {
          thread.removeAllListeners('message');
          thread.on('message', (back: unknown[]) => {
            received++;
            if (back.length !== batch) throw new Error('relay lost items');
            if (received === messages) resolve((messages * batch) / ((performance.now() - start) / 1000));
            else if (sent < messages) send(thread);
          });
        }
        for (let w = 0; w < 4; w++) for (const thread of threads) if (sent < messages) send(thread);
      });
    await run(Math.min(items, 50_000)); // warm
    return await run(items);
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

/** Runs `fns` in turn, `runs` times; medians and spreads of each. */
async function rounds(
  runs: number,
  fns: Record<string, () => Promise<number>>,
  log: (line: string) => void,
): Promise<Record<string, { median: number; spread: number }>> {
  const values: Record<string, number[]> = {};
  for (let r = 0; r < runs; r++) {
    const got: string[] = [];
    for (const [name, fn] of Object.entries(fns)) {
      const value = await fn();
      (values[name] ??= []).push(value);
      got.push(`${name} ${value.toPrecision(4)}`);
      await settle();
    }
    log(`    round ${r + 1}/${runs}: ${got.join(', ')}`);
  }
  const out: Record<string, { median: number; spread: number }> = {};
  for (const [name, list] of Object.entries(values)) {
    const s = summarize(list);
    out[name] = { median: s.median, spread: s.spread };
  }
  return out;
}

function load(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');
}

/** Runs every pool scenario and returns the rows (items/s unless said otherwise). */
export async function runPoolBench(options: PoolBenchOptions = {}, log: (line: string) => void = () => undefined): Promise<BenchRow[]> {
  const quick = options.quick === true;
  const runs = options.runs ?? (quick ? 3 : 5);
  const cpuItems = options.cpuItems ?? (quick ? 400 : 1500);
  const items = options.items ?? (quick ? 40_000 : 100_000);
  const { size, rounds: hashRounds } = cpuModule.defaults as { size: number; rounds: number };
  const rows: BenchRow[] = [];
  const loadBefore = load();

  log(`  cpu flow and raw kernel, 1 and 2 threads (load ${loadBefore})…`);
  const kernelTask = (i: number): unknown => ({ seed: i + 1, size, rounds: hashRounds });
  const cpu = await rounds(
    runs,
    {
      one: () => sluiceCpu(1, cpuItems),
      two: () => sluiceCpu(2, cpuItems),
      rawOne: () => rawThroughput(cpuItems, kernelTask, 'default', 1, 16),
      rawTwo: () => rawThroughput(cpuItems, kernelTask, 'default', 2, 32),
    },
    log,
  );
  const { one, two, rawOne, rawTwo } = cpu as Record<'one' | 'two' | 'rawOne' | 'rawTwo', { median: number; spread: number }>;
  rows.push({
    scenario: 'cpu flow: 2 threads vs 1 thread (speed-up)',
    unit: 'items/s',
    sluice: two.median,
    baseline: one.median,
    ratio: two.median / one.median,
    spread: Math.max(one.spread, two.spread),
    note: 'target ≥ 1.8× on 2 cores (Routilux ~1.0×)',
  });
  rows.push({
    scenario: 'raw Piscina kernel: 2 threads vs 1 thread (the machine now)',
    unit: 'items/s',
    sluice: rawTwo.median,
    baseline: rawOne.median,
    ratio: rawTwo.median / rawOne.median,
    spread: Math.max(rawOne.spread, rawTwo.spread),
    note: 'ceiling of the speed-up in this run',
  });
  rows.push({
    scenario: 'cpu flow 2 threads vs raw Piscina 2 threads',
    unit: 'items/s',
    sluice: two.median,
    baseline: rawTwo.median,
    ratio: two.median / rawTwo.median,
    spread: Math.max(two.spread, rawTwo.spread),
    note: 'same kernel, one raw task per item',
  });

  const rawItems = Math.min(items, 40_000);
  for (const batch of [1, 16, 256]) {
    log(`  trivial pool routine at dispatch batch ${batch} and raw Piscina no-op…`);
    const n = batch === 1 ? Math.min(items, 20_000) : items;
    const r = await rounds(
      runs,
      { sluice: () => sluiceTrivial(batch, n), raw: () => rawThroughput(rawItems, (i) => i, 'noop', 2, 5_000) },
      log,
    );
    const { sluice, raw } = r as Record<'sluice' | 'raw', { median: number; spread: number }>;
    rows.push({
      scenario: `trivial pool routine, dispatch batch ${batch}`,
      unit: 'items/s',
      sluice: sluice.median,
      baseline: raw.median,
      ratio: sluice.median / raw.median,
      spread: Math.max(sluice.spread, raw.spread),
      note: batch === 256 ? 'vs raw Piscina one task per item; target ≥ 10×' : 'vs raw Piscina one task per item',
    });
    if (batch === 256) {
      const relay = await rounds(runs, { sluice: () => sluiceTrivial(batch, n), relay: () => rawRelay(n, batch) }, log);
      const { sluice: s256, relay: rr } = relay as Record<'sluice' | 'relay', { median: number; spread: number }>;
      rows.push({
        scenario: 'trivial pool routine, dispatch batch 256 vs raw batched postMessage relay',
        unit: 'items/s',
        sluice: s256.median,
        baseline: rr.median,
        ratio: s256.median / rr.median,
        spread: Math.max(s256.spread, rr.spread),
        note: 'relay: 256 small objects per message, main → thread → main, 2 threads, 4 in flight each; goal ≥ 0.5×',
      });
    }
    if (batch === 1) {
      rows.push({
        scenario: 'per-activation overhead at batch 1 vs raw run() (many in flight)',
        unit: 'µs/item',
        sluice: 1e6 / sluice.median,
        baseline: 1e6 / raw.median,
        ratio: raw.median / sluice.median,
        spread: Math.max(sluice.spread, raw.spread),
        note: 'target ≤ 1.3×',
      });
    }
  }

  log('  latency of one activation at batch 1 and of raw run()…');
  const samples = quick ? 1_000 : 3_000;
  const lat = await rounds(runs, { sluice: () => sluiceLatency(samples), raw: () => rawLatency(samples) }, log);
  const { sluice: sl, raw: rl } = lat as Record<'sluice' | 'raw', { median: number; spread: number }>;
  rows.push({
    scenario: 'per-activation latency at batch 1 vs raw run() (one at a time, p50)',
    unit: 'µs',
    sluice: sl.median,
    baseline: rl.median,
    ratio: sl.median / rl.median,
    spread: Math.max(sl.spread, rl.spread),
    note: 'goal ≤ 1.5×',
  });
  for (const [jobs, spinMs] of [
    [8, 150],
    [70, 20],
  ] as const) {
    log(`  burst of ${jobs} × ${spinMs} ms, 1 and 2 threads (load ${load()})…`);
    const burst = await rounds(quick ? 2 : 3, { one: () => sluiceBurst(1, jobs, spinMs), two: () => sluiceBurst(2, jobs, spinMs) }, log);
    const { one: b1, two: b2 } = burst as Record<'one' | 'two', { median: number; spread: number }>;
    rows.push({
      scenario: `burst of ${jobs} × ${spinMs} ms posted at once (dispatch batch 64): 2 threads vs 1`,
      unit: 's',
      sluice: b2.median,
      baseline: b1.median,
      ratio: b1.median / b2.median,
      spread: Math.max(b1.spread, b2.spread),
      note: 'speed-up (1-thread time / 2-thread time); target ≥ 1.8×',
    });
  }
  const loadAfter = load();
  for (const row of rows) row.note = `${row.note}; load ${loadBefore} → ${loadAfter}`;
  return rows;
}

if (isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const rows = await runPoolBench({ quick }, (line) => process.stderr.write(`${line}\n`));
  printRows('pool', rows);
  process.stderr.write(`  → ${await writeResults('pool', rows)}\n`);
}

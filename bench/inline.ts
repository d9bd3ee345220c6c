/**
 * Inline engine benchmarks (the core issue's targets), each beside a plain-JavaScript baseline
 * doing the same work in the same process:
 *
 * - pipeline: items/s through source → transform → sink, one job per post, every job completed;
 *   beside a plain loop, and beside the peers users compare it with on the same work: Node's
 *   `stream.pipeline` in object mode (three Transforms) and RxJS (`from().pipe(map, map)`);
 * - fan-out/fan-in: items/s through one source, three branches and a join;
 * - latency: post→sink latency p50/p99 at a fixed rate of posts (1,000/s by default).
 *
 * Run standalone with `node --import tsx bench/inline.ts`, or through `npm run bench`.
 */
import { Runtime } from '../src/index.ts';
import pipelineModule from '../flows/pipeline.ts';
import fanoutModule from '../flows/fanout.ts';
import { Flow, Routine, defineFlow, type SlotItems } from '../src/index.ts';
import { percentile, settle, summarize } from './stats.ts';
import { readings } from './readings.ts';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from, map } from 'rxjs';

/** Options of {@link runInlineBench}. */
export interface InlineBenchOptions {
  /** Items per throughput run. */
  items?: number;
  /** Repetitions (median reported). */
  runs?: number;
  /** Posts per second for the latency scenario. */
  rate?: number;
  /** Duration of the latency scenario, ms. */
  latencyMs?: number;
  /** Items of the stream-mode memory run. */
  streamItems?: number;
  /**
   * Items per run of stream mode beside Node streams: both move millions of items a second, so a
   * run of `items` would last tens of milliseconds, too short to measure on a shared machine.
   */
  streamCompareItems?: number;
}

/** One row of the results. */
export interface BenchRow {
  scenario: string;
  unit: string;
  sluice: number;
  baseline: number;
  ratio: number;
  spread: number;
  note: string;
}

type Reading = { sensor: string; celsius: number };

/**
 * The same work as flows/pipeline.ts in plain JavaScript: three stages joined by array queues,
 * posted in chunks like `postAll()` does, with a job record per item marked done at the sink —
 * the least machinery that gives the same guarantees (queued, routed, every item accounted for).
 */
function baselinePipeline(items: number): number {
  const gen = pipelineModule.input?.generate as (i: number) => Reading;
  type Job = { id: number; done: boolean };
  const q1: Array<{ job: Job; data: Reading }> = [];
  const q2: Array<{ job: Job; data: Reading }> = [];
  const q3: Array<{ job: Job; data: { sensor: string; celsius: number; fahrenheit: number } }> = [];
  let completed = 0;
  let sum = 0;
  const start = performance.now();
  for (let base = 0; base < items; base += 1000) {
    const end = Math.min(items, base + 1000);
    for (let i = base; i < end; i++) q1.push({ job: { id: i, done: false }, data: gen(i) });
    while (q1.length > 0) {
      const { job, data: raw } = q1.shift() as { job: Job; data: Reading };
      if (typeof raw?.celsius !== 'number' || !Number.isFinite(raw.celsius)) throw new TypeError('bad reading');
      q2.push({ job, data: { sensor: String(raw.sensor ?? 'unknown'), celsius: raw.celsius } });
      while (q2.length > 0) {
        const { job: j2, data: r } = q2.shift() as { job: Job; data: Reading };
        q3.push({ job: j2, data: { sensor: r.sensor, celsius: r.celsius, fahrenheit: r.celsius * 1.8 + 32 } });
        while (q3.length > 0) {
          const { job: j3, data: c } = q3.shift() as (typeof q3)[number];
          sum += c.fahrenheit;
          j3.done = true;
          completed++;
        }
      }
    }
  }
  const seconds = (performance.now() - start) / 1000;
  if (completed !== items || !Number.isFinite(sum)) throw new Error('baseline lost items');
  return items / seconds;
}

/** The pipeline's work on one reading: validate and normalise (source), convert (transform). */
function validate(raw: Reading): Reading {
  if (typeof raw?.celsius !== 'number' || !Number.isFinite(raw.celsius)) throw new TypeError('bad reading');
  return { sensor: String(raw.sensor ?? 'unknown'), celsius: raw.celsius };
}
function convert(r: Reading): { sensor: string; celsius: number; fahrenheit: number } {
  return { sensor: r.sensor, celsius: r.celsius, fahrenheit: r.celsius * 1.8 + 32 };
}

/** The same work as Node's `stream.pipeline` in object mode: three Transforms (validate, convert, aggregate). */
async function nodeStreamsPipeline(items: number): Promise<number> {
  const state = { count: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
  const start = performance.now();
  await pipeline(
    Readable.from(readings(items)),
    new Transform({ objectMode: true, transform: (raw: Reading, _enc, done) => done(null, validate(raw)) }),
    new Transform({ objectMode: true, transform: (r: Reading, _enc, done) => done(null, convert(r)) }),
    new Transform({
      objectMode: true,
      transform(c: { fahrenheit: number }, _enc, done) {
        state.count++;
        state.sum += c.fahrenheit;
        if (c.fahrenheit < state.min) state.min = c.fahrenheit;
        if (c.fahrenheit > state.max) state.max = c.fahrenheit;
        done();
      },
      flush(done) {
        done(null, state);
      },
    }),
    async (results: AsyncIterable<typeof state>) => {
      for await (const result of results) if (result.count !== items) throw new Error('node streams lost items');
    },
  );
  const seconds = (performance.now() - start) / 1000;
  if (state.count !== items) throw new Error('node streams lost items');
  return items / seconds;
}

/** The same work in RxJS: `from(iterable).pipe(map(validate), map(convert))`, aggregated in the subscriber. */
function rxjsPipeline(items: number): number {
  const state = { count: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
  const start = performance.now();
  from(readings(items))
    .pipe(map(validate), map(convert))
    .subscribe((c) => {
      state.count++;
      state.sum += c.fahrenheit;
      if (c.fahrenheit < state.min) state.min = c.fahrenheit;
      if (c.fahrenheit > state.max) state.max = c.fahrenheit;
    });
  const seconds = (performance.now() - start) / 1000;
  if (state.count !== items) throw new Error('rxjs lost items');
  return items / seconds;
}

/** Stream mode: the whole source through flows/pipeline.ts as one job (`runtime.stream`). */
async function sluiceStream(items: number): Promise<{ itemsPerSec: number; rssGrowthMb: number }> {
  const runtime = new Runtime({ heartbeatMs: 0 });
  runtime.register(pipelineModule);
  const worker = runtime.exec('pipeline');
  const rss = process.memoryUsage.rss();
  let peak = rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const start = performance.now();
  const result = await runtime.stream('pipeline', 'source', 'in', readings(items)).done();
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  const count = worker.getRoutineState('sink')?.count;
  await runtime.close();
  if (result.status !== 'completed' || result.items !== items || count !== items) {
    throw new Error(`stream mode: ${result.status}, ${result.items} items pulled, ${String(count)} reached the sink, of ${items}`);
  }
  return { itemsPerSec: items / seconds, rssGrowthMb: (peak - rss) / 2 ** 20 };
}

async function sluicePipeline(items: number, options: ConstructorParameters<typeof Runtime>[0] = {}): Promise<number> {
  const runtime = new Runtime(options);
  runtime.register(pipelineModule);
  const worker = runtime.exec('pipeline');
  const start = performance.now();
  await runtime.postAll('pipeline', 'source', 'in', readings(items), { workerId: worker.workerId });
  if (!(await runtime.waitUntilAllJobsFinished({ timeout: 120_000 }))) throw new Error('pipeline jobs did not finish');
  const seconds = (performance.now() - start) / 1000;
  const { jobsProcessed } = worker.counters;
  await runtime.close();
  if (jobsProcessed !== items) throw new Error(`pipeline completed ${jobsProcessed} of ${items} jobs`);
  return items / seconds;
}

function baselineFanout(items: number): number {
  const gen = fanoutModule.input?.generate as (i: number) => { id: number; text: string };
  let documents = 0;
  const start = performance.now();
  for (let i = 0; i < items; i++) {
    const doc = gen(i);
    const words = doc.text.split(/\s+/).filter((w) => w.length > 0).length;
    let vowels = 0;
    for (const ch of doc.text) if ('aeiouAEIOU'.includes(ch)) vowels++;
    let hash = 0x811c9dc5;
    for (let k = 0; k < doc.text.length; k++) hash = Math.imul(hash ^ doc.text.charCodeAt(k), 0x01000193) >>> 0;
    const merged = { id: doc.id, words, chars: doc.text.length, vowels, fnv1a: hash };
    if (merged.id === i) documents++;
  }
  const seconds = (performance.now() - start) / 1000;
  if (documents !== items) throw new Error('baseline lost documents');
  return items / seconds;
}

async function sluiceFanout(items: number): Promise<number> {
  const runtime = new Runtime();
  runtime.register(fanoutModule);
  const worker = runtime.exec('fanout');
  const gen = fanoutModule.input?.generate as (i: number) => unknown;
  function* source(): Iterable<unknown> {
    for (let i = 0; i < items; i++) yield gen(i);
  }
  const start = performance.now();
  await runtime.postAll('fanout', 'split', 'in', source(), { workerId: worker.workerId });
  if (!(await runtime.waitUntilAllJobsFinished({ timeout: 120_000 }))) throw new Error('fan-out jobs did not finish');
  const seconds = (performance.now() - start) / 1000;
  const { jobsProcessed } = worker.counters;
  await runtime.close();
  if (jobsProcessed !== items) throw new Error(`fan-out completed ${jobsProcessed} of ${items} jobs`);
  return items / seconds;
}

// A pipeline whose sink records post→sink latency.
class Stamp extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }
  logic({ in: items }: SlotItems): void {
    for (const x of items as Array<{ t: number; celsius: number }>) this.emit('out', { t: x.t, f: x.celsius * 1.8 + 32 });
  }
}
class Pass extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }
  logic({ in: items }: SlotItems): void {
    for (const x of items ?? []) this.emit('out', x);
  }
}
class Record extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }
  logic({ in: items }: SlotItems): void {
    const now = performance.now();
    for (const x of items as Array<{ t: number }>) (globalThis as { __sluiceLatencies?: number[] }).__sluiceLatencies?.push(now - x.t);
  }
}
const latencyModule = defineFlow(import.meta.url, () =>
  new Flow('latency')
    .addRoutine(new Stamp(), 'stamp')
    .addRoutine(new Pass(), 'pass')
    .addRoutine(new Record(), 'record')
    .pipe('stamp', 'pass', 'record'),
);

async function atRate(rate: number, durationMs: number, post: (t: number) => void): Promise<void> {
  // Posts on a fixed schedule: each timer tick posts the items that are due, stamped with their due time
  // corrected to the actual post time, so timer lateness is not counted as engine latency.
  const interval = 1000 / rate;
  const start = performance.now();
  let sent = 0;
  const total = Math.floor((rate * durationMs) / 1000);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) {
        post(performance.now());
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });
}

async function latency(rate: number, durationMs: number): Promise<{ sluice: number[]; baseline: number[] }> {
  const store = globalThis as { __sluiceLatencies?: number[] };
  store.__sluiceLatencies = [];
  const runtime = new Runtime();
  runtime.register(latencyModule);
  const worker = runtime.exec('latency');
  await atRate(rate, durationMs, (t) => {
    runtime.post('latency', 'stamp', 'in', { t, celsius: 20 }, { workerId: worker.workerId });
  });
  await runtime.waitUntilAllJobsFinished({ timeout: 10_000 });
  await runtime.close();
  const sluice = store.__sluiceLatencies;
  store.__sluiceLatencies = undefined;
  // Baseline: the same three steps as plain calls, deferred by one microtask like a post.
  const baseline: number[] = [];
  await atRate(rate, durationMs, (t) => {
    queueMicrotask(() => {
      const a = { t, f: 20 * 1.8 + 32 };
      const b = a;
      baseline.push(performance.now() - b.t);
    });
  });
  return { sluice, baseline };
}

/** Runs the inline scenarios and returns rows with ratios to the baselines. */
export async function runInlineBench(options: InlineBenchOptions = {}, log: (line: string) => void = () => {}): Promise<BenchRow[]> {
  const items = options.items ?? 300_000;
  const runs = options.runs ?? 5;
  const rate = options.rate ?? 1_000;
  const latencyMs = options.latencyMs ?? 3_000;
  const rows: BenchRow[] = [];

  // Warm-up: JIT both paths before measuring.
  await sluicePipeline(Math.min(items, 50_000));
  baselinePipeline(Math.min(items, 50_000));

  const s: number[] = [];
  const b: number[] = [];
  const lean: number[] = [];
  for (let r = 0; r < runs; r++) {
    log(`  pipeline run ${r + 1}/${runs}`);
    s.push(await sluicePipeline(items));
    await settle();
    lean.push(await sluicePipeline(items, { traceLimit: 0, historyLimit: 0, jobHistoryLimit: 0 }));
    await settle();
    b.push(baselinePipeline(items));
  }
  // Peers on the same work (validate, convert, aggregate), in the same process.
  await nodeStreamsPipeline(Math.min(items, 50_000));
  rxjsPipeline(Math.min(items, 50_000));
  const ns: number[] = [];
  const rx: number[] = [];
  for (let r = 0; r < runs; r++) {
    ns.push(await nodeStreamsPipeline(items));
    await settle();
    rx.push(rxjsPipeline(items));
  }
  // Stream mode beside Node streams, alternating, same work, both warmed the same way.
  const compareItems = options.streamCompareItems ?? Math.max(items, 1_000_000);
  await sluiceStream(compareItems);
  await nodeStreamsPipeline(compareItems);
  const st: number[] = [];
  const ns2: number[] = [];
  for (let r = 0; r < runs; r++) {
    log(`  stream mode run ${r + 1}/${runs}`);
    st.push((await sluiceStream(compareItems)).itemsPerSec);
    await settle();
    ns2.push(await nodeStreamsPipeline(compareItems));
    await settle();
  }
  const bigItems = options.streamItems ?? 10_000_000;
  log(`  stream mode, ${bigItems.toLocaleString('en-US')} items (memory)`);
  const big = await sluiceStream(bigItems);
  const sp = summarize(s);
  const bp = summarize(b);
  const lp = summarize(lean);
  const np = summarize(ns);
  const rp = summarize(rx);
  const stp = summarize(st);
  const nsp2 = summarize(ns2);
  rows.push({
    scenario: 'pipeline, 3 stages, 1 job/post (defaults)',
    unit: 'items/s',
    sluice: sp.median,
    baseline: bp.median,
    ratio: sp.median / bp.median,
    spread: sp.spread,
    note: `${items} items, median of ${runs}`,
  });
  rows.push({
    scenario: 'pipeline, 3 stages, 1 job/post (trace/history off)',
    unit: 'items/s',
    sluice: lp.median,
    baseline: bp.median,
    ratio: lp.median / bp.median,
    spread: lp.spread,
    note: 'traceLimit 0, historyLimit 0, jobHistoryLimit 0',
  });
  rows.push({
    scenario: 'pipeline, 1 job/post (defaults) vs Node stream.pipeline, object mode, 3 Transforms',
    unit: 'items/s',
    sluice: sp.median,
    baseline: np.median,
    ratio: sp.median / np.median,
    spread: Math.max(sp.spread, np.spread),
    note: `Node streams: ${Math.round(np.median).toLocaleString('en-US')} items/s, ${(np.median / bp.median).toFixed(2)}x plain JS`,
  });
  rows.push({
    scenario: 'stream mode: the whole source as one job (runtime.stream) vs Node stream.pipeline, same work',
    unit: 'items/s',
    sluice: stp.median,
    baseline: nsp2.median,
    ratio: stp.median / nsp2.median,
    spread: Math.max(stp.spread, nsp2.spread),
    note: `goal >= 1.0x; ${compareItems} items a run, median of ${runs}, alternating`,
  });
  rows.push({
    scenario: `stream mode, ${bigItems.toLocaleString('en-US')} items: RSS growth`,
    unit: 'MB',
    sluice: big.rssGrowthMb,
    baseline: 100,
    ratio: big.rssGrowthMb / 100,
    spread: 0,
    note: `goal <= 100 MB (the baseline column); ${Math.round(big.itemsPerSec).toLocaleString('en-US')} items/s`,
  });
  rows.push({
    scenario: 'pipeline, 1 job/post (defaults) vs RxJS from().pipe(map, map)',
    unit: 'items/s',
    sluice: sp.median,
    baseline: rp.median,
    ratio: sp.median / rp.median,
    spread: Math.max(sp.spread, rp.spread),
    note: `RxJS: ${Math.round(rp.median).toLocaleString('en-US')} items/s, ${(rp.median / bp.median).toFixed(2)}x plain JS`,
  });

  const fs: number[] = [];
  const fb: number[] = [];
  const fanItems = Math.max(1, Math.floor(items / 3));
  await sluiceFanout(Math.min(fanItems, 20_000));
  for (let r = 0; r < runs; r++) {
    log(`  fan-out run ${r + 1}/${runs}`);
    fs.push(await sluiceFanout(fanItems));
    await settle();
    fb.push(baselineFanout(fanItems));
  }
  const fsum = summarize(fs);
  const fbs = summarize(fb);
  rows.push({
    scenario: 'fan-out 3 branches + join',
    unit: 'items/s',
    sluice: fsum.median,
    baseline: fbs.median,
    ratio: fsum.median / fbs.median,
    spread: fsum.spread,
    note: `${fanItems} documents, median of ${runs}`,
  });

  log(`  latency at ${rate}/s for ${latencyMs} ms`);
  const lat = await latency(rate, latencyMs);
  const toUs = (ms: number): number => ms * 1000;
  rows.push({
    scenario: `latency p50 at ${rate} posts/s`,
    unit: 'µs',
    sluice: toUs(percentile(lat.sluice, 50)),
    baseline: toUs(percentile(lat.baseline, 50)),
    ratio: percentile(lat.sluice, 50) / percentile(lat.baseline, 50),
    spread: 0,
    note: `${lat.sluice.length} posts`,
  });
  rows.push({
    scenario: `latency p99 at ${rate} posts/s`,
    unit: 'µs',
    sluice: toUs(percentile(lat.sluice, 99)),
    baseline: toUs(percentile(lat.baseline, 99)),
    ratio: percentile(lat.sluice, 99) / percentile(lat.baseline, 99),
    spread: 0,
    note: 'post → sink, same process',
  });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printRows, writeResults } = await import('./report.ts');
  const rows = await runInlineBench({}, (l) => process.stderr.write(`${l}\n`));
  printRows('inline engine', rows);
  await writeResults('inline', rows);
}

/**
 * Benchmark of the durable and live paths.
 *
 * 1. Sink rows/s beside raw better-sqlite3 batched inserts (same schema, same rows, same batch
 *    size, JSON-encoding included in both), in the same process, alternating runs.
 * 2. Live-path publish→deliver latency p50/p99 with a healthy sink and with a stalled database
 *    (another connection holds the write lock for the whole window), plus the event-loop delay
 *    over the window (blocking that publish→deliver alone cannot show). An inline-writer stall
 *    is measured as the control that shows what the writer thread prevents.
 *
 * Run: `node --import tsx bench/store.ts [--events 200000] [--repeats 3]`. Prints a table and
 * writes JSON to bench/results/store.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { type BusEvent, EventBus } from '../src/bus/index.ts';
import { DurableSink, SqliteEventLog, configureConnection, migrate } from '../src/store/index.ts';

/** Options of {@link runStoreBench}. */
export interface StoreBenchOptions {
  /** Events per throughput run. @default 200000 */
  events?: number;
  /** Rows per transaction, for raw inserts and the sink's batchSize. @default 256 */
  batchSize?: number;
  /** Runs of each kind, throughput and latency windows alike (median reported). @default 3 */
  repeats?: number;
  /** Length of each latency window, in ms. @default 2000 */
  latencyWindowMs?: number;
  /** Events published per ~1 ms tick in the latency runs. @default 20 */
  burst?: number;
  /** Also measure the inline-writer stall (the control). @default true */
  inlineControl?: boolean;
  /** Where SQLite files go (removed afterwards). @default a fresh temp dir */
  dir?: string;
}

/** Latency percentiles, in microseconds. */
export interface LatencyResult {
  readonly samples: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  /** Event-loop delay during the window, in ms (shows blocking that publish→deliver cannot). */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** Rows the sink committed during the window (0 proves the stall). */
  readonly committedDuringWindow: number;
}

/** What {@link runStoreBench} measured. */
export interface StoreBenchResult {
  readonly node: string;
  readonly events: number;
  readonly batchSize: number;
  readonly payloadBytes: number;
  readonly throughput: {
    readonly rawRowsPerSec: number;
    readonly sinkRowsPerSec: number;
    readonly sinkInlineRowsPerSec: number;
    /** sink / raw; the target is >= 0.8. */
    readonly ratio: number;
    readonly runs: { raw: number[]; sink: number[]; sinkInline: number[] };
  };
  readonly latency: {
    readonly healthy: LatencyResult;
    readonly stalled: LatencyResult;
    readonly inlineStalled: LatencyResult | undefined;
    /** stalled p99 / healthy p99; the target is <= 1.2. */
    readonly p99Ratio: number;
  };
}

function makeEvents(n: number, runId: string): BusEvent[] {
  const time = new Date().toISOString();
  return Array.from({ length: n }, (_, i) => ({
    seq: i + 1,
    time,
    runId,
    topic: i % 3 === 0 ? 'job.completed' : 'routine.activated',
    payload: {
      jobId: `job-${String(i).padStart(8, '0')}`,
      routine: 'transform',
      slot: 'in',
      value: i * 1.5,
      tags: ['a', 'b'],
      note: 'x'.repeat(96),
    },
  }));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (sorted: Float64Array, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;

function rawInsert(path: string, events: readonly BusEvent[], batchSize: number): number {
  const db = new Database(path);
  configureConnection(db, 5000);
  migrate(db);
  const insert = db.prepare('INSERT INTO events (run_id, seq, time, topic, payload) VALUES (?, ?, ?, ?, ?)');
  const tx = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const e = events[i]!;
      insert.run(e.runId, e.seq, e.time, e.topic, JSON.stringify(e.payload));
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += batchSize) tx(i, Math.min(events.length, i + batchSize));
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return events.length / seconds;
}

async function sinkInsert(path: string, events: readonly BusEvent[], batchSize: number, writer: 'thread' | 'inline'): Promise<number> {
  const log = await SqliteEventLog.open({ path, writer });
  const sink = new DurableSink({ log, batchSize });
  const t0 = performance.now();
  for (const e of events) if (!sink.write(e)) await sink.ready();
  await sink.flush();
  const seconds = (performance.now() - t0) / 1000;
  if (sink.stats().committed !== events.length) throw new Error(`sink committed ${sink.stats().committed} of ${events.length}`);
  await sink.close();
  await log.close();
  return events.length / seconds;
}

async function liveLatency(
  path: string,
  options: { stalled: boolean; writer: 'thread' | 'inline'; windowMs: number; burst: number },
): Promise<LatencyResult> {
  const log = await SqliteEventLog.open({ path, writer: options.writer, busyTimeoutMs: options.writer === 'inline' ? 100 : 60_000 });
  const bus = new EventBus();
  const sink = new DurableSink({ log, retryInitialMs: 10, retryMaxMs: 10 });
  sink.onError(() => {});
  bus.addSink(sink);
  const blocker = options.stalled ? new Database(path) : undefined;
  blocker?.prepare('BEGIN IMMEDIATE').run();
  const latency: number[] = [];
  bus.subscribe(
    'bench.tick',
    (event) => {
      latency.push((performance.now() - (event.payload as { at: number }).at) * 1000);
    },
    { maxQueue: 4096 },
  );
  const committedBefore = sink.stats().committed;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  // A steady producer: a burst every millisecond or so, for the whole window.
  const end = performance.now() + options.windowMs;
  while (performance.now() < end) {
    for (let b = 0; b < options.burst; b++) bus.publish('bench.tick', { at: performance.now(), note: 'x'.repeat(96) });
    await new Promise((r) => setTimeout(r, 1));
  }
  loop.disable();
  await new Promise((r) => setTimeout(r, 20));
  const committedDuringWindow = sink.stats().committed - committedBefore;
  if (blocker !== undefined) {
    blocker.prepare('COMMIT').run();
    blocker.close();
  }
  await sink.flush({ timeout: 60_000 });
  await sink.close();
  await log.close();
  await bus.shutdown();
  const l = Float64Array.from(latency).sort();
  return {
    samples: l.length,
    p50Us: pct(l, 0.5),
    p99Us: pct(l, 0.99),
    maxUs: l[l.length - 1] ?? 0,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
    committedDuringWindow,
  };
}

/**
 * Runs the benchmark and returns its measurements.
 *
 * @example
 * ```ts
 * const result = await runStoreBench({ events: 100_000, repeats: 3 });
 * console.log(result.throughput.ratio, result.latency.p99Ratio);
 * ```
 */
export async function runStoreBench(options: StoreBenchOptions = {}): Promise<StoreBenchResult> {
  const events = options.events ?? 200_000;
  const batchSize = options.batchSize ?? 256;
  const repeats = options.repeats ?? 3;
  const windowMs = options.latencyWindowMs ?? 2000;
  const burst = options.burst ?? 20;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sluice-bench-store-'));
  mkdirSync(dir, { recursive: true });
  let file = 0;
  const fresh = (): string => join(dir, `bench-${file++}.sqlite`);
  try {
    const rows = makeEvents(events, 'bench');
    const runs = { raw: [] as number[], sink: [] as number[], sinkInline: [] as number[] };
    // Warm-up, not counted.
    rawInsert(fresh(), rows.slice(0, 20_000), batchSize);
    await sinkInsert(fresh(), rows.slice(0, 20_000), batchSize, 'thread');
    for (let r = 0; r < repeats; r++) {
      runs.raw.push(rawInsert(fresh(), rows, batchSize));
      runs.sink.push(await sinkInsert(fresh(), rows, batchSize, 'thread'));
      runs.sinkInline.push(await sinkInsert(fresh(), rows, batchSize, 'inline'));
    }
    // Alternate healthy and stalled windows; report the run with the median p99 of each.
    const healthyRuns: LatencyResult[] = [];
    const stalledRuns: LatencyResult[] = [];
    for (let r = 0; r < repeats; r++) {
      healthyRuns.push(await liveLatency(fresh(), { stalled: false, writer: 'thread', windowMs, burst }));
      stalledRuns.push(await liveLatency(fresh(), { stalled: true, writer: 'thread', windowMs, burst }));
    }
    const byP99 = (runs: LatencyResult[]): LatencyResult => [...runs].sort((a, b) => a.p99Us - b.p99Us)[Math.floor(runs.length / 2)]!;
    const healthy = byP99(healthyRuns);
    const stalled = byP99(stalledRuns);
    const inlineStalled =
      options.inlineControl === false
        ? undefined
        : await liveLatency(fresh(), { stalled: true, writer: 'inline', windowMs: Math.min(windowMs, 1000), burst });
    const raw = median(runs.raw);
    const sink = median(runs.sink);
    return {
      node: process.version,
      events,
      batchSize,
      payloadBytes: JSON.stringify(rows[0]!.payload).length,
      throughput: { rawRowsPerSec: raw, sinkRowsPerSec: sink, sinkInlineRowsPerSec: median(runs.sinkInline), ratio: sink / raw, runs },
      latency: { healthy, stalled, inlineStalled, p99Ratio: stalled.p99Us / healthy.p99Us },
    };
  } finally {
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(r: StoreBenchResult): void {
  const k = (x: number): string => `${(x / 1000).toFixed(0)}k`;
  const us = (x: number): string => x.toFixed(1);
  console.log(`\nsluice store bench — node ${r.node}, ${r.events} events of ~${r.payloadBytes} B payload, batch ${r.batchSize}\n`);
  console.log('throughput (median)                rows/s    vs raw');
  console.log(`  raw better-sqlite3 batched     ${k(r.throughput.rawRowsPerSec).padStart(8)}     1.00`);
  console.log(
    `  DurableSink, thread writer     ${k(r.throughput.sinkRowsPerSec).padStart(8)}     ${r.throughput.ratio.toFixed(2)}   (target >= ` +
      `0.80)`,
  );
  console.log(
    `  DurableSink, inline writer     ${k(r.throughput.sinkInlineRowsPerSec).padStart(8)}     ` +
      `${(r.throughput.sinkInlineRowsPerSec / r.throughput.rawRowsPerSec).toFixed(2)}`,
  );
  console.log('\nlive path, publish→deliver (µs)   p50     p99      max   loop delay p99 / max (ms)   committed in window');
  const row = (name: string, l: LatencyResult | undefined): void => {
    if (l === undefined) return;
    console.log(
      `  ${name.padEnd(28)}${us(l.p50Us).padStart(7)} ${us(l.p99Us).padStart(7)} ${us(l.maxUs).padStart(8)}   ` +
        `${l.loopDelayP99Ms.toFixed(1).padStart(8)} / ${l.loopDelayMaxMs.toFixed(1).padEnd(8)}         ${l.committedDuringWindow}`,
    );
  };
  row('healthy sink', r.latency.healthy);
  row('stalled db (thread)', r.latency.stalled);
  row('stalled db (inline)', r.latency.inlineStalled);
  console.log(`\n  p99 stalled / healthy = ${r.latency.p99Ratio.toFixed(2)} (target <= 1.2)\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { events: { type: 'string' }, repeats: { type: 'string' }, window: { type: 'string' } } });
  const result = await runStoreBench({
    events: values.events === undefined ? undefined : Number(values.events),
    repeats: values.repeats === undefined ? undefined : Number(values.repeats),
    latencyWindowMs: values.window === undefined ? undefined : Number(values.window),
  });
  printTable(result);
  const out = fileURLToPath(new URL('./results/store.json', import.meta.url));
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

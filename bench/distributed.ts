/**
 * Scale-out over Redis Streams, beside baselines measured in the same run, on a redis-server the
 * bench starts (127.0.0.1, a free port, a temporary directory, appendfsync everysec):
 *
 * - sluice: bench/redis-flow.ts split across 2 processes — parse in this process (the producer,
 *   `redis({ consume: false })`), work (distributed) and sink in a worker process — items/s from
 *   the first post to the last job's completion *in the producer*;
 * - raw Redis Streams: the same payload and work; this process XADDs in pipelines of 256, the
 *   worker XREADGROUPs 64 at a time, works, XACKs once per batch and XADDs a completion per item
 *   to a stream this process follows (no credit window, no job accounting, no idempotency);
 * - BullMQ: `Queue.addBulk` here, a `Worker` with concurrency 64 there, completions from
 *   `QueueEvents`.
 *
 * Each contender's worker starts cold and first handles a warmup (5,000 items, not timed: a
 * worker is a long-lived process); items/s and CPU per item (this process, the worker, Redis)
 * are of the timed items after it. Then unloaded latency, one item at a time: post → sink (the sink's clock minus the post's,
 * one machine) for all three, and post → job completion in the producer for sluice.
 *
 *   node --import tsx bench/distributed.ts [--quick]     (or npm run bench -- --only distributed)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Runtime } from '../src/index.ts';
import { redis } from '../src/entry/redis.ts';
import { CreditWindow } from '../src/transport/credit-window.ts';
import { JobOutcomes } from '../src/transport/job-outcomes.ts';
import { FlowKeys } from '../src/transport/stream-keys.ts';
import { type OutgoingEntry, StreamLink } from '../src/transport/stream-link.ts';
import { startRedis } from '../test/fixtures/redis-server.ts';
import type { BenchRow } from './inline.ts';
import flow, { reading, wallNow } from './redis-flow.ts';
import { percentile, settle, summarize } from './stats.ts';

type Contender = 'sluice' | 'layer' | 'raw' | 'bullmq';

/** The worker process of one contender. */
async function startWorker(mode: Contender, url: string, namespace: string): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL('redis-worker.ts', import.meta.url)), [mode, url, namespace], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${mode} worker exited with ${code}`)));
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('stop');
  await exited;
}

/** What the worker's sinks saw since the last ask, and the CPU it has used (ms). */
function workerStats(child: ChildProcess): Promise<{ latencies: number[]; cpuMs: number }> {
  return new Promise((resolve) => {
    child.once('message', (message: { latencies: number[]; cpuMs: number }) => resolve(message));
    child.send('stats');
  });
}

/** CPU used so far (ms) by this process, the worker and redis-server. */
async function cpuNow(child: ChildProcess, admin: Redis): Promise<{ producer: number; worker: number; redis: number }> {
  const { user, system } = process.cpuUsage();
  const info = await admin.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
  const { cpuMs } = await workerStats(child);
  return { producer: (user + system) / 1000, worker: cpuMs, redis: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000 };
}

/** CPU per item (µs) of each process between two {@link cpuNow}. */
function cpuPerItem(before: CpuUse, after: CpuUse, items: number): CpuUse {
  const per = (key: keyof CpuUse) => ((after[key] - before[key]) * 1000) / items;
  return { producer: per('producer'), worker: per('worker'), redis: per('redis') };
}

type CpuUse = Awaited<ReturnType<typeof cpuNow>>;

/** One contender's run: items/s, unloaded latencies (ms) and CPU per item (µs) while loaded. */
interface RunResult {
  rate: number;
  sinkP50: number;
  sinkP99: number;
  doneP50?: number;
  cpu: CpuUse;
}

/**
 * How one contender moves items: `pass` sends items `from`…`from + count - 1` and resolves when
 * all are done; `probe` sends one stamped item and resolves when it is done.
 */
interface Driver {
  pass(from: number, count: number): Promise<void>;
  probe(n: number): Promise<void>;
  close(): Promise<void>;
}

async function sluiceDriver(url: string, namespace: string, done: number[]): Promise<Driver> {
  const runtime = new Runtime({ transport: redis({ url, namespace, consume: false }) });
  runtime.register(flow);
  return {
    async pass(from, count) {
      await runtime.postAll(
        'redis-bench',
        'parse',
        'in',
        (function* () {
          for (let n = from; n < from + count; n++) yield reading(n);
        })(),
      );
      await runtime.waitUntilAllJobsFinished();
    },
    async probe(n) {
      const t = wallNow();
      const [, job] = runtime.post('redis-bench', 'parse', 'in', { ...reading(n), t });
      await job.done();
      done.push(wallNow() - t);
    },
    async close() {
      await runtime.close();
    },
  };
}

/**
 * sluice's Redis layer with no Runtime on either side: batches of 256 posted by the same script
 * under the same credit window (10,000), one job per item in Redis, outcomes followed here.
 */
async function layerDriver(url: string, namespace: string): Promise<Driver> {
  const keys = new FlowKeys(namespace, 'layer');
  const input = keys.slot('work', 'in');
  const client = new Redis(url);
  const follower = new Redis(url);
  const link = new StreamLink(client, keys);
  await link.ensureGroup(input, 'work');
  const outcomes = new JobOutcomes(follower, keys);
  await outcomes.start();
  const credit = new CreditWindow(() => client.xlen(input), { window: 10_000, pollMs: 5 });
  let batches = 0;
  const send = async (entries: OutgoingEntry[]): Promise<void> => {
    for (let i = 0; i < entries.length; i++) if (!credit.tryTake()) await credit.take();
    await link.postMany(`${namespace}:${++batches}`, entries);
    credit.confirm(entries.length);
  };
  return {
    async pass(from, count) {
      const ended: Array<Promise<unknown>> = [];
      for (let at = from; at < from + count; at += 256) {
        const entries: OutgoingEntry[] = [];
        for (let n = at; n < Math.min(from + count, at + 256); n++) {
          entries.push({ stream: input, jobId: `j${n}`, data: JSON.stringify(reading(n)), holdField: '' });
          ended.push(outcomes.wait(`j${n}`));
        }
        await send(entries);
      }
      await Promise.all(ended);
    },
    async probe(n) {
      const jobId = `p${n}`;
      const ended = outcomes.wait(jobId);
      await send([{ stream: input, jobId, data: JSON.stringify({ ...reading(n), t: wallNow() }), holdField: '' }]);
      await ended;
    },
    async close() {
      await outcomes.stop();
      client.disconnect();
      follower.disconnect();
    },
  };
}

async function rawDriver(url: string, namespace: string): Promise<Driver> {
  const client = new Redis(url);
  const reader = new Redis(url);
  const stream = `${namespace}:in`;
  const doneStream = `${namespace}:done`;
  let last = '0-0';
  const waitDone = async (count: number): Promise<void> => {
    let seen = 0;
    while (seen < count) {
      const reply = (await reader.xread('COUNT', 1024, 'BLOCK', 1000, 'STREAMS', doneStream, last)) as Array<
        [string, Array<[string, string[]]>]
      > | null;
      const entries = reply?.[0]?.[1] ?? [];
      seen += entries.length;
      if (entries.length > 0) last = (entries.at(-1) as [string, string[]])[0];
    }
  };
  return {
    async pass(from, count) {
      const finished = waitDone(count);
      for (let at = from; at < from + count; at += 256) {
        const pipeline = client.pipeline();
        for (let n = at; n < Math.min(from + count, at + 256); n++) pipeline.xadd(stream, '*', 'data', JSON.stringify(reading(n)));
        await pipeline.exec();
      }
      await finished;
    },
    async probe(n) {
      await client.xadd(stream, '*', 'data', JSON.stringify({ ...reading(n), t: wallNow() }));
      await waitDone(1);
    },
    async close() {
      client.disconnect();
      reader.disconnect();
    },
  };
}

async function bullDriver(url: string, namespace: string): Promise<Driver> {
  const { Queue, QueueEvents } = await import('bullmq');
  const queue = new Queue(namespace, { connection: { url } });
  const events = new QueueEvents(namespace, { connection: { url } });
  await events.waitUntilReady();
  let completed = 0;
  let wake: (() => void) | undefined;
  events.on('completed', () => {
    completed++;
    wake?.();
  });
  const until = async (count: number): Promise<void> => {
    while (completed < count) await new Promise<void>((resolve) => (wake = resolve));
  };
  return {
    async pass(from, count) {
      const target = completed + count;
      for (let at = from; at < from + count; at += 256) {
        const batch = [];
        for (let n = at; n < Math.min(from + count, at + 256); n++)
          batch.push({ name: 'r', data: reading(n), opts: { removeOnComplete: true } });
        await queue.addBulk(batch);
      }
      await until(target);
    },
    async probe(n) {
      const target = completed + 1;
      await queue.add('r', { ...reading(n), t: wallNow() }, { removeOnComplete: true });
      await until(target);
    },
    async close() {
      await events.close();
      await queue.close();
    },
  };
}

/**
 * One contender: `warmup` items first (not timed: every worker starts cold, and a worker is a
 * long-lived process), then items/s and CPU of `items`, then `probes` unloaded latencies.
 */
async function runOnce(mode: Contender, url: string, items: number, warmup: number, probes: number): Promise<RunResult> {
  const namespace = `bench-${mode}-${Math.random().toString(36).slice(2, 8)}`;
  const child = await startWorker(mode, url, namespace);
  const admin = new Redis(url);
  const done: number[] = [];
  let driver: Driver | undefined;
  try {
    const drivers: Record<Contender, () => Promise<Driver>> = {
      sluice: () => sluiceDriver(url, namespace, done),
      layer: () => layerDriver(url, namespace),
      raw: () => rawDriver(url, namespace),
      bullmq: () => bullDriver(url, namespace),
    };
    driver = await drivers[mode]();
    if (warmup > 0) await driver.pass(0, warmup);
    await settle(200);
    await workerStats(child); // what the warmup's sinks saw is not counted
    const before = await cpuNow(child, admin);
    const started = performance.now();
    await driver.pass(warmup, items);
    const rate = items / ((performance.now() - started) / 1000);
    const cpu = cpuPerItem(before, await cpuNow(child, admin), items);
    await settle(200);
    for (let n = 0; n < probes; n++) {
      await driver.probe(n);
      await settle(2);
    }
    const sink = (await workerStats(child)).latencies;
    const result: RunResult = { rate, sinkP50: percentile(sink, 50), sinkP99: percentile(sink, 99), cpu };
    if (mode === 'sluice') result.doneP50 = percentile(done, 50);
    return result;
  } finally {
    await driver?.close();
    admin.disconnect();
    await stopWorker(child);
  }
}

export interface DistributedBenchResult {
  rows: BenchRow[];
  runs: Record<Contender, RunResult[]>;
}

/** Runs every contender `repeat` times, alternating, on one redis-server. */
export async function runDistributedBench(
  options: { quick?: boolean } = {},
  log: (line: string) => void = () => {},
): Promise<DistributedBenchResult> {
  const items = options.quick === true ? 5_000 : 30_000;
  const warmup = options.quick === true ? 1_000 : 5_000;
  const repeat = options.quick === true ? 1 : 3;
  const probes = options.quick === true ? 100 : 300;
  const server = await startRedis({ appendfsync: 'everysec' });
  const runs: DistributedBenchResult['runs'] = { sluice: [], layer: [], raw: [], bullmq: [] };
  const admin = new Redis(server.url);
  try {
    for (let r = 0; r < repeat; r++) {
      for (const mode of ['sluice', 'layer', 'raw', 'bullmq'] as const) {
        const result = await runOnce(mode, server.url, items, warmup, probes);
        runs[mode].push(result);
        const { producer, worker, redis: inRedis } = result.cpu;
        log(
          `  ${mode}: ${Math.round(result.rate).toLocaleString('en')} items/s, post → sink p50 ${result.sinkP50.toFixed(2)} ms, ` +
            `CPU µs/item producer ${producer.toFixed(0)} + worker ${worker.toFixed(0)} + redis ${inRedis.toFixed(0)}`,
        );
        await admin.flushall();
      }
    }
  } finally {
    admin.disconnect();
    await server.stop();
  }
  const rate = (mode: Contender) => summarize(runs[mode].map((x) => x.rate));
  const sluice = rate('sluice');
  const raw = rate('raw');
  const layer = rate('layer');
  const bull = rate('bullmq');
  const p50 = (mode: Contender) =>
    percentile(
      runs[mode].map((x) => x.sinkP50),
      50,
    );
  const note = `${items} items after ${warmup} to warm up, 2 processes, concurrency 64, median of ${repeat}`;
  const doneP50 = percentile(
    runs.sluice.map((x) => x.doneP50 ?? Number.NaN),
    50,
  );
  const rows: BenchRow[] = [
    {
      scenario: 'Redis Streams: 3-stage flow over 2 processes vs raw Streams (XADD pipeline + XREADGROUP/XACK); goal ≥ 0.6',
      unit: 'items/s',
      sluice: sluice.median,
      baseline: raw.median,
      ratio: sluice.median / raw.median,
      spread: sluice.spread,
      note,
    },
    {
      scenario: 'Redis Streams: the same vs BullMQ (same work and concurrency); goal ≥ 3',
      unit: 'items/s',
      sluice: sluice.median,
      baseline: bull.median,
      ratio: sluice.median / bull.median,
      spread: sluice.spread,
      note,
    },
    {
      scenario: "Redis Streams: sluice's Redis layer alone (its scripts, consumer, outcomes, credit window; no Runtime) vs raw Streams",
      unit: 'items/s',
      sluice: layer.median,
      baseline: raw.median,
      ratio: layer.median / raw.median,
      spread: layer.spread,
      note: `${note}; the whole of sluice is ${(sluice.median / layer.median).toFixed(2)}× its Redis layer alone`,
    },
    {
      scenario: 'Redis Streams: unloaded post → sink latency p50 vs raw Streams (goal ≤ 0.5 ms)',
      unit: 'ms',
      sluice: p50('sluice'),
      baseline: p50('raw'),
      ratio: p50('sluice') / p50('raw'),
      spread: 0,
      note:
        `${probes} items one at a time; BullMQ p50 ${p50('bullmq').toFixed(2)} ms; ` +
        `sluice post → job done in the producer p50 ${doneP50.toFixed(2)} ms`,
    },
  ];
  return { rows, runs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const result = await runDistributedBench({ quick }, (line) => process.stderr.write(`${line}\n`));
  for (const row of result.rows)
    console.log(
      `${row.scenario}: ${row.sluice.toFixed(2)} vs ${row.baseline.toFixed(2)} ${row.unit} = ${row.ratio.toFixed(2)}× (${row.note})`,
    );
}

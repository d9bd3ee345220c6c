/**
 * The distributed bench's worker process: `node --import tsx bench/redis-worker.ts <mode> <url> <ns>`
 * with mode `sluice` (a Runtime with the Redis transport running bench/redis-flow.ts), `layer`
 * (sluice's Redis layer with no Runtime: a StreamConsumer whose handler does the work and the
 * sink's counting, committed by the same scripts), `raw` (XREADGROUP, the same work, one XACK and
 * one pipeline of completions per batch) or `bullmq` (a BullMQ Worker). Every one handles 64 items
 * at once. It says `ready` on its IPC channel, answers `stats` with what its sinks saw and the CPU
 * it has used, and stops on `stop`.
 */
import { Redis } from 'ioredis';
import { Runtime } from '../src/index.ts';
import { redis } from '../src/entry/redis.ts';
import { StreamConsumer } from '../src/transport/stream-consumer.ts';
import { FlowKeys } from '../src/transport/stream-keys.ts';
import { StreamLink } from '../src/transport/stream-link.ts';
import flow, { sinkStats, wallNow, work, type Reading } from './redis-flow.ts';

const [mode, url, namespace] = process.argv.slice(2) as [string, string, string];
export const kConcurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
let stop: () => Promise<void>;

if (mode === 'sluice') {
  const runtime = new Runtime({ transport: redis({ url, namespace, concurrency: kConcurrency }) });
  runtime.register(flow);
  runtime.exec('redis-bench');
  stop = async () => {
    await runtime.close();
  };
} else if (mode === 'layer') {
  const keys = new FlowKeys(namespace, 'layer');
  const input = keys.slot('work', 'in');
  const consumer = new StreamConsumer(
    new StreamLink(new Redis(url), keys),
    { group: 'work', consumer: 'w', streams: [input], count: kConcurrency },
    async (entry) => {
      const r = work(JSON.parse(entry.data) as Reading);
      sinkStats.items++;
      if (r.t !== undefined) sinkStats.latencies.push(wallNow() - r.t);
      return [];
    },
  );
  consumer.start();
  stop = () => consumer.stop();
} else if (mode === 'raw') {
  const client = new Redis(url);
  const stream = `${namespace}:in`;
  await client.xgroup('CREATE', stream, 'work', '0', 'MKSTREAM').catch(() => undefined);
  let running = true;
  const loop = (async () => {
    while (running) {
      const reply = (await client.xreadgroup('GROUP', 'work', 'w', 'COUNT', kConcurrency, 'BLOCK', 100, 'STREAMS', stream, '>')) as Array<
        [string, Array<[string, string[]]>]
      > | null;
      if (reply === null) continue;
      const entries = reply[0]?.[1] ?? [];
      const pipeline = client.pipeline();
      for (const [, fields] of entries) {
        const r = work(JSON.parse(fields[1] as string) as Reading);
        sinkStats.items++;
        if (r.t !== undefined) sinkStats.latencies.push(wallNow() - r.t);
        pipeline.xadd(`${namespace}:done`, '*', 'n', r.n);
      }
      pipeline.xack(stream, 'work', ...entries.map(([id]) => id));
      await pipeline.exec();
    }
  })();
  stop = async () => {
    running = false;
    await loop;
    client.disconnect();
  };
} else {
  const { Worker } = await import('bullmq');
  const worker = new Worker(
    namespace,
    async (job) => {
      const r = work(job.data as Reading);
      sinkStats.items++;
      if (r.t !== undefined) sinkStats.latencies.push(wallNow() - r.t);
      return r.n;
    },
    { connection: { url }, concurrency: kConcurrency, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } },
  );
  await worker.waitUntilReady();
  stop = async () => {
    await worker.close();
  };
}

process.on('message', (message: string) => {
  if (message === 'stats') {
    const { user, system } = process.cpuUsage();
    process.send?.({ items: sinkStats.items, latencies: sinkStats.latencies, cpuMs: (user + system) / 1000, cpu: { user, system } });
    sinkStats.latencies = [];
  } else if (message === 'stop') void stop().then(() => process.exit(0));
});
process.send?.('ready');

/**
 * The chaos suite: three `sluice worker` processes and a `sluice run --redis` producer on one
 * redis-server (appendfsync always), the chaos flow (parse → work, distributed and partitioned
 * → record into a Redis ledger), 100k items (SLUICE_CHAOS_ITEMS), while the harness kill -9s one
 * worker, SIGSTOPs another past its claim idle time and lease then SIGCONTs it, and restarts
 * Redis. Then the checker: every item's effect in the ledger exactly once, none missing, every
 * job completed or failed with a reason, first effects in order per partition key, Redis bounded
 * by the producer's credit window.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../fixtures/redis-server.ts';

const kItems = Number(process.env.SLUICE_CHAOS_ITEMS ?? 100_000);
const kWindow = 10_000; // the transport's default credit window
const kFlow = 'test/fixtures/flows/chaos.ts';

let server: RedisServer;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await startRedis({ appendfsync: 'always' });
  dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-'));
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Starts the CLI; resolves once `ready` appears on stdout (when given). */
interface Cli {
  child: ChildProcess;
  started: Promise<void>;
  exited: Promise<number | null>;
  output: () => string;
}

function cli(args: string[], ready?: string): Cli {
  const child = spawn(process.execPath, ['bin/sluice.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    if (ready === undefined) return resolve();
    const timer = setTimeout(() => reject(new Error(`not ready in time: ${output}`)), 60_000);
    const look = (): void => {
      if (!output.includes(ready)) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout?.on('data', look);
    void exited.then(() => reject(new Error(`exited before ready: ${output}`)));
  });
  return { child, started, exited, output: () => output };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the chaos suite', () => {
  it(`${kItems} items through 3 workers survive kill -9, SIGSTOP past the claim idle time and a Redis restart`, async () => {
    const common = ['--redis', server.url, '--namespace', 'chaos', '--no-record', '--param', `ledger=${server.url}`];
    const workers = [0, 1, 2].map((i) =>
      cli(
        ['worker', kFlow, ...common, '--consumer', `w${i}`, '--claim-idle', '1000', '--lease', '1000', '--every', '0', '--drain', '10000'],
        'sluice worker:',
      ),
    );
    await Promise.all(workers.map((w) => w.started));
    const summaryFile = join(dir, 'summary.json');
    const producer = cli(['run', kFlow, ...common, '--items', String(kItems), '--json', summaryFile, '-q']);

    // Watch the run: progress (effects recorded), Redis memory, and what the work streams hold.
    const watch = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    watch.on('error', () => undefined);
    let done = false;
    let recorded = 0;
    let peakMemory = 0;
    let peakBacklog = 0;
    const streams = [`chaos:{chaos}:slot:work.in`, ...Array.from({ length: 16 }, (_, p) => `chaos:{chaos}:slot:work.in#p${p}`)];
    const watching = (async () => {
      while (!done) {
        try {
          recorded = await watch.hlen('chaos:ledger');
          const info = await watch.info('memory');
          peakMemory = Math.max(peakMemory, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
          const pipeline = watch.pipeline();
          for (const stream of streams) pipeline.xlen(stream);
          const lengths = (await pipeline.exec()) ?? [];
          peakBacklog = Math.max(
            peakBacklog,
            lengths.reduce((sum, [, length]) => sum + Number(length ?? 0), 0),
          );
        } catch {
          // Redis restarting: look again.
        }
        await sleep(50);
      }
    })();
    const until = async (fraction: number): Promise<void> => {
      while (recorded < kItems * fraction) {
        if (producer.child.exitCode !== null) throw new Error(`producer exited early: ${producer.output()}`);
        await sleep(20);
      }
    };
    const chaos: string[] = [];
    try {
      await until(0.15);
      workers[0]?.child.kill('SIGKILL');
      chaos.push(`kill -9 w0 at ${recorded}`);
      await until(0.35);
      workers[1]?.child.kill('SIGSTOP');
      chaos.push(`SIGSTOP w1 at ${recorded}`);
      await sleep(2_500); // past the claim idle time (1 s) and the lease (1 s)
      workers[1]?.child.kill('SIGCONT');
      chaos.push(`SIGCONT w1 at ${recorded}`);
      await until(0.6);
      chaos.push(`redis restart at ${recorded}`);
      await server.restart();
      expect(await producer.exited, producer.output()).toBe(0);
    } finally {
      done = true;
      await watching;
    }

    type Summary = { items: number; completed: number; failed: number; cancelled: number };
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary;
    const check = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      const ledger = await check.hlen('chaos:ledger');
      const attempts = (await check.hvals('chaos:attempts')).reduce((sum, n) => sum + Number(n), 0);
      const violations = (await check.hvals('chaos:violations')).reduce((sum, n) => sum + Number(n), 0);
      const left = await Promise.all(streams.map((stream) => check.xlen(stream)));
      const dead = await check.xlen('chaos:{chaos}:dead');
      const peakMemoryMb = +(peakMemory / 2 ** 20).toFixed(1);
      const report = { ...summary, ledger, attempts, duplicates: attempts - ledger, violations, dead, peakBacklog, peakMemoryMb, chaos };
      console.log(`chaos: ${JSON.stringify(report)}`);
      // Every job ended: completed, or failed with a reason (none expected: nothing here is poison).
      expect(summary.items).toBe(kItems);
      expect(summary.completed + summary.failed).toBe(kItems);
      expect(summary.failed).toBe(dead);
      // Every effect exactly once, none missing (the ledger is keyed by the item's number).
      expect(ledger).toBe(kItems);
      expect(attempts).toBeGreaterThanOrEqual(kItems);
      for (const n of [0, 1, Math.floor(kItems / 2), kItems - 1]) expect(await check.hexists('chaos:ledger', String(n))).toBe(1);
      // Order per partition key: no first effect came after a later item's.
      expect(violations).toBe(0);
      // Bounded: the work streams never held more than the producer's credit window, and hold nothing now.
      expect(peakBacklog).toBeLessThanOrEqual(kWindow);
      expect(left.every((length) => length === 0)).toBe(true);
    } finally {
      check.disconnect();
    }
    for (const worker of workers.slice(1)) worker.child.kill('SIGTERM');
    expect(await workers[1]?.exited).toBe(0);
    expect(await workers[2]?.exited).toBe(0);
  }, 600_000);
});

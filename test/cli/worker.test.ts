/**
 * `sluice worker` and `sluice run --redis`: the worker takes a flow's distributed items from a real
 * Redis until SIGTERM (then exits 0 with its counters), the producer's summary counts every job;
 * a missing --redis, a flow without a distributed routine and --namespace without --redis are
 * coded usage errors; an unreachable Redis is said on stderr, and so is its return. (The chaos
 * suite runs three workers under kill -9, SIGSTOP and a Redis restart.)
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { io } from '../fixtures/cli-io.ts';
import { startRedis, type RedisServer } from '../fixtures/redis-server.ts';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

/** A `sluice worker` child process: its output so far, and a wait until the output says `text`. */
function startWorker(url: string, ...args: string[]) {
  const child = spawn(
    process.execPath,
    ['bin/sluice.js', 'worker', 'flows/accounts.ts', '--redis', url, '--no-record', '--every', '0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async until(text: string): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!output.includes(text)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "${text}" from the worker: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

describe('sluice worker', () => {
  it('takes the distributed items a `sluice run --redis` producer sends, and stops cleanly on SIGTERM', async () => {
    const worker = startWorker(server.url, '--namespace', 'cli');
    try {
      await worker.until('sluice worker: flow accounts (distributed: score)');
      const t = io();
      const code = await main(
        ['run', 'flows/accounts.ts', '--redis', server.url, '--namespace', 'cli', '--items', '500', '--no-record', '--json'],
        t,
      );
      expect(code, t.err()).toBe(0);
      expect(JSON.parse(t.out())).toMatchObject({ items: 500, completed: 500, failed: 0 });
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toMatch(/handled 500, committed 500/);
    } finally {
      worker.child.kill('SIGKILL');
    }
  }, 120_000);

  it('refuses a missing --redis, a flow with nothing distributed, and --namespace without --redis', async () => {
    const env = process.env.SLUICE_REDIS_URL;
    delete process.env.SLUICE_REDIS_URL;
    try {
      const none = io();
      expect(await main(['worker', 'flows/accounts.ts'], none)).toBe(2);
      expect(none.err()).toContain('SLUICE_ERR_USAGE: sluice worker needs --redis <url>');
    } finally {
      if (env !== undefined) process.env.SLUICE_REDIS_URL = env;
    }
    const local = io();
    expect(await main(['worker', 'flows/pipeline.ts', '--redis', server.url, '--no-record'], local)).toBe(2);
    expect(local.err()).toContain('has no distributed routine');
    const stray = io();
    expect(await main(['run', 'flows/accounts.ts', '--namespace', 'x', '--no-record'], stray)).toBe(2);
    expect(stray.err()).toContain('--namespace and --consume go with --redis');
  });

  it('says when Redis cannot be reached and when it is back, instead of waiting in silence', async () => {
    // A producer pointed at a port nothing listens on: one line names the URL and the error.
    const gone = await startRedis();
    await gone.stop();
    const t = io();
    const code = await main(
      ['run', 'flows/accounts.ts', '--redis', gone.url, '--items', '3', '--no-record', '--timeout', '2500', '--json'],
      t,
    );
    expect(code).toBe(1); // its jobs did not finish
    expect(t.err()).toContain(`sluice: redis at ${gone.url} is`);
    expect(t.err()).toContain('ECONNREFUSED');
    expect(JSON.parse(t.out())).toMatchObject({ items: 3, completed: 0, drained: false });

    // A worker whose Redis goes away for 3 s and comes back: a line for each.
    const own = await startRedis();
    const worker = startWorker(own.url);
    try {
      await worker.until('sluice worker: flow accounts');
      expect(worker.output()).not.toContain('sluice: redis at');
      await own.restart({ downMs: 3_000 });
      await worker.until(`sluice: redis at ${own.url} is`);
      await worker.until('sluice: redis is reachable again');
      worker.child.kill('SIGTERM');
      await worker.exited;
    } finally {
      worker.child.kill('SIGKILL');
      await own.stop();
    }
  }, 120_000);
});

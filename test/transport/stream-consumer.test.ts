/** The consumer loop against a real redis-server: shared work, a stalled consumer, poison entries, a server restart. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOutcomes } from '../../src/transport/job-outcomes.ts';
import { FlowKeys } from '../../src/transport/stream-keys.ts';
import { StreamConsumer, type StreamOutputs } from '../../src/transport/stream-consumer.ts';
import { StreamLink, type StreamEntry } from '../../src/transport/stream-link.ts';
import { startRedis, type RedisServer } from '../fixtures/redis-server.ts';

let server: RedisServer;
const clients: Redis[] = [];
let flow = 0;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.stop();
});

function client(): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // a test restarts the server under it
  clients.push(redis);
  return redis;
}

/** Waits until `check` holds, polling; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function setup(): { keys: FlowKeys; producer: StreamLink; input: string; output: string } {
  const keys = new FlowKeys('sluice', `c${++flow}`);
  return { keys, producer: new StreamLink(client(), keys), input: keys.slot('mid', 'in'), output: keys.slot('sink', 'in') };
}

describe('StreamConsumer', () => {
  it('two consumers share a stream: every entry handled and its output added exactly once', async () => {
    const { keys, producer, input, output } = setup();
    await producer.ensureGroup(input, 'mid');
    for (let i = 0; i < 200; i++) await producer.post(input, `j${i}`, String(i));
    const handledBy = new Map<string, string>();
    const make = (name: string): StreamConsumer =>
      new StreamConsumer(
        new StreamLink(client(), keys),
        { group: 'mid', consumer: name, streams: [input], count: 16, blockMs: 20 },
        async (entry: StreamEntry): Promise<StreamOutputs> => {
          handledBy.set(entry.data, name);
          return [[output, `${entry.data}!`]];
        },
      );
    const [a, b] = [make('a'), make('b')];
    a.start();
    b.start();
    await until(async () => (await producer.backlog(input, 'mid')).lag + (await producer.backlog(input, 'mid')).pending === 0);
    await Promise.all([a.stop(), b.stop()]);
    expect(handledBy.size).toBe(200);
    expect(a.stats.committed + b.stats.committed).toBe(200);
    expect(a.stats.duplicates + b.stats.duplicates).toBe(0);
    const outputs = (await producer.backlog(output, 'sink').catch(() => undefined)) ?? { lag: 0, pending: 0 };
    expect(outputs.lag).toBe(200); // no group on it yet: its length
    expect(await producer.jobState('j7')).toEqual({ inflight: 1, status: 'running' });
  });

  it('handles at most `count` entries at once; entries waiting for their commit leave their place to the next ones', async () => {
    const { keys, producer, input, output } = setup();
    await producer.ensureGroup(input, 'mid');
    for (let i = 0; i < 64; i++) await producer.post(input, `w${i}`, String(i));
    // Commits that take long to come back (a slow link): the handling goes on meanwhile.
    let handled = 0;
    let handledWhenFirstCommitted: number | undefined;
    class SlowCommits extends StreamLink {
      override async commitMany(group: string, hops: Parameters<StreamLink['commitMany']>[1]) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        const results = await super.commitMany(group, hops);
        handledWhenFirstCommitted ??= handled;
        return results;
      }
    }
    let running = 0;
    let most = 0;
    const consumer = new StreamConsumer(
      new SlowCommits(client(), keys),
      { group: 'mid', consumer: 'c', streams: [input], count: 8, blockMs: 20 },
      async (entry: StreamEntry): Promise<StreamOutputs> => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running--;
        handled++;
        return [[output, entry.data]];
      },
    );
    consumer.start();
    await until(() => consumer.stats.committed === 64);
    await consumer.stop();
    expect(most).toBeLessThanOrEqual(8);
    // Before the first commit came back, more than one window was handled, and at most two.
    expect(handledWhenFirstCommitted).toBeGreaterThan(8);
    expect(handledWhenFirstCommitted).toBeLessThanOrEqual(16);
    expect(await producer.backlog(input, 'mid')).toEqual({ lag: 0, pending: 0 });
  });

  it('a read whose reply was lost with its connection: the entries it took are handled first, in order, before newer ones', async () => {
    const { keys, producer, input, output } = setup();
    await producer.ensureGroup(input, 'mid');
    const handled: string[] = [];
    const consumer = new StreamConsumer(
      new StreamLink(client(), keys),
      // Ordered, and claims far away: only the consumer's own recovery can bring the lost entries back in time.
      { group: 'mid', consumer: 'c', streams: [input], blockMs: 5_000, claimIdleMs: 600_000, ordered: () => true },
      async (entry: StreamEntry): Promise<StreamOutputs> => {
        handled.push(entry.data);
        return [[output, entry.data]];
      },
    );
    consumer.start();
    const admin = client();
    const blockedReader = async (): Promise<string | undefined> =>
      ((await admin.call('CLIENT', 'LIST')) as string).split('\n').find((line) => line.includes('cmd=xreadgroup'));
    await until(async () => (await blockedReader()) !== undefined);
    // Entries delivered to this consumer whose reply never reached it: added and read as `c` in one step
    // (the blocked read is not served them), then its connection is cut.
    const lost = admin.multi();
    for (const n of ['1', '2', '3']) lost.xadd(input, '*', 'job', `l${n}`, 'data', n);
    await lost.call('XREADGROUP', 'GROUP', 'mid', 'c', 'COUNT', 10, 'STREAMS', input, '>').exec();
    await until(async () => (await blockedReader()) !== undefined);
    const id = /\bid=(\d+)/.exec((await blockedReader()) ?? '')?.[1];
    await admin.call('CLIENT', 'KILL', 'ID', id as string);
    await producer.post(input, 'l4', '4');
    await until(() => handled.length >= 4);
    await consumer.stop();
    expect(handled).toEqual(['1', '2', '3', '4']);
  });

  it("a stalled consumer's entry is claimed and committed by a live one; the stalled one's late commit adds nothing", async () => {
    const { keys, producer, input, output } = setup();
    await producer.ensureGroup(input, 'mid');
    await producer.post(input, 'stuck', 's');
    let release!: () => void;
    const stalled = new StreamConsumer(
      new StreamLink(client(), keys),
      { group: 'mid', consumer: 'stalled', streams: [input], blockMs: 20, claimIdleMs: 60_000 },
      () => new Promise<StreamOutputs>((resolve) => (release = () => resolve([[output, 'from-stalled']]))),
    );
    stalled.start();
    await until(() => release !== undefined);
    const live = new StreamConsumer(
      new StreamLink(client(), keys),
      { group: 'mid', consumer: 'live', streams: [input], blockMs: 20, claimIdleMs: 100, claimEveryMs: 20 },
      async () => [[output, 'from-live']],
    );
    live.start();
    await until(() => live.stats.committed === 1);
    expect(live.stats.claimed).toBe(1);
    release(); // the stalled consumer wakes up and commits the same entry
    await until(() => stalled.stats.duplicates === 1);
    await Promise.all([live.stop(), stalled.stop()]);
    const added = await producer.backlog(output, 'none');
    expect(added.lag).toBe(1);
    expect(stalled.stats.committed).toBe(0);
  });

  it("an entry whose handling keeps failing is dead-lettered with the handler's error after maxDeliveries", async () => {
    const { keys, producer, input } = setup();
    await producer.ensureGroup(input, 'mid');
    await producer.post(input, 'poison', 'p');
    let attempts = 0;
    const consumer = new StreamConsumer(
      new StreamLink(client(), keys),
      { group: 'mid', consumer: 'a', streams: [input], blockMs: 10, claimIdleMs: 30, claimEveryMs: 10, maxDeliveries: 3 },
      async () => {
        attempts++;
        throw new Error(`bad item (attempt ${attempts})`);
      },
    );
    consumer.start();
    await until(() => consumer.stats.dead === 1);
    await consumer.stop();
    expect(attempts).toBe(3);
    expect(consumer.stats.failed).toBe(3);
    const redis = client();
    const deadLetters = await redis.xrange(keys.dead, '-', '+');
    expect(deadLetters).toHaveLength(1);
    const fields = deadLetters[0]?.[1];
    expect(fields).toEqual(
      expect.arrayContaining(['job', 'poison', 'deliveries', '3', 'code', 'SLUICE_ERR_ROUTINE_FAILED', 'message', 'bad item (attempt 3)']),
    );
    expect(await producer.jobState('poison')).toEqual({ inflight: 0, status: 'failed' });
  });

  it('keeps consuming across a redis-server restart, losing nothing acknowledged and handling the rest', async () => {
    const { keys, producer, input, output } = setup();
    await producer.ensureGroup(input, 'mid');
    for (let i = 0; i < 50; i++) await producer.post(input, `r${i}`, String(i));
    const seen = new Set<string>();
    const consumer = new StreamConsumer(
      new StreamLink(client(), keys),
      { group: 'mid', consumer: 'a', streams: [input], count: 5, blockMs: 10, claimIdleMs: 200, claimEveryMs: 50 },
      async (entry) => {
        seen.add(entry.data);
        await new Promise((resolve) => setTimeout(resolve, 2));
        return [[output, entry.data]];
      },
    );
    consumer.start();
    await until(() => seen.size >= 10);
    const check = client();
    const runId = async (): Promise<string> => /run_id:(\w+)/.exec(await check.info('server'))?.[1] ?? '';
    const before = await runId();
    await server.restart();
    await until(async () => (await check.xlen(output).catch(() => 0)) === 50, 20_000);
    await consumer.stop();
    expect(seen.size).toBe(50);
    expect(await runId()).not.toBe(before); // it was a new server process
    const outputs = (await check.xrange(output, '-', '+')).map(([, f]) => f[3]);
    expect(new Set(outputs).size).toBe(50); // each once
  });

  it("the posting side learns each job's outcome: completed when its last hop commits, failed with the dead letter's error", async () => {
    const { keys, producer, input, output } = setup();
    await producer.ensureGroup(input, 'mid');
    await producer.ensureGroup(output, 'sink');
    const outcomes = new JobOutcomes(client(), keys, { blockMs: 20 });
    await outcomes.start();
    const ok = outcomes.wait('ok');
    const bad = outcomes.wait('bad');
    expect(outcomes.waiting).toBe(2);
    await producer.post(input, 'ok', 'fine');
    await producer.post(input, 'bad', 'poison');
    const mid = new StreamConsumer(
      new StreamLink(client(), keys),
      { group: 'mid', consumer: 'm', streams: [input], blockMs: 10, claimIdleMs: 30, claimEveryMs: 10, maxDeliveries: 2 },
      async (entry) => {
        if (entry.data === 'poison') throw new Error('cannot parse');
        return [[output, `${entry.data}+`]];
      },
    );
    const sink = new StreamConsumer(
      new StreamLink(client(), keys),
      { group: 'sink', consumer: 's', streams: [output], blockMs: 10 },
      async () => [],
    );
    mid.start();
    sink.start();
    expect(await ok).toEqual({ jobId: 'ok', status: 'completed' });
    expect(await bad).toEqual({ jobId: 'bad', status: 'failed', error: { code: 'SLUICE_ERR_ROUTINE_FAILED', message: 'cannot parse' } });
    expect(outcomes.waiting).toBe(0);
    await Promise.all([mid.stop(), sink.stop(), outcomes.stop()]);
  });
});

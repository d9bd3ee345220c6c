/**
 * The Redis transport wired into Runtimes, against a real redis-server: a flow whose middle
 * routine is distributed runs across runtimes, jobs complete in the posting runtime, failures
 * come back with their reason, the producer's window bounds Redis, partitions keep order.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Routine, Runtime, type ActivationContext, type SlotItems } from '../../src/index.ts';
import { redis } from '../../src/entry/redis.ts';
import { startRedis, type RedisServer } from '../fixtures/redis-server.ts';
import { expectCode } from '../fixtures/helpers.ts';
import { Governor } from '../../src/governor/index.ts';

let server: RedisServer;
let check: Redis;
let flowCounter = 0;

beforeAll(async () => {
  server = await startRedis();
  check = new Redis(server.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  check?.disconnect();
  await server?.stop();
});

/** What the sinks of every runtime saw: [runtime, value, job id, idempotency key]. */
type Seen = Array<{ runtime: string; n: number; jobId: string; key: unknown }>;

class Source extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }

  logic({ in: items }: SlotItems): void {
    for (const item of items as Array<{ n: number }>) this.emit('out', { n: item.n, key: `k${item.n % 3}` });
  }
}

class Square extends Routine {
  constructor(private readonly failOn: number | undefined) {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }

  logic({ in: items }: SlotItems): void {
    for (const item of items as Array<{ n: number; key: string }>) {
      if (item.n === this.failOn) throw new Error(`cannot square ${item.n}`);
      this.emit('out', { ...item, sq: item.n * item.n });
    }
  }
}

class Sink extends Routine {
  constructor(
    private readonly seen: Seen,
    private readonly name: string,
  ) {
    super();
    this.addSlot('in');
  }

  logic(_items: SlotItems, ctx: ActivationContext): void {
    for (const entry of ctx.entries('in')) {
      const data = entry.data as { n: number };
      this.seen.push({ runtime: this.name, n: data.n, jobId: entry.job.jobId, key: entry.job.metadata.idempotencyKey });
    }
  }
}

function flow(id: string, seen: Seen, name: string, options: { failOn?: number; partitioned?: boolean } = {}): Flow {
  return new Flow(id)
    .addRoutine(new Source(), 'source')
    .addRoutine(new Square(options.failOn), 'square', {
      distributed: options.partitioned === true ? { partitionKey: (data) => (data as { key: string }).key } : true,
      errorHandler: { strategy: 'stop' },
    })
    .addRoutine(new Sink(seen, name), 'sink')
    .connect('source', 'out', 'square', 'in')
    .connect('square', 'out', 'sink', 'in');
}

/** Runtimes on one namespace: a producer that only sends, and `workers` consumers. */
function cluster(
  id: string,
  seen: Seen,
  workers: number,
  options: { failOn?: number; partitioned?: boolean; window?: number; producerConsumes?: boolean } = {},
): { producer: Runtime; consumers: Runtime[]; namespace: string } {
  const namespace = `t${++flowCounter}`;
  const common = { url: server.url, namespace, claimIdleMs: 500, leaseMs: 600 };
  const producer = new Runtime({
    name: 'producer',
    transport: redis({
      ...common,
      consume: options.producerConsumes ?? false,
      ...(options.window === undefined ? {} : { window: options.window }),
    }),
  });
  producer.register(flow(id, seen, 'producer', options));
  const consumers: Runtime[] = [];
  for (let i = 0; i < workers; i++) {
    const runtime = new Runtime({ name: `w${i}`, transport: redis({ ...common, consumer: `w${i}` }) });
    runtime.register(flow(id, seen, `w${i}`, options));
    runtime.exec(id);
    consumers.push(runtime);
  }
  return { producer, consumers, namespace };
}

async function closeAll(runtimes: Runtime[]): Promise<void> {
  await Promise.all(runtimes.map((runtime) => runtime.close({ timeout: 5_000 })));
}

describe('the redis transport', () => {
  it('runs the distributed routine in other runtimes; each job completes in the runtime that posted it', async () => {
    const seen: Seen = [];
    const { producer, consumers, namespace } = cluster('squares', seen, 2);
    try {
      const jobs = [];
      for (let n = 0; n < 200; n++) jobs.push(producer.post('squares', 'source', 'in', { n })[1]);
      const ended = await Promise.all(jobs.map((job) => job.done()));
      expect(ended.map((job) => job.status)).toEqual(jobs.map(() => 'completed'));
      // Each item reached a sink once, in a consumer (the producer takes nothing).
      expect(seen.map((s) => s.n).sort((a, b) => a - b)).toEqual([...Array(200).keys()]);
      expect(new Set(seen.map((s) => s.runtime))).toEqual(new Set(['w0', 'w1']));
      // In the consumer, the item ran under a job of its own: the posted job's id, '@', the entry.
      for (const s of seen) expect(s.jobId).toMatch(/^job-.+@square\.in:\d+-\d+$/);
      expect(new Set(seen.map((s) => s.key)).size).toBe(200);
      const stats = producer.stats().transport;
      expect(stats).toMatchObject({ name: 'redis', connected: true, sent: 200, unsent: 0 });
      // (A job completes when its last hop's script runs; the consumer counts the commit when the reply is back.)
      await until(() => consumers.reduce((sum, c) => sum + (c.stats().transport?.committed ?? 0), 0) === 200);
      // Nothing left in Redis but the ended jobs' hashes (which expire) and the outcome stream.
      expect(await check.xlen(`${namespace}:{squares}:slot:square.in`)).toBe(0);
      const state = await check.hgetall(`${namespace}:{squares}:job:${jobs[0]?.jobId}`);
      expect(state).toMatchObject({ status: 'completed', inflight: '0' });
      expect(await check.pttl(`${namespace}:{squares}:job:${jobs[0]?.jobId}`)).toBeGreaterThan(0);
      // Readable from any process: a transport that never ran the flow asks Redis.
      const elsewhere = redis({ url: server.url, namespace });
      try {
        expect(await elsewhere.jobStatus('squares', jobs[0]?.jobId as string)).toEqual({ status: 'completed', inflight: 0 });
        expect(await elsewhere.jobStatus('squares', 'never-posted')).toBeUndefined();
      } finally {
        await elsewhere.close();
      }
    } finally {
      await closeAll([producer, ...consumers]);
    }
  });

  it('a job whose distributed routine fails elsewhere fails where it was posted, with the reason; the entry is dead-lettered', async () => {
    const seen: Seen = [];
    const { producer, consumers, namespace } = cluster('failing', seen, 1, { failOn: 7 });
    try {
      const jobs = [6, 7, 8].map((n) => producer.post('failing', 'source', 'in', { n })[1]);
      const [ok, bad, ok2] = await Promise.all(jobs.map((job) => job.done()));
      expect(ok?.status).toBe('completed');
      expect(ok2?.status).toBe('completed');
      expect(bad?.status).toBe('failed');
      expect(bad?.error?.message).toContain('cannot square 7');
      const dead = await check.xrange(`${namespace}:{failing}:dead`, '-', '+');
      expect(dead).toHaveLength(1);
      expect(dead[0]?.[1]).toEqual(expect.arrayContaining(['job', bad?.jobId, 'data', '{"n":7,"key":"k1"}']));
      expect(producer.stats().failures).toMatchObject({ total: 1, distinct: [{ code: ErrorCode.RoutineFailed, jobs: 1 }] });
    } finally {
      await closeAll([producer, ...consumers]);
    }
  });

  it('the producer keeps its credit window: Redis holds at most `window` entries; the rest waits in the bounded queue', async () => {
    const seen: Seen = [];
    // No consumer yet: nothing is taken from Redis.
    const { producer, namespace } = cluster('windowed', seen, 0, { window: 5 });
    const stream = `${namespace}:{windowed}:slot:square.in`;
    let late: Runtime | undefined;
    try {
      const jobs = [];
      for (let n = 0; n < 40; n++) jobs.push(producer.post('windowed', 'source', 'in', { n })[1]);
      await until(() => (producer.stats().transport?.sent ?? 0) >= 5);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await check.xlen(stream)).toBe(5);
      expect(producer.stats().transport).toMatchObject({ sent: 5, unsent: 35 });
      // The queue in front of Redis is shaped like the slot (1000 items, reject): past it, a post is refused like a full slot.
      for (let n = 40; n < 1005; n++) jobs.push(producer.post('windowed', 'square', 'in', { n, key: 'k' })[1]);
      expect(producer.stats().transport).toMatchObject({ sent: 5, unsent: 1000 });
      expectCode(() => producer.post('windowed', 'square', 'in', { n: 1005, key: 'k' }), ErrorCode.QueueFull);
      expect(await check.xlen(stream)).toBe(5);
      // A consumer arrives: everything flows and every job completes.
      late = new Runtime({ name: 'late', transport: redis({ url: server.url, namespace, consumer: 'late' }) });
      late.register(flow('windowed', seen, 'late'));
      late.exec('windowed');
      const ended = await Promise.all(jobs.map((job) => job.done()));
      expect(ended.every((job) => job.status === 'completed')).toBe(true);
      expect(seen).toHaveLength(1005);
    } finally {
      await closeAll([producer, ...(late === undefined ? [] : [late])]);
    }
  });

  it('items with the same partition key are handled in the order they were sent, across consumers', async () => {
    const seen: Seen = [];
    const { producer, consumers } = cluster('ordered', seen, 3, { partitioned: true });
    try {
      const jobs = [];
      for (let n = 0; n < 300; n++) jobs.push(producer.post('ordered', 'source', 'in', { n })[1]);
      await Promise.all(jobs.map((job) => job.done()));
      expect(seen).toHaveLength(300);
      for (const key of [0, 1, 2]) {
        const order = seen.filter((s) => s.n % 3 === key).map((s) => s.n);
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
    } finally {
      await closeAll([producer, ...consumers]);
    }
  });

  it('losing Redis degrades the runtime (health says why); it recovers when Redis returns, and nothing acknowledged is lost', async () => {
    const own = await startRedis();
    const seen: Seen = [];
    const namespace = `t${++flowCounter}`;
    const common = { url: own.url, namespace, claimIdleMs: 500 };
    const producer = new Runtime({ name: 'p', healthIntervalMs: 50, transport: redis({ ...common, consume: false }) });
    const consumer = new Runtime({ name: 'c', transport: redis({ ...common, consumer: 'c' }) });
    try {
      producer.register(flow('outage', seen, 'p'));
      consumer.register(flow('outage', seen, 'c'));
      consumer.exec('outage');
      const before = [0, 1, 2].map((n) => producer.post('outage', 'source', 'in', { n })[1]);
      await Promise.all(before.map((job) => job.done()));
      await until(() => producer.health().subsystems.redis?.status === 'healthy');
      const restarting = own.restart({ downMs: 1_500 });
      await until(() => producer.status === 'degraded');
      const redisHealth = producer.health().subsystems.redis;
      expect(redisHealth).toMatchObject({ status: 'degraded', detail: expect.stringContaining('items wait here until it is back') });
      // Posted while Redis is away: they wait in the queue in front of it.
      const during = [3, 4, 5].map((n) => producer.post('outage', 'source', 'in', { n })[1]);
      expect(producer.stats().transport?.connected).toBe(false);
      await restarting;
      const ended = await Promise.all(during.map((job) => job.done()));
      expect(ended.map((job) => job.status)).toEqual(['completed', 'completed', 'completed']);
      await until(() => producer.status === 'running');
      expect(seen.map((s) => s.n).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await closeAll([producer, consumer]);
      await own.stop();
    }
  });

  it("the governor reads what waits in Redis for the runtime's jobs (transport_backlog, in queue_depth)", async () => {
    const seen: Seen = [];
    const namespace = `t${++flowCounter}`;
    const governor = new Governor({ intervalMs: 250 });
    const producer = new Runtime({ name: 'gov', governor, transport: redis({ url: server.url, namespace, consume: false }) });
    try {
      producer.register(flow('governed', seen, 'gov'));
      await producer.start();
      governor.start();
      for (let n = 0; n < 30; n++) producer.post('governed', 'source', 'in', { n });
      await until(() => (governor.profile('gov.transport_backlog')?.current ?? 0) === 30);
      expect(governor.profile('gov.queue_depth')?.current).toBeGreaterThanOrEqual(30);
    } finally {
      governor.stop();
      await producer.close({ timeout: 0 });
    }
  });

  it('refuses what cannot cross processes, and bad options, with coded errors', async () => {
    const seen: Seen = [];
    const { producer, consumers } = cluster('refusals', seen, 0);
    try {
      const refused = expectCode(() => producer.post('refusals', 'square', 'in', { n: 1n }), ErrorCode.NotSerializable);
      expect(refused.message).toContain('square.in');
      expect(producer.listJobs()).toEqual([]); // refused before a job was made
      expectCode(() => producer.stream('refusals', 'square', 'in', [1, 2]), ErrorCode.InvalidArgument);
      expectCode(() => redis({ url: 'http://x' }), ErrorCode.InvalidArgument);
      expectCode(() => redis({ namespace: 'a{b' }), ErrorCode.InvalidArgument);
      expectCode(() => redis({ window: 0 }), ErrorCode.InvalidArgument);
      expectCode(() => redis({ bogus: 1 } as never), ErrorCode.InvalidArgument);
      expectCode(() => new Runtime({ transport: {} as never }), ErrorCode.InvalidArgument);
      expectCode(
        () => new Flow('f').addRoutine(new Square(undefined), 'sq', { distributed: { partitionKey: 'id' } as never }),
        ErrorCode.InvalidArgument,
      );
    } finally {
      await closeAll([producer, ...consumers]);
    }
  });
});

async function until(checkFn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await checkFn())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

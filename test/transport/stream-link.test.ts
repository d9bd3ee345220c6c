/** The Redis Streams primitives against a real redis-server: hops exactly once, claims, dead letters, job accounting. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.ts';
import { CreditWindow } from '../../src/transport/credit-window.ts';
import { JobOutcomes } from '../../src/transport/job-outcomes.ts';
import { FlowKeys } from '../../src/transport/stream-keys.ts';
import { StreamLink } from '../../src/transport/stream-link.ts';
import { startRedis, type RedisServer } from '../fixtures/redis-server.ts';

let server: RedisServer;
let redis: Redis;
let flow = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined); // the restart test kills the server under it
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** A fresh flow's keys and link for each test. */
let keys: FlowKeys;
let link: StreamLink;
beforeEach(() => {
  keys = new FlowKeys('sluice', `f${++flow}`);
  link = new StreamLink(redis, keys);
});

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('StreamLink', () => {
  it('keys of one flow share its hash tag; braces and spaces in names are refused', () => {
    expect(keys.slot('transform', 'in')).toBe(`sluice:{${keys.flowId}}:slot:transform.in`);
    for (const bad of ['a{b', 'a}b', 'a b', '']) {
      expect(() => new FlowKeys('sluice', bad)).toThrowError(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    }
  });

  it('a hop adds its outputs, acknowledges its input and moves the job count once, even when committed twice', async () => {
    const input = keys.slot('mid', 'in');
    const output = keys.slot('sink', 'in');
    await link.ensureGroup(input, 'mid');
    await link.ensureGroup(input, 'mid'); // an existing group is kept
    await link.ensureGroup(output, 'sink');
    await link.post(input, 'j1', '{"n":1}');
    expect(await link.jobState('j1')).toEqual({ inflight: 1, status: 'running' });
    const [entry] = await link.read('mid', 'c1', [input], { count: 10 });
    expect(entry).toMatchObject({ stream: input, jobId: 'j1', data: '{"n":1}', deliveries: 1 });
    const outputs = [
      [output, '{"n":2}'],
      [output, '{"n":3}'],
    ] as const;
    expect(await link.commit('mid', entry!, outputs)).toEqual({ first: true, inflight: 2 });
    // The same entry committed again (a stalled consumer waking up): only acknowledged.
    expect(await link.commit('mid', entry!, outputs)).toEqual({ first: false, inflight: -1 });
    expect(await redis.xlen(output)).toBe(2);
    expect(await redis.call('XPENDING', input, 'mid')).toEqual([0, null, null, null]);
    // Both outputs consumed with nothing emitted: the job completes, once.
    const sinkEntries = await link.read('sink', 'c2', [output], { count: 10 });
    expect(sinkEntries.map((e) => e.data)).toEqual(['{"n":2}', '{"n":3}']);
    expect((await link.commit('sink', sinkEntries[0]!, [])).inflight).toBe(1);
    expect((await link.commit('sink', sinkEntries[1]!, [])).inflight).toBe(0);
    expect(await link.jobState('j1')).toEqual({ inflight: 0, status: 'completed' });
    const outcomes = await redis.xrange(keys.jobs, '-', '+');
    expect(outcomes.map(([, fields]) => fields)).toEqual([['status', 'completed', 'job', 'j1']]);
  });

  it("a producer's batch sent again (its reply lost) adds nothing twice; its hold is added once and given back once", async () => {
    const input = keys.slot('mid', 'in');
    await link.ensureGroup(input, 'mid');
    const batch = [1, 2, 3].map((n) => ({ stream: input, jobId: 'jb', data: String(n), holdField: 'hold|p' }));
    expect(await link.postMany('p:1', batch)).toBe(3);
    expect(await link.postMany('p:1', batch)).toBe(0); // the same batch again: nothing added
    expect(await link.postMany('p:2', [{ ...batch[0]!, data: '4' }])).toBe(1); // the hold is not added twice
    expect(await redis.xlen(input)).toBe(4);
    expect(await link.jobState('jb')).toEqual({ inflight: 5, status: 'running' }); // 4 entries + the producer's hold
    const entries = await link.read('mid', 'c', [input], { count: 10 });
    for (const entry of entries) await link.commit('mid', entry, []);
    expect(await link.jobState('jb')).toEqual({ inflight: 1, status: 'running' }); // the hold keeps it open
    expect(await link.release('jb', 'hold|p', 'completed')).toBe(0);
    expect(await link.release('jb', 'hold|p', 'completed')).toBe(0); // a release resent gives back nothing more
    expect(await link.jobState('jb')).toEqual({ inflight: 0, status: 'completed' });
    const outcomes = await redis.xrange(keys.jobs, '-', '+');
    expect(outcomes.map(([, fields]) => fields)).toEqual([['status', 'completed', 'job', 'jb']]);
  });

  it('many hops commit in one step, each exactly as alone: a hop committed before only acknowledges', async () => {
    const input = keys.slot('mid', 'in');
    const output = keys.slot('sink', 'in');
    await link.ensureGroup(input, 'mid');
    for (const job of ['m1', 'm2', 'm3', 'm4']) await link.post(input, job, job);
    const [a, b, c, d] = await link.read('mid', 'c', [input], { count: 10 });
    const follower = new Redis(server.url);
    const outcomes = new JobOutcomes(follower, keys, { blockMs: 20 });
    await outcomes.start();
    const ended = Promise.all(['m2', 'm3', 'm4'].map((job) => outcomes.wait(job)));
    expect(await link.commit('mid', b!, [])).toEqual({ first: true, inflight: 0 });
    const results = await link.commitMany('mid', [
      {
        entry: a!,
        outputs: [
          [output, 'a1'],
          [output, 'a2'],
        ],
      },
      { entry: b!, outputs: [[output, 'b1']] }, // committed above: nothing more
      { entry: c!, outputs: [] },
      { entry: d!, outputs: [] },
    ]);
    expect(results).toEqual([
      { first: true, inflight: 2 },
      { first: false, inflight: -1 },
      { first: true, inflight: 0 },
      { first: true, inflight: 0 },
    ]);
    expect((await redis.xrange(output, '-', '+')).map(([, f]) => f[3])).toEqual(['a1', 'a2']);
    expect(await redis.xlen(input)).toBe(0);
    expect((await link.jobState('m3'))?.status).toBe('completed');
    // m2 alone; m3 and m4 completed in the batch: one outcome entry for both, and the follower settles both.
    expect((await redis.xrange(keys.jobs, '-', '+')).map(([, f]) => f)).toEqual([
      ['status', 'completed', 'job', 'm2'],
      ['status', 'completed', 'job', 'm3', 'job', 'm4'],
    ]);
    expect(await ended).toEqual(['m2', 'm3', 'm4'].map((jobId) => ({ jobId, status: 'completed' })));
    await outcomes.stop();
    follower.disconnect();
  });

  it("a stalled consumer's entries are claimed by a live one; the stalled one's late commit adds nothing", async () => {
    const input = keys.slot('mid', 'in');
    const output = keys.slot('sink', 'in');
    await link.ensureGroup(input, 'mid');
    await link.post(input, 'j2', 'a');
    const [seenByA] = await link.read('mid', 'a', [input], { count: 1 });
    await wait(60);
    const { claimed, dead } = await link.claimIdle('mid', 'b', input, {
      minIdleMs: 50,
      count: 10,
      maxDeliveries: 5,
      error: { code: 'X', message: 'x' },
    });
    expect(dead).toBe(0);
    expect(claimed).toEqual([{ stream: input, id: seenByA!.id, jobId: 'j2', data: 'a', deliveries: 2 }]);
    expect(await link.commit('mid', claimed[0]!, [[output, 'b']])).toEqual({ first: true, inflight: 1 });
    expect(await link.commit('mid', seenByA!, [[output, 'b']])).toMatchObject({ first: false });
    expect(await redis.xlen(output)).toBe(1);
    // Nothing is idle any more: a second claim finds nothing.
    expect(
      (await link.claimIdle('mid', 'c', input, { minIdleMs: 0, count: 10, maxDeliveries: 5, error: { code: 'X', message: 'x' } })).claimed,
    ).toEqual([]);
  });

  it('after maxDeliveries an entry moves to the dead-letter stream with its error, acknowledged, and its job fails', async () => {
    const input = keys.slot('mid', 'in');
    await link.ensureGroup(input, 'mid');
    await link.post(input, 'j3', 'poison');
    await link.read('mid', 'a', [input], { count: 1 }); // delivery 1
    const error = { code: 'SLUICE_ERR_ROUTINE_FAILED', message: 'boom' };
    for (const consumer of ['b', 'c']) {
      await wait(25);
      const { claimed } = await link.claimIdle('mid', consumer, input, { minIdleMs: 20, count: 10, maxDeliveries: 3, error });
      expect(claimed).toHaveLength(1); // deliveries 2 and 3, never committed (the consumer keeps dying)
    }
    await wait(25);
    const last = await link.claimIdle('mid', 'd', input, { minIdleMs: 20, count: 10, maxDeliveries: 3, error });
    expect(last).toEqual({ claimed: [], dead: 1 });
    const deadLetters = await redis.xrange(keys.dead, '-', '+');
    expect(deadLetters).toHaveLength(1);
    const fields = deadLetters[0]?.[1];
    expect(fields).toEqual(
      expect.arrayContaining(['job', 'j3', 'data', 'poison', 'deliveries', '3', 'code', error.code, 'message', 'boom']),
    );
    expect(await redis.call('XPENDING', input, 'mid')).toEqual([0, null, null, null]);
    expect(await link.jobState('j3')).toEqual({ inflight: 0, status: 'failed' });
    const outcomes = await redis.xrange(keys.jobs, '-', '+');
    expect(outcomes.map(([, f]) => f.slice(0, 4))).toEqual([['status', 'failed', 'job', 'j3']]);
  });

  it('a restarting consumer drains its own pending entries first, delivery counts kept', async () => {
    const input = keys.slot('mid', 'in');
    await link.ensureGroup(input, 'mid');
    for (const n of [1, 2, 3]) await link.post(input, `j${n}`, String(n));
    const first = await link.read('mid', 'a', [input], { count: 2 });
    expect(first.map((e) => e.data)).toEqual(['1', '2']);
    // "a" restarts: its pending entries come back, then new ones.
    const pending = await link.read('mid', 'a', [input], { count: 10, pending: true });
    expect(pending.map((e) => [e.data, e.deliveries])).toEqual([
      ['1', 2],
      ['2', 2],
    ]);
    const fresh = await link.read('mid', 'a', [input], { count: 10 });
    expect(fresh.map((e) => e.data)).toEqual(['3']);
  });

  it('survives a redis-server restart with appendfsync always: acknowledged work stays acknowledged, pending stays pending', async () => {
    const input = keys.slot('mid', 'in');
    const output = keys.slot('sink', 'in');
    await link.ensureGroup(input, 'mid');
    await link.post(input, 'j4', 'x');
    await link.post(input, 'j5', 'y');
    const [x, y] = await link.read('mid', 'a', [input], { count: 2 });
    await link.commit('mid', x!, [[output, 'x2']]);
    await server.restart(); // SIGKILL: only what the AOF holds survives
    const after = new Redis(server.url, { maxRetriesPerRequest: 2 });
    try {
      const relinked = new StreamLink(after, keys);
      expect(await after.xlen(output)).toBe(1);
      const pending = await relinked.read('mid', 'a', [input], { count: 10, pending: true });
      expect(pending.map((e) => e.id)).toEqual([y!.id]);
      expect(await relinked.jobState('j4')).toEqual({ inflight: 1, status: 'running' });
      expect(await relinked.commit('mid', x!, [[output, 'x2']])).toMatchObject({ first: false }); // its acknowledgement survived too
    } finally {
      after.disconnect();
    }
    redis.disconnect();
    redis = new Redis(server.url, { maxRetriesPerRequest: 2 });
  });

  it("a producer's credit window bounds what the group has not finished, and opens as the group acknowledges", async () => {
    const input = keys.slot('mid', 'in');
    await link.ensureGroup(input, 'mid');
    const credit = new CreditWindow(
      async () => {
        const { lag, pending } = await link.backlog(input, 'mid');
        return lag + pending;
      },
      { window: 3, pollMs: 2 },
    );
    for (let i = 0; i < 3; i++) {
      expect(credit.tryTake()).toBe(true);
      await link.post(input, `c${i}`, String(i));
      credit.confirm(1); // added: from now on the measure counts it
    }
    expect(credit.tryTake()).toBe(false); // full: nothing consumed yet
    await credit.refresh();
    expect(credit.available).toBe(0);
    expect(await link.backlog(input, 'mid')).toEqual({ lag: 3, pending: 0 });
    const read = await link.read('mid', 'a', [input], { count: 2 });
    expect(await link.backlog(input, 'mid')).toEqual({ lag: 1, pending: 2 });
    // A waiting producer gets its credit when the group acknowledges, not when it merely reads.
    let granted = false;
    const waiting = credit.take().then(() => (granted = true));
    await wait(20);
    expect(granted).toBe(false);
    await link.commit('mid', read[0]!, []);
    await waiting;
    expect(granted).toBe(true);
    await link.post(input, 'c3', '3'); // the granted credit used: three unfinished again
    credit.confirm(1);
    const controller = new AbortController();
    const aborted = credit.take(controller.signal);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrowError('stop');
    expect(() => new CreditWindow(async () => 0, { window: 0 })).toThrowError(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });
});

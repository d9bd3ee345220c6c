/**
 * What a Redis crash loses of acknowledged work, per fsync policy, measured: a producer adds
 * batches with the transport's own post (each acknowledged by Redis) as fast as it can, the
 * server is SIGKILLed mid-stream and started again from its append-only file. With `always`
 * nothing acknowledged is lost; with `everysec` what survives is a prefix of what was
 * acknowledged and what was lost is measured and printed (docs/distributed.md). Redis writes the
 * file before it replies under both policies, so a killed *process* loses nothing here; what
 * `everysec` risks — up to about a second of acknowledged writes not yet fsynced — is lost only
 * when the host itself crashes, which a test cannot do to the machine it runs on.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowKeys } from '../../src/transport/stream-keys.ts';
import { StreamLink } from '../../src/transport/stream-link.ts';
import { startRedis, type RedisServer } from '../fixtures/redis-server.ts';

let server: RedisServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Posts numbered batches until killed; returns what was acknowledged and when. */
async function crashWhilePosting(appendfsync: 'always' | 'everysec'): Promise<{ acked: number; survived: number[]; lostMs: number }> {
  server = await startRedis({ appendfsync });
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  const keys = new FlowKeys('loss', appendfsync);
  const link = new StreamLink(redis, keys);
  const stream = keys.slot('work', 'in');
  const ackedAt: number[] = [];
  let n = 0;
  let killedAt = 0;
  const killing = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    killedAt = performance.now();
    await server?.restart();
  })();
  try {
    for (;;) {
      const batch = Array.from({ length: 32 }, (_, i) => ({
        stream,
        jobId: `j${n + i}`,
        data: String(n + i),
        holdField: '',
      }));
      await link.postMany(`b${n}`, batch);
      const now = performance.now();
      for (let i = 0; i < batch.length; i++) ackedAt.push(now);
      n += batch.length;
    }
  } catch {
    // The server is gone: what it acknowledged so far is in ackedAt.
  }
  await killing;
  redis.disconnect();
  const after = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const survived = (await after.xrange(stream, '-', '+')).map(([, fields]) => Number(fields[3]));
    const firstLost = ackedAt[survived.length];
    return { acked: ackedAt.length, survived, lostMs: firstLost === undefined ? 0 : Math.max(0, killedAt - firstLost) };
  } finally {
    after.disconnect();
  }
}

describe('the loss window of a Redis crash', () => {
  it('appendfsync always: nothing acknowledged is lost', async () => {
    const { acked, survived } = await crashWhilePosting('always');
    console.log(`loss window, appendfsync always: ${acked} acknowledged, ${acked - survived.length} lost`);
    expect(acked).toBeGreaterThan(0);
    expect(survived.length).toBeGreaterThanOrEqual(acked);
    expect(survived.slice(0, acked)).toEqual([...Array(acked).keys()]);
  }, 60_000);

  it('appendfsync everysec: what survives is a prefix of what was acknowledged; the rest is measured', async () => {
    const { acked, survived, lostMs } = await crashWhilePosting('everysec');
    const lost = Math.max(0, acked - survived.length);
    console.log(
      `loss window, appendfsync everysec: ${acked} acknowledged, ${lost} lost, acknowledged up to ${lostMs.toFixed(0)} ms before the crash`,
    );
    expect(acked).toBeGreaterThan(0);
    // No holes: the survivors are exactly the first ones posted (the append-only file is written in order).
    expect(survived).toEqual([...Array(survived.length).keys()]);
  }, 60_000);
});

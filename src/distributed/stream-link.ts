/**
 * The Redis Streams primitives the distributed transport is built from, each one round trip and
 * each atomic inside Redis:
 *
 * - **post**: an item into a slot's stream, the job's in-flight count raised by one;
 * - **read**: a consumer's new entries (or, after a restart, its own pending ones first);
 * - **commit** (the hop): an activation's outputs added, its input acknowledged and the job's
 *   in-flight count moved by `outputs - 1`, guarded by an idempotency record of the input entry —
 *   a second commit of the same entry (a stalled consumer waking up after another claimed its
 *   work) only acknowledges, so a hop's effect inside Redis happens exactly once; the job's outcome
 *   is added to the flow's job stream when its count reaches zero;
 * - **claim**: entries pending longer than an idle threshold move to a live consumer, their
 *   delivery count kept; past `maxDeliveries` they go to the dead-letter stream with their error
 *   instead (acknowledged, their job failed), also under the idempotency record.
 *
 * Not wired into the Runtime yet (issue 18); tested against a real redis-server.
 * @module
 */
import type { Redis } from 'ioredis';
import type { FlowKeys } from './stream-keys.ts';

/** One entry read from a slot's stream. */
export interface StreamEntry {
  /** The stream it was read from. */
  readonly stream: string;
  readonly id: string;
  readonly jobId: string;
  /** The item, serialised by the caller. */
  readonly data: string;
  /** How many times it was delivered, this delivery included. */
  readonly deliveries: number;
}

/** What a commit did. */
export interface CommitResult {
  /** False when another consumer had already committed this entry (only the ack was done). */
  readonly first: boolean;
  /** The job's in-flight count after it (-1 when not first). */
  readonly inflight: number;
}

const kPostScript = `
redis.call('HSETNX', KEYS[2], 'status', 'running')
redis.call('HINCRBY', KEYS[2], 'inflight', 1)
return redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'data', ARGV[2])
`;

// KEYS: input stream, idempotency record, job hash, job outcomes, then the output streams.
// ARGV: group, entry id, record ttl (ms), job id, then one payload per output stream.
const kCommitScript = `
local first = redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3])
local left = -1
if first then
  local outputs = #KEYS - 4
  for i = 1, outputs do
    redis.call('XADD', KEYS[4 + i], '*', 'job', ARGV[4], 'data', ARGV[4 + i])
  end
  left = redis.call('HINCRBY', KEYS[3], 'inflight', outputs - 1)
  if left == 0 and redis.call('HGET', KEYS[3], 'status') == 'running' then
    redis.call('HSET', KEYS[3], 'status', 'completed')
    redis.call('XADD', KEYS[4], '*', 'job', ARGV[4], 'status', 'completed')
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if first then return {1, left} end
return {0, left}
`;

// KEYS: input stream, idempotency record, job hash, job outcomes, dead letters, last errors.
// ARGV: group, entry id, record ttl (ms), job id, payload, deliveries, error code, error message.
// The error recorded by the last failed handling, when there is one, wins over the given one.
const kDeadScript = `
local first = redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3])
local field = KEYS[1] .. '|' .. ARGV[2]
local recorded = redis.call('HGET', KEYS[6], field)
if recorded then
  local sep = string.find(recorded, '|', 1, true)
  ARGV[7] = string.sub(recorded, 1, sep - 1)
  ARGV[8] = string.sub(recorded, sep + 1)
  redis.call('HDEL', KEYS[6], field)
end
if first then
  redis.call('XADD', KEYS[5], '*', 'stream', KEYS[1], 'entry', ARGV[2], 'job', ARGV[4], 'data', ARGV[5],
    'deliveries', ARGV[6], 'code', ARGV[7], 'message', ARGV[8])
  redis.call('HINCRBY', KEYS[3], 'inflight', -1)
  if redis.call('HGET', KEYS[3], 'status') == 'running' then
    redis.call('HSET', KEYS[3], 'status', 'failed')
    redis.call('XADD', KEYS[4], '*', 'job', ARGV[4], 'status', 'failed', 'code', ARGV[7], 'message', ARGV[8])
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if first then return 1 end
return 0
`;

/** Entries of one stream: `[id, [field, value, …]]`. */
type EntryList = Array<[string, string[]]>;
/** XREADGROUP's reply: `[[stream, entries], …]` over RESP2, `[stream, entries, …]` (a map, flattened) over RESP3. */
type StreamReply = Array<[string, EntryList]> | Array<string | EntryList> | null;

function streamPairs(reply: Array<[string, EntryList]> | Array<string | EntryList>): Array<[string, EntryList]> {
  if (reply.length === 0 || Array.isArray(reply[0])) return reply as Array<[string, EntryList]>;
  const pairs: Array<[string, EntryList]> = [];
  for (let i = 0; i < reply.length; i += 2) pairs.push([reply[i] as string, reply[i + 1] as EntryList]);
  return pairs;
}

interface ScriptedRedis extends Redis {
  sluicePost(stream: string, job: string, jobId: string, data: string): Promise<string>;
  sluiceCommit(...args: Array<string | number>): Promise<[number, number]>;
  sluiceDead(...args: Array<string | number>): Promise<number>;
}

/** Options of {@link StreamLink}. */
export interface StreamLinkOptions {
  /** How long an entry's idempotency record is kept, ms: longer than any redelivery may take. */
  recordTtlMs?: number;
}

/** The primitives, on one client, for one flow's keys. */
export class StreamLink {
  readonly keys: FlowKeys;
  readonly #redis: ScriptedRedis;
  readonly #recordTtlMs: number;

  constructor(redis: Redis, keys: FlowKeys, options: StreamLinkOptions = {}) {
    this.keys = keys;
    this.#recordTtlMs = options.recordTtlMs ?? 24 * 3600 * 1000;
    const scripted = redis as ScriptedRedis;
    if (typeof scripted.sluiceCommit !== 'function') {
      redis.defineCommand('sluicePost', { numberOfKeys: 2, lua: kPostScript });
      redis.defineCommand('sluiceCommit', { lua: kCommitScript });
      redis.defineCommand('sluiceDead', { numberOfKeys: 6, lua: kDeadScript });
    }
    this.#redis = scripted;
  }

  /** Creates `group` on `stream` (and the stream) from its first entry; an existing group is kept. */
  async ensureGroup(stream: string, group: string): Promise<void> {
    try {
      await this.#redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
    }
  }

  /** Posts `data` for job `jobId` into `stream`; returns the entry id. */
  post(stream: string, jobId: string, data: string): Promise<string> {
    return this.#redis.sluicePost(stream, this.keys.job(jobId), jobId, data);
  }

  /**
   * Up to `count` entries for `consumer` of `group` across `streams`: with `pending`, the ones
   * already delivered to it and not acknowledged (what a restarting consumer drains first), with
   * ids above `after` when given, otherwise new ones, waiting up to `blockMs` (0: not at all).
   */
  async read(
    group: string,
    consumer: string,
    streams: readonly string[],
    options: { count: number; blockMs?: number; pending?: boolean; after?: string },
  ): Promise<StreamEntry[]> {
    const ids = streams.map(() => (options.pending === true ? (options.after ?? '0') : '>'));
    const args: Array<string | number> = ['GROUP', group, consumer, 'COUNT', options.count];
    if (options.blockMs !== undefined && options.blockMs > 0 && options.pending !== true) args.push('BLOCK', options.blockMs);
    args.push('STREAMS', ...streams, ...ids);
    const reply = (await this.#redis.call('XREADGROUP', ...args)) as StreamReply;
    const entries: StreamEntry[] = [];
    if (reply === null) return entries;
    for (const [stream, list] of streamPairs(reply)) {
      for (const [id, fields] of list) {
        // A pending entry whose record was trimmed comes back with no fields: nothing to run.
        if (fields === null || fields.length === 0) continue;
        entries.push({ stream, id, jobId: field(fields, 'job'), data: field(fields, 'data'), deliveries: 1 });
      }
    }
    if (options.pending === true && entries.length > 0) return this.#withDeliveries(group, consumer, entries);
    return entries;
  }

  /** The hop: see the module comment. `outputs` are `[stream, payload]` pairs. */
  async commit(group: string, entry: StreamEntry, outputs: ReadonlyArray<readonly [string, string]>): Promise<CommitResult> {
    const keys = [entry.stream, this.keys.done(entry.stream, entry.id), this.keys.job(entry.jobId), this.keys.jobs];
    for (const [stream] of outputs) keys.push(stream);
    const args = [group, entry.id, this.#recordTtlMs, entry.jobId, ...outputs.map(([, payload]) => payload)];
    const [first, inflight] = await this.#redis.sluiceCommit(keys.length, ...keys, ...args);
    return { first: first === 1, inflight };
  }

  /**
   * Entries of `group` on `stream` pending longer than `minIdleMs` (their consumer died or
   * stalled): those delivered `maxDeliveries` times go to the dead-letter stream with the error
   * their last failed handling recorded, else `error` (their jobs fail); the rest are claimed by
   * `consumer` and returned, delivery counts included.
   */
  async claimIdle(
    group: string,
    consumer: string,
    stream: string,
    options: { minIdleMs: number; count: number; maxDeliveries: number; error: { code: string; message: string } },
  ): Promise<{ claimed: StreamEntry[]; dead: number }> {
    const pending = (await this.#redis.call('XPENDING', stream, group, 'IDLE', options.minIdleMs, '-', '+', options.count)) as Array<
      [string, string, number, number]
    >;
    const claimed: StreamEntry[] = [];
    let dead = 0;
    for (const [id, , , deliveries] of pending) {
      if (deliveries >= options.maxDeliveries) {
        const fields = (await this.#redis.xrange(stream, id, id))[0]?.[1] ?? [];
        const jobId = fields.length > 0 ? field(fields, 'job') : '';
        const data = fields.length > 0 ? field(fields, 'data') : '';
        const keys = [stream, this.keys.done(stream, id), this.keys.job(jobId), this.keys.jobs, this.keys.dead, this.keys.errors];
        const moved = await this.#redis.sluiceDead(
          ...keys,
          group,
          id,
          this.#recordTtlMs,
          jobId,
          data,
          deliveries,
          options.error.code,
          options.error.message,
        );
        dead += moved;
        continue;
      }
      // XCLAIM with the idle floor: another consumer that claimed it a moment ago wins.
      const got = (await this.#redis.call('XCLAIM', stream, group, consumer, options.minIdleMs, id)) as Array<[string, string[]]>;
      for (const [claimedId, fields] of got) {
        if (fields === null || fields.length === 0) continue;
        claimed.push({ stream, id: claimedId, jobId: field(fields, 'job'), data: field(fields, 'data'), deliveries: deliveries + 1 });
      }
    }
    return { claimed, dead };
  }

  /**
   * Entries of `stream` that `group` has not finished: not yet delivered (`lag`) plus delivered
   * and not acknowledged (`pending`). What a producer's credit window is measured against.
   */
  async backlog(stream: string, group: string): Promise<{ lag: number; pending: number }> {
    const groups = (await this.#redis.call('XINFO', 'GROUPS', stream)) as Array<Array<string | number | null>>;
    for (const info of groups) {
      const get = (name: string): string | number | null | undefined => {
        for (let i = 0; i < info.length; i += 2) if (info[i] === name) return info[i + 1];
        return undefined;
      };
      if (get('name') !== group) continue;
      const pending = Number(get('pending') ?? 0);
      let lag = get('lag');
      // Redis cannot always tell the lag (entries deleted from the middle): count from the stream's length.
      if (lag === null || lag === undefined) lag = Math.max(0, (await this.#redis.xlen(stream)) - Number(get('entries-read') ?? 0));
      return { lag: Number(lag), pending };
    }
    return { lag: await this.#redis.xlen(stream), pending: 0 };
  }

  /**
   * Remembers why handling `entry` failed, for the dead letter it becomes if it keeps failing
   * (whichever consumer moves it there). The entry stays pending: it is delivered again once idle.
   */
  async recordFailure(entry: StreamEntry, error: { code: string; message: string }): Promise<void> {
    await this.#redis.hset(this.keys.errors, `${entry.stream}|${entry.id}`, `${error.code}|${error.message}`);
  }

  /** A job's in-flight count and status (`running`, `completed`, `failed`), or undefined when unknown. */
  async jobState(jobId: string): Promise<{ inflight: number; status: string } | undefined> {
    const hash = await this.#redis.hgetall(this.keys.job(jobId));
    if (hash.status === undefined) return undefined;
    return { inflight: Number(hash.inflight ?? 0), status: hash.status };
  }

  /** Delivery counts of pending `entries`: one XPENDING over each stream's id range, not one per entry. */
  async #withDeliveries(group: string, consumer: string, entries: StreamEntry[]): Promise<StreamEntry[]> {
    const counts = new Map<string, number>();
    const byStream = new Map<string, StreamEntry[]>();
    for (const entry of entries) {
      const list = byStream.get(entry.stream);
      if (list === undefined) byStream.set(entry.stream, [entry]);
      else list.push(entry);
    }
    for (const [stream, list] of byStream) {
      const first = (list[0] as StreamEntry).id;
      const last = (list.at(-1) as StreamEntry).id;
      const info = (await this.#redis.call('XPENDING', stream, group, first, last, list.length, consumer)) as Array<
        [string, string, number, number]
      >;
      for (const [id, , , deliveries] of info) counts.set(`${stream}|${id}`, deliveries);
    }
    return entries.map((entry) => ({ ...entry, deliveries: counts.get(`${entry.stream}|${entry.id}`) ?? entry.deliveries }));
  }
}

function field(fields: readonly string[], name: string): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] as string;
  return '';
}

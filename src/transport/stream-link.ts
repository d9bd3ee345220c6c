/**
 * The Redis Streams primitives the transport is built from, each one round trip and each atomic
 * inside Redis (a Lua script):
 *
 * - **post**: an item into a slot's stream, the job's in-flight count raised by one (and by one
 *   more, the poster's hold, on its first post of the job; {@link StreamLink.release} gives it back);
 * - **read**: a consumer's new entries (or, after a restart, its own pending ones first);
 * - **commit** (the hop): an activation's outputs added, its input acknowledged and deleted and
 *   the job's in-flight count moved by `outputs - 1`, all only when the acknowledgement removed
 *   the entry from the group's pending list — that is the idempotency record: a second commit of
 *   the same entry (a stalled consumer waking up after another claimed its work) does nothing, so
 *   a hop's effect inside Redis happens exactly once; the job's outcome is added to the flow's
 *   outcome stream when its count reaches zero;
 * - **claim**: entries pending longer than an idle threshold move to a live consumer, their
 *   delivery count kept; past `maxDeliveries` they go to the dead-letter stream with their error
 *   instead (acknowledged, their job failed), under the same record.
 *
 * Streams hold only what their group has not finished (a commit deletes its entry); ended jobs'
 * hashes expire; the outcome and dead-letter streams are capped.
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

// KEYS: stream, job hash. ARGV: job id, payload, the poster's hold field ('' for none).
const kPostScript = `
local add = 1
if ARGV[3] ~= '' and redis.call('HSETNX', KEYS[2], ARGV[3], '1') == 1 then add = 2 end
redis.call('HINCRBY', KEYS[2], 'inflight', add)
return redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'data', ARGV[2])
`;

// KEYS: the batch's record, then per entry its stream and its job hash. ARGV: record ttl (ms), then
// per entry its job id, payload and the poster's hold field ('' for none: the first entry of a job
// to find the field unset adds the hold). The record makes the batch happen once: a batch sent
// again after its reply was lost adds nothing. A job's status is absent while it runs.
const kPostManyScript = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 1, (#KEYS - 1) / 2 do
  local job = KEYS[2 * i + 1]
  local at = (i - 1) * 3 + 1
  local add = 1
  if ARGV[at + 3] ~= '' and redis.call('HSETNX', job, ARGV[at + 3], '1') == 1 then add = 2 end
  redis.call('HINCRBY', job, 'inflight', add)
  redis.call('XADD', KEYS[2 * i], '*', 'job', ARGV[at + 1], 'data', ARGV[at + 2])
end
return (#KEYS - 1) / 2
`;

// Ends a job whose count reached zero (or that failed): status, expiry, one outcome entry; false
// when it had ended already. Completions may be gathered instead (`done`, a list of 'job', id
// pairs) and added as one outcome entry for many jobs by the caller.
const kEndJob = `
local function endJob(jobKey, outcomes, jobId, ttl, limit, status, code, message, done)
  if redis.call('HSETNX', jobKey, 'status', status) == 0 then return end
  redis.call('PEXPIRE', jobKey, ttl)
  if status == 'failed' then
    redis.call('XADD', outcomes, 'MAXLEN', '~', limit, '*', 'status', status, 'job', jobId, 'code', code, 'message', message)
  elseif done then
    done[#done + 1] = 'job'
    done[#done + 1] = jobId
  else
    redis.call('XADD', outcomes, 'MAXLEN', '~', limit, '*', 'status', status, 'job', jobId)
  end
end
`;

// KEYS: input stream, job hash, job outcomes, last errors, then the output streams.
// ARGV: group, entry id, job ttl (ms), outcome limit, job id, then one payload per output stream.
// The acknowledgement is the idempotency record: only the commit that removes the entry from
// the group's pending list (XACK returns 1) has an effect; the entry is then deleted, so a
// stream holds only what its group has not finished.
const kCommitScript = `${kEndJob}
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {0, -1} end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[4], KEYS[1] .. '|' .. ARGV[2])
local outputs = #KEYS - 4
for i = 1, outputs do
  redis.call('XADD', KEYS[4 + i], '*', 'job', ARGV[5], 'data', ARGV[5 + i])
end
local left = redis.call('HINCRBY', KEYS[2], 'inflight', outputs - 1)
if left <= 0 then endJob(KEYS[2], KEYS[3], ARGV[5], ARGV[3], ARGV[4], 'completed') end
return {1, left}
`;

// Many hops in one step, each as kCommitScript. KEYS: job outcomes, last errors, then per hop its
// input stream, its job hash and its output streams. ARGV: group, job ttl (ms), outcome limit, then
// per hop its entry id, job id, 1 when it was delivered before (its failure may be recorded), output
// count and payloads. Returns per hop the job's count after it (-1: already committed, nothing done).
// The acknowledged entries of a stream are deleted with one XDEL, and the jobs that completed share
// one outcome entry.
const kCommitManyScript = `${kEndJob}
local group, ttl, limit = ARGV[1], ARGV[2], ARGV[3]
local k, a = 3, 4
local results, acked, done = {}, {}, {}
while a <= #ARGV do
  local stream, job = KEYS[k], KEYS[k + 1]
  local id, jobId, retried, outputs = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  k, a = k + 2, a + 4
  if redis.call('XACK', stream, group, id) == 0 then
    results[#results + 1] = -1
  else
    local ids = acked[stream]
    if ids == nil then
      ids = {}
      acked[stream] = ids
    end
    ids[#ids + 1] = id
    if retried == '1' then redis.call('HDEL', KEYS[2], stream .. '|' .. id) end
    for i = 0, outputs - 1 do
      redis.call('XADD', KEYS[k + i], '*', 'job', jobId, 'data', ARGV[a + i])
    end
    local left = redis.call('HINCRBY', job, 'inflight', outputs - 1)
    if left <= 0 then endJob(job, KEYS[1], jobId, ttl, limit, 'completed', '', '', done) end
    results[#results + 1] = left
  end
  k, a = k + outputs, a + outputs
end
for stream, ids in pairs(acked) do redis.call('XDEL', stream, unpack(ids)) end
if #done > 0 then redis.call('XADD', KEYS[1], 'MAXLEN', '~', limit, '*', 'status', 'completed', unpack(done)) end
return results
`;

// KEYS: input stream, job hash, job outcomes, dead letters, last errors.
// ARGV: group, entry id, job ttl (ms), outcome limit, job id, payload, deliveries, error code,
// error message, dead-letter limit. The error recorded by the last failed handling, when there is
// one, wins over the given one.
const kDeadScript = `${kEndJob}
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
local field = KEYS[1] .. '|' .. ARGV[2]
local recorded = redis.call('HGET', KEYS[5], field)
if recorded then
  local sep = string.find(recorded, '|', 1, true)
  ARGV[8] = string.sub(recorded, 1, sep - 1)
  ARGV[9] = string.sub(recorded, sep + 1)
  redis.call('HDEL', KEYS[5], field)
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[10], '*', 'stream', KEYS[1], 'entry', ARGV[2], 'job', ARGV[5], 'data', ARGV[6],
  'deliveries', ARGV[7], 'code', ARGV[8], 'message', ARGV[9])
redis.call('HINCRBY', KEYS[2], 'inflight', -1)
endJob(KEYS[2], KEYS[3], ARGV[5], ARGV[3], ARGV[4], 'failed', ARGV[8], ARGV[9])
return 1
`;

// KEYS: job hash, job outcomes. ARGV: job id, job ttl (ms), outcome limit, status the poster
// ends with ('completed': its local work settled; 'failed': it failed), error code, message, the
// poster's hold field. Only a hold that is there is given back: a release sent twice does nothing more.
const kReleaseScript = `${kEndJob}
local had = redis.call('HDEL', KEYS[1], ARGV[7])
local left = 0
if had == 1 then left = redis.call('HINCRBY', KEYS[1], 'inflight', -1) end
if ARGV[4] == 'failed' then
  if redis.call('EXISTS', KEYS[1]) == 1 then endJob(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], 'failed', ARGV[5], ARGV[6]) end
elseif had == 1 and left <= 0 then
  endJob(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], 'completed')
end
return left
`;

// KEYS: stream. ARGV: group, consumer, then entry ids. Resets the idle time of the entries this
// consumer still owns (XCLAIM JUSTID keeps delivery counts); one another consumer claimed is left.
const kTouchScript = `
local touched = 0
for i = 3, #ARGV do
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if info[1] and info[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    touched = touched + 1
  end
end
return touched
`;

/** How long a batch's record stays (longer than any resend of it can take), ms. */
const kBatchRecordTtlMs = 600_000;

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
  sluicePost(stream: string, job: string, jobId: string, data: string, holdField: string): Promise<string>;
  sluiceCommit(...args: Array<string | number>): Promise<[number, number]>;
  sluiceDead(...args: Array<string | number>): Promise<number>;
  sluiceRelease(...args: Array<string | number>): Promise<number>;
  sluicePostMany(...args: Array<string | number>): Promise<number>;
  sluiceTouch(...args: Array<string | number>): Promise<number>;
  sluiceCommitMany(...args: Array<string | number>): Promise<number[]>;
}

/** One entry of {@link StreamLink.postMany}. */
export interface OutgoingEntry {
  readonly stream: string;
  readonly jobId: string;
  readonly data: string;
  /** The poster's hold field ('' for none): the first entry of the job to find it unset adds the poster's hold. */
  readonly holdField: string;
}

/** Options of {@link StreamLink}. */
export interface StreamLinkOptions {
  /** How long an ended job's hash stays readable, ms. @default 3_600_000 */
  jobTtlMs?: number;
  /** Outcome entries kept (approximately) in the flow's outcome stream. @default 100_000 */
  outcomeLimit?: number;
  /** Entries kept (approximately) in the dead-letter stream. @default 10_000 */
  deadLimit?: number;
}

/** An error as Redis keeps it. */
export interface StreamError {
  readonly code: string;
  readonly message: string;
}

/** The primitives, on one client, for one flow's keys. */
export class StreamLink {
  readonly keys: FlowKeys;
  readonly #redis: ScriptedRedis;
  readonly #jobTtlMs: number;
  readonly #outcomeLimit: number;
  readonly #deadLimit: number;

  constructor(redis: Redis, keys: FlowKeys, options: StreamLinkOptions = {}) {
    this.keys = keys;
    this.#jobTtlMs = options.jobTtlMs ?? 3_600_000;
    this.#outcomeLimit = options.outcomeLimit ?? 100_000;
    this.#deadLimit = options.deadLimit ?? 10_000;
    const scripted = redis as ScriptedRedis;
    if (typeof scripted.sluiceRelease !== 'function') {
      redis.defineCommand('sluicePost', { numberOfKeys: 2, lua: kPostScript });
      redis.defineCommand('sluiceCommit', { lua: kCommitScript });
      redis.defineCommand('sluiceDead', { numberOfKeys: 5, lua: kDeadScript });
      redis.defineCommand('sluiceRelease', { numberOfKeys: 2, lua: kReleaseScript });
      redis.defineCommand('sluicePostMany', { lua: kPostManyScript });
      redis.defineCommand('sluiceTouch', { numberOfKeys: 1, lua: kTouchScript });
      redis.defineCommand('sluiceCommitMany', { lua: kCommitManyScript });
    }
    this.#redis = scripted;
  }

  /** The client the link runs on. */
  get redis(): Redis {
    return this.#redis;
  }

  /** Creates `group` on `stream` (and the stream) from its first entry; an existing group is kept. */
  async ensureGroup(stream: string, group: string): Promise<void> {
    try {
      await this.#redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
    }
  }

  /**
   * Posts `data` for job `jobId` into `stream`; returns the entry id. With `holdField`, the job's
   * count also keeps one hold for the poster (once, whichever of its entries comes first), which it
   * gives back with {@link release} once its own local work for the job has settled, so the job
   * cannot complete between two of its posts.
   */
  post(stream: string, jobId: string, data: string, holdField = ''): Promise<string> {
    return this.#redis.sluicePost(stream, this.keys.job(jobId), jobId, data, holdField);
  }

  /**
   * Posts a batch in one atomic step, once: `batchId` (unique to the poster's process and batch)
   * names its record, so the same batch sent again after its reply was lost adds nothing. Returns
   * how many entries were added (0 for a batch already added).
   */
  postMany(batchId: string, entries: readonly OutgoingEntry[]): Promise<number> {
    const args: Array<string | number> = [entries.length * 2 + 1, this.keys.batch(batchId)];
    for (const entry of entries) args.push(entry.stream, this.keys.job(entry.jobId));
    args.push(kBatchRecordTtlMs);
    for (const entry of entries) args.push(entry.jobId, entry.data, entry.holdField);
    return this.#redis.sluicePostMany(...args);
  }

  /**
   * Gives back the poster's hold on `jobId` (see {@link post}): `completed` when its local work
   * settled (the job completes if nothing else is in flight), `failed` (with the error) when the
   * job failed in the poster. Returns the job's count after it.
   */
  release(jobId: string, holdField: string, status: 'completed' | 'failed', error?: StreamError): Promise<number> {
    return this.#redis.sluiceRelease(...this.#releaseArgs(jobId, holdField, status, error));
  }

  /** {@link release} of many holds of one poster, in one round trip (a pipeline). */
  async releaseMany(
    releases: ReadonlyArray<{ readonly jobId: string; readonly status: 'completed' | 'failed'; readonly error?: StreamError | undefined }>,
    holdField: string,
  ): Promise<void> {
    const pipeline = this.#redis.pipeline() as unknown as {
      sluiceRelease(...args: Array<string | number>): void;
      exec(): Promise<Array<[Error | null, unknown]> | null>;
    };
    for (const { jobId, status, error } of releases) pipeline.sluiceRelease(...this.#releaseArgs(jobId, holdField, status, error));
    for (const [error] of (await pipeline.exec()) ?? []) if (error !== null) throw error;
  }

  #releaseArgs(jobId: string, holdField: string, status: 'completed' | 'failed', error: StreamError | undefined): Array<string | number> {
    const { code = '', message = '' } = error ?? {};
    return [this.keys.job(jobId), this.keys.jobs, jobId, this.#jobTtlMs, this.#outcomeLimit, status, code, message, holdField];
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
        // A pending entry whose record was deleted comes back with no fields: nothing to run.
        if (fields === null || fields.length === 0) continue;
        entries.push({ stream, id, jobId: field(fields, 'job'), data: field(fields, 'data'), deliveries: 1 });
      }
    }
    if (options.pending === true && entries.length > 0) return this.#withDeliveries(group, consumer, entries);
    return entries;
  }

  /** The hop: see the module comment. `outputs` are `[stream, payload]` pairs. */
  async commit(group: string, entry: StreamEntry, outputs: ReadonlyArray<readonly [string, string]>): Promise<CommitResult> {
    const keys = [entry.stream, this.keys.job(entry.jobId), this.keys.jobs, this.keys.errors];
    for (const [stream] of outputs) keys.push(stream);
    const args = [group, entry.id, this.#jobTtlMs, this.#outcomeLimit, entry.jobId, ...outputs.map(([, payload]) => payload)];
    const [first, inflight] = await this.#redis.sluiceCommit(keys.length, ...keys, ...args);
    return { first: first === 1, inflight };
  }

  /**
   * Many hops of `group` in one atomic step (one round trip), each exactly as {@link commit}.
   */
  async commitMany(
    group: string,
    hops: ReadonlyArray<{ readonly entry: StreamEntry; readonly outputs: ReadonlyArray<readonly [string, string]> }>,
  ): Promise<CommitResult[]> {
    const keys: string[] = [this.keys.jobs, this.keys.errors];
    const args: Array<string | number> = [group, this.#jobTtlMs, this.#outcomeLimit];
    for (const { entry, outputs } of hops) {
      keys.push(entry.stream, this.keys.job(entry.jobId));
      for (const [stream] of outputs) keys.push(stream);
      args.push(entry.id, entry.jobId, entry.deliveries > 1 ? 1 : 0, outputs.length);
      for (const [, payload] of outputs) args.push(payload);
    }
    const lefts = await this.#redis.sluiceCommitMany(keys.length, ...keys, ...args);
    return lefts.map((left) => ({ first: left !== -1, inflight: left }));
  }

  /**
   * Tells the group that `consumer` is still handling `ids` of `stream` (their idle time starts
   * again, their delivery counts stay), so they are not claimed from a live consumer whose
   * handling takes long; returns how many it still owned.
   */
  touch(group: string, consumer: string, stream: string, ids: readonly string[]): Promise<number> {
    return this.#redis.sluiceTouch(stream, group, consumer, ...ids);
  }

  /**
   * Moves `entry` to the dead-letter stream with `error` (the one its last failed handling
   * recorded wins), acknowledged, its job failed; false when it was already acknowledged.
   */
  async deadLetter(group: string, entry: StreamEntry, error: StreamError): Promise<boolean> {
    const keys = [entry.stream, this.keys.job(entry.jobId), this.keys.jobs, this.keys.dead, this.keys.errors];
    const moved = await this.#redis.sluiceDead(
      ...keys,
      group,
      entry.id,
      this.#jobTtlMs,
      this.#outcomeLimit,
      entry.jobId,
      entry.data,
      entry.deliveries,
      error.code,
      error.message,
      this.#deadLimit,
    );
    return moved === 1;
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
    options: {
      minIdleMs: number;
      count: number;
      maxDeliveries: number;
      error: { code: string; message: string };
      /** Ids to leave where they are (handled by this consumer right now). */
      skip?: ReadonlySet<string>;
    },
  ): Promise<{ claimed: StreamEntry[]; dead: number }> {
    const pending = (await this.#redis.call('XPENDING', stream, group, 'IDLE', options.minIdleMs, '-', '+', options.count)) as Array<
      [string, string, number, number]
    >;
    const claimed: StreamEntry[] = [];
    const toClaim: string[] = [];
    const counts = new Map<string, number>();
    let dead = 0;
    for (const [id, , , deliveries] of pending) {
      if (options.skip?.has(id) === true) continue;
      if (deliveries >= options.maxDeliveries) {
        const fields = (await this.#redis.xrange(stream, id, id))[0]?.[1] ?? [];
        const entry: StreamEntry = {
          stream,
          id,
          jobId: fields.length > 0 ? field(fields, 'job') : '',
          data: fields.length > 0 ? field(fields, 'data') : '',
          deliveries,
        };
        if (await this.deadLetter(group, entry, options.error)) dead++;
        continue;
      }
      toClaim.push(id);
      counts.set(id, deliveries);
    }
    // One XCLAIM for all, with the idle floor: another consumer that claimed one a moment ago keeps it.
    if (toClaim.length > 0) {
      const got = (await this.#redis.call('XCLAIM', stream, group, consumer, options.minIdleMs, ...toClaim)) as Array<[string, string[]]>;
      for (const [claimedId, fields] of got) {
        if (fields === null || fields.length === 0) continue;
        const deliveries = (counts.get(claimedId) ?? 0) + 1;
        claimed.push({ stream, id: claimedId, jobId: field(fields, 'job'), data: field(fields, 'data'), deliveries });
      }
    }
    return { claimed, dead };
  }

  /**
   * Entries of `stream` that `group` has not finished: not yet delivered (`lag`) plus delivered
   * and not acknowledged (`pending`). What a producer's credit window is measured against.
   */
  async backlog(stream: string, group: string): Promise<{ lag: number; pending: number }> {
    // A commit deletes what it acknowledges, so the stream's length is all the group has not finished.
    const [length, summary] = (await this.#redis
      .multi()
      .xlen(stream)
      .call('XPENDING', stream, group)
      .exec()
      .then((replies) => {
        for (const [error] of replies ?? []) if (error !== null && !String(error.message).startsWith('NOGROUP')) throw error;
        return (replies ?? []).map(([, value]) => value);
      })) as [number, [number, ...unknown[]] | undefined];
    const pending = Number(summary?.[0] ?? 0);
    return { lag: Math.max(0, length - pending), pending };
  }

  /**
   * Remembers why handling `entry` failed, for the dead letter it becomes if it keeps failing
   * (whichever consumer moves it there). The entry stays pending: it is delivered again once idle.
   */
  async recordFailure(entry: StreamEntry, error: StreamError): Promise<void> {
    await this.#redis.hset(this.keys.errors, `${entry.stream}|${entry.id}`, `${error.code}|${error.message}`);
  }

  /** A job's in-flight count and status (`running`, `completed`, `failed`), or undefined when unknown. */
  async jobState(jobId: string): Promise<{ inflight: number; status: string } | undefined> {
    const hash = await this.#redis.hgetall(this.keys.job(jobId));
    if (hash.inflight === undefined) return undefined;
    return { inflight: Number(hash.inflight), status: hash.status ?? 'running' };
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

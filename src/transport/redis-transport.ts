/**
 * The Redis Streams transport: `new Runtime({ transport: redis({ url }) })` runs every routine
 * added with `distributed: true` across the processes that run its flow, through one stream per
 * slot and one consumer group per routine (see docs/distributed.md).
 *
 * In each process, per worker of such a flow ({@link RedisBinding}):
 * - items sent to a distributed routine (posts, emits of in-process routines) wait in a bounded
 *   queue shaped like the slot (its size and overflow policy: a full one refuses like a full
 *   slot) and are added to Redis in batches while the routine's credit window allows; the job
 *   keeps a hold in Redis until its local work has settled, and completes when Redis says its
 *   work everywhere has;
 * - a consumer takes entries of the routine's streams; each runs here as a job of its own (the
 *   entry's job id, `@`, the entry), and when that job ends everything it sent onwards is
 *   committed with the entry's acknowledgement in one atomic step; a failed one goes to the
 *   dead-letter stream with its error.
 * @module
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import { ErrorCode, type ErrorCodeValue, SluiceError, describeValue } from '../core/errors.ts';
import { JobContext, kPending, kRemote, kRemoteEnded, type RemoteHold } from '../core/job-context.ts';
import { OfferResult, Slot } from '../core/slot.ts';
import { assertInteger, assertKnownKeys, assertMs, assertObject } from '../core/validate.ts';
import type { HealthReport } from '../resilience/index.ts';
import type { Item } from '../runtime/activation-scope.ts';
import type { RouteTarget } from '../runtime/emit-router.ts';
import { allTerminal, jobList, releaseJobs, retainJobs, type Jobs } from '../runtime/jobs.ts';
import type { RemoteRoute, Transport, TransportBinding, TransportStats, TransportWorker } from '../runtime/transport.ts';
import { CreditWindow } from './credit-window.ts';
import { JobOutcomes } from './job-outcomes.ts';
import { PartitionLeases } from './partition-leases.ts';
import { FlowKeys } from './stream-keys.ts';
import { FailedEntry, StreamConsumer, type StreamOutputs } from './stream-consumer.ts';
import { StreamLink, type OutgoingEntry, type StreamEntry, type StreamError } from './stream-link.ts';

// ioredis is an optional peer: without it, importing sluice/redis says what to install.
const { Redis: RedisClient } = await import('ioredis').catch((error: unknown) => {
  throw new SluiceError(
    ErrorCode.BackendUnavailable,
    'sluice/redis needs the optional peer dependency ioredis, which is not installed: npm install ioredis@6',
    { cause: error },
  );
});

/** Options of {@link redis}. */
export interface RedisTransportOptions {
  /** The server. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Prefix of every key (several deployments may share a server). @default 'sluice' */
  namespace?: string;
  /** This process's name in the consumer groups (unique per process). @default `<host>-<pid>-<random>` */
  consumer?: string;
  /** Take items of distributed routines here (false: a producer that only sends). @default true */
  consume?: boolean;
  /** Entries of one routine handled here at once. @default 64 */
  concurrency?: number;
  /** Entries pending this long with a consumer that stalled or died are claimed by a live one, ms. @default 30_000 */
  claimIdleMs?: number;
  /** Deliveries after which an entry goes to the dead-letter stream. @default 5 */
  maxDeliveries?: number;
  /**
   * Entries of one distributed slot the consuming group may have unfinished before this process
   * stops sending (its credit window): Redis memory is bounded by this, never by the input.
   * @default 10_000
   */
  window?: number;
  /** Partitions of a slot whose routine has a `partitionKey`. @default 16 */
  partitions?: number;
  /** How long a process owns a partition without renewing it, ms. @default 10_000 */
  leaseMs?: number;
  /** How long an ended job's status stays readable in Redis, ms. @default 3_600_000 */
  jobTtlMs?: number;
}

type Resolved = Required<RedisTransportOptions>;

/**
 * A Redis Streams transport for `RuntimeOptions.transport`. Needs the optional peer `ioredis`.
 *
 * @example
 * ```ts
 * import { Runtime } from 'sluice';
 * import { redis } from 'sluice/redis';
 * const runtime = new Runtime({ transport: redis({ url: process.env.REDIS_URL }) });
 * ```
 */
export function redis(options: RedisTransportOptions = {}): RedisTransport {
  return new RedisTransport(options);
}

/** See {@link redis}. */
export class RedisTransport implements Transport {
  readonly name = 'redis';
  /** The options, every default filled in. */
  readonly options: Readonly<Required<RedisTransportOptions>>;
  readonly #redis: Redis;
  readonly #bindings = new Set<RedisBinding>();
  #closed = false;
  /** Counters of bindings that were stopped. */
  readonly #ended = { sent: 0, handled: 0, committed: 0, claimed: 0, deadLettered: 0 };
  #lastError: string | undefined;

  constructor(options: RedisTransportOptions = {}) {
    this.options = resolveOptions(options);
    // Connected when a worker first binds: a transport that is never used holds no socket.
    this.#redis = new RedisClient(this.options.url, { maxRetriesPerRequest: 2, lazyConnect: true });
    // ioredis reconnects by itself; errors while it does are reported by health, not thrown.
    this.#redis.on('error', (error: Error) => {
      this.#lastError = error.message;
    });
  }

  /** The command connection (posts, commits, claims). */
  get client(): Redis {
    return this.#redis;
  }

  /** @internal Called by the runtime for each worker of a flow with distributed routines. */
  bind(worker: TransportWorker): TransportBinding {
    if (this.#closed) throw new SluiceError(ErrorCode.RuntimeClosed, 'The redis transport is closed');
    if (this.#redis.status === 'wait') this.#redis.connect().catch(() => undefined);
    const binding = new RedisBinding(this, worker, () => this.#unbind(binding));
    this.#bindings.add(binding);
    return binding;
  }

  #unbind(binding: RedisBinding): void {
    if (!this.#bindings.delete(binding)) return;
    const s = binding.counters();
    this.#ended.sent += s.sent;
    this.#ended.handled += s.handled;
    this.#ended.committed += s.committed;
    this.#ended.claimed += s.claimed;
    this.#ended.deadLettered += s.deadLettered;
  }

  /**
   * A job's status as Redis knows it, from any process: `running` (with its unfinished count),
   * `completed` or `failed`; undefined when unknown (never posted to a distributed routine, or
   * ended more than `jobTtlMs` ago).
   *
   * @example
   * ```ts
   * const state = await transport.jobStatus('accounts', jobId); // { status: 'running', inflight: 3 }
   * ```
   */
  async jobStatus(flowId: string, jobId: string): Promise<{ status: string; inflight: number } | undefined> {
    if (this.#redis.status === 'wait') await this.#redis.connect();
    const state = await new StreamLink(this.#redis, new FlowKeys(this.options.namespace, flowId)).jobState(jobId);
    return state === undefined ? undefined : { status: state.status, inflight: state.inflight };
  }

  check(): HealthReport {
    const status = this.#redis.status;
    if (status === 'ready') {
      // Keeps the backlog the stats (and the governor) read fresh, once per check.
      for (const binding of this.#bindings) binding.measureBacklog();
      return { status: 'healthy' };
    }
    return {
      status: 'degraded',
      detail:
        `redis at ${redactUrl(this.options.url)} is ${status}${this.#lastError === undefined ? '' : ` (${this.#lastError})`}; ` +
        'items wait here until it is back',
    };
  }

  stats(): TransportStats {
    const total = { ...this.#ended, unsent: 0 };
    const backlog: Record<string, number> = {};
    for (const binding of this.#bindings) {
      const s = binding.counters();
      total.sent += s.sent;
      total.handled += s.handled;
      total.committed += s.committed;
      total.claimed += s.claimed;
      total.deadLettered += s.deadLettered;
      total.unsent += s.unsent;
      Object.assign(backlog, s.backlog);
    }
    return { name: this.name, connected: this.#redis.status === 'ready', ...total, backlog };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#bindings].map((binding) => binding.stop()));
    this.#redis.disconnect();
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function resolveOptions(options: RedisTransportOptions): Resolved {
  assertObject('redis() options', options);
  assertKnownKeys('redis() options', options as Record<string, unknown>, [
    'url',
    'namespace',
    'consumer',
    'consume',
    'concurrency',
    'claimIdleMs',
    'maxDeliveries',
    'window',
    'partitions',
    'leaseMs',
    'jobTtlMs',
  ]);
  const url = options.url ?? 'redis://127.0.0.1:6379';
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected redis() url to be a redis:// or rediss:// URL, got ${describeValue(url)}`, {
      details: { url },
    });
  }
  const resolved: Resolved = {
    url,
    namespace: options.namespace ?? 'sluice',
    consumer: options.consumer ?? `${hostname()}-${process.pid}-${nanoid(6)}`,
    consume: options.consume ?? true,
    concurrency: options.concurrency ?? 64,
    claimIdleMs: options.claimIdleMs ?? 30_000,
    maxDeliveries: options.maxDeliveries ?? 5,
    window: options.window ?? 10_000,
    partitions: options.partitions ?? 16,
    leaseMs: options.leaseMs ?? 10_000,
    jobTtlMs: options.jobTtlMs ?? 3_600_000,
  };
  new FlowKeys(resolved.namespace, 'check'); // braces and spaces in the namespace: a coded error
  if (typeof resolved.consumer !== 'string' || !/^[\w.:-]+$/.test(resolved.consumer)) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected redis() consumer to be a name of letters, digits, '.', ':', '_' or '-', got ${describeValue(resolved.consumer)}`,
      { details: { consumer: resolved.consumer } },
    );
  }
  if (typeof resolved.consume !== 'boolean') {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected redis() consume to be a boolean, got ${describeValue(resolved.consume)}`);
  }
  assertInteger('redis() concurrency', resolved.concurrency, 1, 100_000);
  assertMs('redis() claimIdleMs', resolved.claimIdleMs, 10);
  assertInteger('redis() maxDeliveries', resolved.maxDeliveries, 1, 1_000);
  assertInteger('redis() window', resolved.window, 1);
  assertInteger('redis() partitions', resolved.partitions, 1, 1_024);
  assertMs('redis() leaseMs', resolved.leaseMs, 100);
  assertMs('redis() jobTtlMs', resolved.jobTtlMs, 1_000);
  return resolved;
}

/** JSON, refused with a coded error naming the slot when the value cannot cross processes. */
function encode(data: unknown, where: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (error) {
    throw new SluiceError(
      ErrorCode.NotSerializable,
      `An item for distributed slot ${where} cannot be sent to other processes: ${(error as Error).message}`,
      { details: { slot: where }, cause: error },
    );
  }
  if (text === undefined) {
    throw new SluiceError(
      ErrorCode.NotSerializable,
      `An item for distributed slot ${where} cannot be sent to other processes: ${describeValue(data)} has no JSON form`,
      { details: { slot: where } },
    );
  }
  return text;
}

/** The transport bound to one worker: its routes out, its consumers, its jobs' outcomes. */
export class RedisBinding implements TransportBinding {
  readonly keys: FlowKeys;
  readonly link: StreamLink;
  readonly #transport: RedisTransport;
  readonly #worker: TransportWorker;
  readonly #unbind: () => void;
  readonly #routes = new Map<string, Outbound>();
  /** What jobs this binding runs for entries have sent onwards, committed with the entry. */
  readonly #outboxes = new Map<JobContext, Array<readonly [string, string]>>();
  readonly #consumers: StreamConsumer[] = [];
  readonly #leases: PartitionLeases[] = [];
  #outcomes: JobOutcomes | undefined;
  /** The outcome follower's own connection (it blocks). */
  #outcomesClient: Redis | undefined;
  #outcomesReady: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #releasing = new Set<Promise<void>>();
  readonly consumerName: string;
  /** The job-hash field of this binding's hold on a job. */
  readonly holdField: string;
  readonly #hold: RemoteHold;
  /** Holds to give back in the next round trip. */
  #releases: Array<{ jobId: string; status: 'completed' | 'failed'; error: StreamError | undefined }> = [];
  /** Jobs whose entries carried this binding's hold in Redis (given back when their local work settles). */
  readonly #held = new WeakSet<JobContext>();

  constructor(transport: RedisTransport, worker: TransportWorker, unbind: () => void) {
    this.#transport = transport;
    this.#worker = worker;
    this.#unbind = unbind;
    const o = transport.options;
    this.keys = new FlowKeys(o.namespace, worker.flow.id);
    this.link = new StreamLink(transport.client, this.keys, { jobTtlMs: o.jobTtlMs });
    this.consumerName = `${o.consumer}.${worker.workerId}`;
    this.holdField = `hold|${this.consumerName}`;
    this.#hold = {
      localSettled: (job) => {
        if (this.#held.delete(job)) this.#release(job, 'completed');
      },
      endedHere: (job) => {
        if (job.status !== 'completed') this.#release(job, 'failed');
        this.#held.delete(job);
      },
    };
  }

  route(routineId: string, slot: string): RemoteRoute {
    const key = `${routineId}.${slot}`;
    let route = this.#routes.get(key);
    if (route === undefined) {
      const entry = this.#worker.flow.routines.find((e) => e.id === routineId);
      const spec = entry?.routine.slots.find((s) => s.name === slot);
      if (entry?.distributed === undefined || spec === undefined) {
        throw new SluiceError(ErrorCode.InvalidArgument, `${key} of flow "${this.#worker.flow.id}" is not a slot of a distributed routine`);
      }
      route = new Outbound(this, routineId, new Slot<Jobs>(routineId, spec), entry.distributed.partitionKey);
      this.#routes.set(key, route);
    }
    return route;
  }

  /** The streams of `routineId.slot`: the slot's own, then one per partition when it is partitioned. */
  streamsOf(routineId: string, slot: string, partitioned: boolean): string[] {
    const base = this.keys.slot(routineId, slot);
    if (!partitioned) return [base];
    const out = [base];
    for (let p = 0; p < this.#transport.options.partitions; p++) out.push(`${base}#p${p}`);
    return out;
  }

  /** The stream an item with `key` goes to. */
  streamFor(base: string, key: string | undefined): string {
    if (key === undefined) return base;
    return `${base}#p${partitionOf(key, this.#transport.options.partitions)}`;
  }

  get options(): Readonly<Required<RedisTransportOptions>> {
    return this.#transport.options;
  }

  /** The outbox of the job set when it is one this binding runs for an entry. */
  outboxOf(jobs: Jobs): Array<readonly [string, string]> | undefined {
    if (this.#outboxes.size === 0) return undefined;
    if (jobs instanceof JobContext) return this.#outboxes.get(jobs);
    for (const job of jobs) {
      const box = this.#outboxes.get(job);
      if (box !== undefined) return box;
    }
    return undefined;
  }

  /**
   * Marks `job` as having work elsewhere: it completes when Redis says so, not when its local work
   * settles. Returns the hold field its entry must carry: none when everything the job still has
   * here is the `sending` items about to be added together (then Redis counts them all at once and
   * nothing here can add more), else this binding's hold, added with whichever entry arrives first
   * and given back when the job's local work settles.
   */
  holdFor(job: JobContext, sending: number): string {
    if (job[kRemote] === undefined) {
      job[kRemote] = this.#hold;
      void this.#whenEnded(job);
    }
    if (!this.#held.has(job) && job[kPending] <= sending) return '';
    this.#held.add(job);
    return this.holdField;
  }

  async #whenEnded(job: JobContext): Promise<void> {
    await this.outcomesReady();
    const outcome = await (this.#outcomes as JobOutcomes).wait(job.jobId);
    job[kRemoteEnded](
      outcome.status === 'failed'
        ? new SluiceError(
            (outcome.error?.code ?? ErrorCode.RoutineFailed) as ErrorCodeValue,
            outcome.error?.message ?? 'failed in another process',
            {
              details: { jobId: job.jobId, remote: true },
            },
          )
        : undefined,
    );
  }

  /** Resolves once the outcome stream is followed (before any hold can be released). */
  outcomesReady(): Promise<void> {
    if (this.#outcomesReady === undefined) {
      this.#outcomesClient = this.#transport.client.duplicate();
      this.#outcomesClient.on('error', () => undefined); // its rounds retry; health reports the connection
      this.#outcomes = new JobOutcomes(this.#outcomesClient, this.keys);
      this.#outcomesReady = this.#outcomes.start();
    }
    return this.#outcomesReady;
  }

  /** Gives back this binding's hold on `job` in Redis, with the others of the same turn (one round trip). */
  #release(job: JobContext, status: 'completed' | 'failed'): void {
    const error = job.error === undefined ? undefined : { code: job.error.code, message: job.error.message };
    this.#releases.push({ jobId: job.jobId, status, error });
    if (this.#releases.length === 1) setImmediate(() => this.#flushReleases());
  }

  #flushReleases(): void {
    const releases = this.#releases;
    this.#releases = [];
    const releasing = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.link.releaseMany(releases, this.holdField);
          return;
        } catch {
          // Redis is away: the holds stay until it is back (the jobs wait, nothing is lost); a
          // release sent twice gives back nothing more.
          if (this.#stopping !== undefined && attempt > 50) return;
          await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** Math.min(attempt, 6))));
        }
      }
    })();
    this.#releasing.add(releasing);
    void releasing.finally(() => this.#releasing.delete(releasing));
  }

  start(): void {
    const o = this.#transport.options;
    if (!o.consume) return;
    for (const entry of this.#worker.flow.routines) {
      if (entry.distributed === undefined) continue;
      const partitioned = entry.distributed.partitionKey !== undefined;
      const bases: string[] = [];
      const partitions: string[] = [];
      for (const spec of entry.routine.slots) {
        const [base, ...parts] = this.streamsOf(entry.id, spec.name, partitioned);
        bases.push(base as string);
        partitions.push(...parts);
      }
      const handler = (streamEntry: StreamEntry) => this.#handle(entry.id, streamEntry);
      const common = {
        group: entry.id,
        consumer: this.consumerName,
        count: o.concurrency,
        claimIdleMs: o.claimIdleMs,
        maxDeliveries: o.maxDeliveries,
      };
      const consumer = new StreamConsumer(this.link, { ...common, streams: bases }, handler);
      this.#consumers.push(consumer);
      consumer.start();
      if (partitions.length > 0) {
        // Each partition is owned by one process at a time and handled in order there.
        const leases = new PartitionLeases(this.link, {
          group: entry.id,
          consumer: this.consumerName,
          streams: partitions,
          leaseMs: o.leaseMs,
          count: o.concurrency,
          maxDeliveries: o.maxDeliveries,
          handler,
        });
        this.#leases.push(leases);
        leases.start();
      }
    }
  }

  /** Runs one entry here as a job; its outputs are committed with the entry once it has ended. */
  async #handle(routineId: string, entry: StreamEntry): Promise<StreamOutputs | FailedEntry> {
    const suffix = entry.stream.slice(entry.stream.lastIndexOf(':slot:') + 6);
    const slot = suffix.slice(routineId.length + 1).replace(/#p\d+$/, '');
    let data: unknown;
    try {
      data = JSON.parse(entry.data);
    } catch (error) {
      return new FailedEntry({
        code: ErrorCode.NotSerializable,
        message: `entry ${entry.id} of ${suffix} is not JSON: ${(error as Error).message}`,
      });
    }
    let jobId = `${entry.jobId}@${suffix}:${entry.id}`;
    if (this.#worker.hasJob(jobId)) jobId = `${jobId}~${entry.deliveries}-${nanoid(4)}`;
    const metadata = {
      originJobId: entry.jobId,
      idempotencyKey: `${this.keys.flowId}/${suffix}/${entry.id}`,
      deliveries: entry.deliveries,
    };
    const outbox: Array<readonly [string, string]> = [];
    // Throws when the worker stopped (the runtime closes): the entry stays pending for another process.
    const job = this.#worker.run(routineId, slot, data, jobId, metadata);
    this.#outboxes.set(job, outbox);
    await job.done();
    this.#outboxes.delete(job);
    if (job.status === 'completed') return outbox;
    if (job.status === 'cancelled') {
      // Cancelled here (this worker stopping): another process takes it once it is idle.
      throw job.error ?? new SluiceError(ErrorCode.JobCancelled, `job ${job.jobId} was cancelled`);
    }
    return new FailedEntry({ code: job.error?.code ?? ErrorCode.RoutineFailed, message: job.error?.message ?? 'failed' });
  }

  /** Measures every route's backlog again (errors are left to the next measure). */
  measureBacklog(): void {
    for (const route of this.#routes.values()) route.credit.refresh().catch(() => undefined);
  }

  counters(): {
    sent: number;
    handled: number;
    committed: number;
    claimed: number;
    deadLettered: number;
    unsent: number;
    backlog: Record<string, number>;
  } {
    let sent = 0;
    let unsent = 0;
    const backlog: Record<string, number> = {};
    for (const [key, route] of this.#routes) {
      sent += route.sent;
      unsent += route.slot.length + route.slot.waiting;
      backlog[`${this.keys.flowId}/${key}`] = route.credit.backlog;
    }
    let handled = 0;
    let committed = 0;
    let claimed = 0;
    let deadLettered = 0;
    for (const c of [...this.#consumers.map((x) => x.stats), ...this.#leases.map((x) => x.stats)]) {
      handled += c.handled;
      committed += c.committed;
      claimed += c.claimed;
      deadLettered += c.dead;
    }
    return { sent, handled, committed, claimed, deadLettered, unsent, backlog };
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all([...this.#consumers.map((c) => c.stop()), ...this.#leases.map((l) => l.stop())]);
      await Promise.all([...this.#routes.values()].map((route) => route.flushed()));
      await Promise.all([...this.#releasing]);
      await this.#outcomes?.stop();
      this.#outcomesClient?.disconnect();
      this.#unbind();
    })();
    return this.#stopping;
  }

  /** Stops following outcomes and disconnects its own connections (after `stop`). */
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }
}

/** A stable partition for `key`: FNV-1a. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/** Failed sends in a row after which a stopping binding gives up on what is left (its jobs are cancelled by the close). */
const kGiveUpWhenStopping = 5;

/** A batch on its way to Redis: sent again as it is until it is added. */
interface Batch {
  readonly id: string;
  readonly items: readonly Item[];
  readonly entries: readonly OutgoingEntry[];
  /** Credit taken for it. */
  readonly credits: number;
}

/**
 * Where this process sends one distributed slot's items: a bounded queue shaped like the slot,
 * flushed to Redis in batches while the credit window allows. Items of jobs the binding runs for
 * an entry skip the queue: they are committed with that entry.
 */
class Outbound implements RouteTarget, RemoteRoute {
  readonly slot: Slot<Jobs>;
  get target(): RouteTarget {
    return this;
  }
  readonly credit: CreditWindow;
  sent = 0;
  readonly #binding: RedisBinding;
  readonly #where: string;
  readonly #base: string;
  readonly #streams: string[];
  readonly #partitionKey: ((data: unknown) => string | undefined) | undefined;
  /** Unique to this process and route: a batch's id is this and its number. */
  readonly #batchPrefix = `${nanoid(10)}:`;
  #batches = 0;
  #batch: Batch | undefined;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #checked: { data: unknown; prepared: readonly [string, string] } | undefined;

  constructor(
    binding: RedisBinding,
    routineId: string,
    slot: Slot<Jobs>,
    partitionKey: ((data: unknown) => string | undefined) | undefined,
  ) {
    this.#binding = binding;
    this.slot = slot;
    this.#where = `${routineId}.${slot.spec.name}`;
    this.#partitionKey = partitionKey;
    const streams = binding.streamsOf(routineId, slot.spec.name, partitionKey !== undefined);
    this.#base = streams[0] as string;
    this.#streams = streams;
    const link = binding.link;
    this.credit = new CreditWindow(
      async () => {
        const pipeline = link.redis.pipeline();
        for (const stream of this.#streams) pipeline.xlen(stream);
        let total = 0;
        for (const [error, length] of (await pipeline.exec()) ?? []) {
          if (error !== null) throw error;
          total += Number(length);
        }
        return total;
      },
      { window: binding.options.window, pollMs: 5 },
    );
  }

  check(data: unknown): void {
    this.#checked = { data, prepared: this.#encode(data) };
  }

  /** The item as it waits here: its stream and payload (encoded once when `check` saw it first). */
  #prepare(item: Item): Item {
    const checked = this.#checked;
    this.#checked = undefined;
    const data = checked !== undefined && checked.data === item.data ? checked.prepared : this.#encode(item.data);
    return { data, jobs: item.jobs };
  }

  #encode(data: unknown): readonly [string, string] {
    const payload = encode(data, this.#where);
    const key = this.#partitionKey?.(data);
    if (key !== undefined && typeof key !== 'string') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected the partitionKey of ${this.#where} to return a string or undefined, got ${describeValue(key)}`,
        { details: { slot: this.#where } },
      );
    }
    return [this.#binding.streamFor(this.#base, key), payload];
  }

  offer(slot: Slot<Jobs>, item: Item): OfferResult {
    const outbox = this.#binding.outboxOf(item.jobs);
    const prepared = this.#prepare(item);
    if (outbox !== undefined) {
      outbox.push(prepared.data as readonly [string, string]);
      return OfferResult.Accepted;
    }
    const result = slot.offer(prepared);
    if (result === OfferResult.Accepted || result === OfferResult.Evicted) {
      retainJobs(item.jobs);
      if (result === OfferResult.Evicted) releaseJobs((slot.lastEvicted as Item).jobs);
      this.#kick();
    }
    return result;
  }

  park(slot: Slot<Jobs>, item: Item, admitted: () => void): void {
    const prepared = this.#prepare(item);
    retainJobs(item.jobs);
    slot.wait(prepared, () => {
      admitted();
      this.#kick();
    });
  }

  offerRun(slot: Slot<Jobs>, items: readonly Item[], _job: Jobs, admitted: () => void): number {
    let parked = 0;
    for (const item of items) {
      if (slot.isFull || slot.waiting > 0) {
        this.park(slot, item, admitted);
        parked++;
      } else this.offer(slot, item);
    }
    return parked;
  }

  #kick(): void {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.slot.length > 0 && !this.#binding.stopped) this.#kick();
    });
  }

  /** Resolves once nothing waits here (or, with Redis away, after a few tries: the runtime is closing). */
  async flushed(): Promise<void> {
    while (this.slot.length > 0 && this.#failures < kGiveUpWhenStopping) {
      this.#kick();
      await this.#flushing;
    }
  }

  /** Items at the head whose jobs have all ended (cancelled, failed) are not sent. */
  #dropEnded(): void {
    const slot = this.slot;
    while (slot.length > 0 && allTerminal((slot.peek(0) as Item).jobs)) {
      const [item] = slot.take(1) as [Item];
      slot.counters.discarded++;
      releaseJobs(item.jobs);
    }
  }

  async #flush(): Promise<void> {
    const slot = this.slot;
    while (slot.length > 0 || this.#batch !== undefined) {
      let batch = this.#batch;
      try {
        if (batch === undefined) {
          this.#dropEnded();
          if (slot.length === 0) return;
          const n = Math.min(slot.length, 256);
          let allowed = 0;
          while (allowed < n && this.credit.tryTake()) allowed++;
          if (allowed === 0) {
            await this.credit.take();
            allowed = 1;
          }
          await this.#binding.outcomesReady();
          batch = this.#batch = this.#form(Math.min(allowed, slot.length), allowed);
        }
        // Sent again as it was until it is added: its record in Redis makes it count once.
        if (batch.entries.length > 0) await this.#binding.link.postMany(batch.id, batch.entries);
        this.#batch = undefined;
        this.#failures = 0;
        this.credit.confirm(batch.credits);
        // Only what was sent leaves (an eviction meanwhile shifted the queue).
        const sent = new Set(batch.items);
        while (slot.length > 0 && sent.has(slot.peek(0) as Item)) {
          const [item] = slot.take(1) as [Item];
          releaseJobs(item.jobs);
        }
        this.sent += batch.entries.length;
      } catch {
        // Redis away: the items stay queued (the queue fills and refuses or blocks like the
        // slot); try again with backoff.
        this.#failures++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** Math.min(this.#failures, 6))));
        if (this.#binding.stopped && this.#failures >= kGiveUpWhenStopping) {
          if (this.#batch !== undefined) this.credit.giveBack(this.#batch.credits);
          this.#batch = undefined;
          return;
        }
      }
    }
  }

  /** The next batch: the first `count` items queued, their entries, the credit they took. */
  #form(count: number, credits: number): Batch {
    const items: Item[] = [];
    // How many of the batch's items each job has: a job whose every local hold is one of them needs no hold in Redis.
    const sending = new Map<JobContext, number>();
    for (let i = 0; i < count; i++) {
      const item = this.slot.peek(i) as Item;
      items.push(item);
      for (const job of jobList(item.jobs)) sending.set(job, (sending.get(job) ?? 0) + 1);
    }
    const entries: OutgoingEntry[] = [];
    for (const item of items) {
      const [stream, payload] = item.data as [string, string];
      for (const job of jobList(item.jobs)) {
        if (job.isTerminal) continue;
        entries.push({ stream, jobId: job.jobId, data: payload, holdField: this.#binding.holdFor(job, sending.get(job) ?? 1) });
      }
    }
    return { id: `${this.#batchPrefix}${++this.#batches}`, items, entries, credits };
  }
}

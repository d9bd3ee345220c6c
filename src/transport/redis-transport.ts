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
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertInteger, assertKnownKeys, assertMs, assertObject } from '../core/validate.ts';
import type { HealthReport } from '../resilience/index.ts';
import type { Transport, TransportBinding, TransportStats, TransportWorker } from '../runtime/transport.ts';
import { RedisBinding } from './redis-binding.ts';
import { FlowKeys } from './stream-keys.ts';
import { StreamLink } from './stream-link.ts';

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
  /**
   * Entries of one routine handled here at once (read once half of them are free; those whose
   * handling is done wait for their commit without taking a place, up to as many again). @default 64
   */
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

/**
 * Ordered partitions of a distributed routine: items with a partition key go to one of the
 * slot's partition streams, and each partition is owned by one process at a time (a lease in
 * Redis, renewed every third of `leaseMs`), which handles its entries one after another — so
 * items with the same key are handled in the order they were sent.
 *
 * Every live process of the group takes its fair share (partitions ÷ live processes, rounded up;
 * processes say they are alive in a sorted set) and gives back what is over it. A process that
 * takes a partition first adopts the entries its previous owner had in hand. A process that
 * stalls past its lease (SIGSTOP, a long pause) notices on waking — its lease's local deadline
 * has passed — and handles nothing more of that partition until it owns it again.
 * @module
 */
import { type FailedEntry, StreamConsumer, type StreamConsumerStats, type StreamOutputs } from './stream-consumer.ts';
import type { StreamEntry, StreamLink } from './stream-link.ts';

/** Options of {@link PartitionLeases}. */
export interface PartitionLeasesOptions {
  readonly group: string;
  readonly consumer: string;
  /** The partition streams of the routine's slots. */
  readonly streams: readonly string[];
  readonly leaseMs: number;
  readonly count: number;
  readonly maxDeliveries: number;
  readonly handler: (entry: StreamEntry) => Promise<StreamOutputs | FailedEntry>;
}

// KEYS: lease. ARGV: owner, lease ms. Renews a lease this owner holds; 0 when it holds it no more.
const kRenew = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
// KEYS: lease. ARGV: owner. Gives a lease back if this owner holds it.
const kGiveBack = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Leases and handles the partitions one process owns. */
export class PartitionLeases {
  readonly #link: StreamLink;
  readonly #options: PartitionLeasesOptions;
  readonly #consumer: StreamConsumer;
  /** Owned partitions and until when (local monotonic ms) the lease surely holds. */
  readonly #owned = new Map<string, number>();
  /** Owned partitions being handed over: not read any more, given back once nothing of them is in hand. */
  readonly #leaving = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** Who waits for the end of the next round. */
  #roundWaiters: Array<() => void> = [];
  #tick: Promise<void> | undefined;
  #stopped = false;
  /** Rounds that failed on Redis. */
  errors = 0;

  constructor(link: StreamLink, options: PartitionLeasesOptions) {
    this.#link = link;
    this.#options = options;
    this.#consumer = new StreamConsumer(
      link,
      {
        group: options.group,
        consumer: options.consumer,
        streams: [],
        count: options.count,
        // Own entries that failed are retried by this owner; another's come by adoption.
        claimIdleMs: options.leaseMs,
        maxDeliveries: options.maxDeliveries,
        ordered: () => true,
        mayHandle: (stream) => this.#holds(stream),
      },
      options.handler,
    );
  }

  get stats(): StreamConsumerStats {
    return this.#consumer.stats;
  }

  /** Partitions owned now. */
  get owned(): string[] {
    return [...this.#owned.keys()];
  }

  start(): void {
    this.#consumer.start();
    const every = Math.max(20, Math.floor(this.#options.leaseMs / 3));
    const run = (): void => {
      this.#tick = this.#round()
        .catch(() => {
          this.errors++;
        })
        .finally(() => {
          const waiters = this.#roundWaiters;
          this.#roundWaiters = [];
          for (const resolve of waiters) resolve();
          if (!this.#stopped) this.#timer = setTimeout(run, every);
        });
    };
    run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
    // Nothing renews any more: what waits for a renewal is left to the next owner.
    const waiters = this.#roundWaiters;
    this.#roundWaiters = [];
    for (const resolve of waiters) resolve();
    await this.#consumer.stop();
    // Handing over at once rather than after the lease runs out.
    const redis = this.#link.redis;
    await Promise.all(
      [...this.#owned.keys()].map((stream) => redis.eval(kGiveBack, 1, this.#lease(stream), this.#options.consumer).catch(() => 0)),
    );
    this.#owned.clear();
  }

  #lease(stream: string): string {
    return `${stream}:lease:${this.#options.group}`;
  }

  /**
   * True while the lease surely holds; past its local deadline (a slow round, a stall) the answer
   * waits for the next round's renewal: handled here if renewed, left to the new owner if not.
   */
  #holds(stream: string): boolean | Promise<boolean> {
    const until = this.#owned.get(stream);
    if (until === undefined || this.#stopped) return false;
    if (performance.now() < until) return true;
    return new Promise<void>((resolve) => this.#roundWaiters.push(resolve)).then(() => this.#holds(stream));
  }

  async #round(): Promise<void> {
    const { leaseMs, consumer, streams, group } = this.#options;
    const redis = this.#link.redis;
    const members = `${this.#link.keys.flowPrefix}:members:${group}`;
    const now = Date.now();
    const replies =
      (await redis
        .multi()
        .zadd(members, now, consumer)
        .zremrangebyscore(members, 0, now - leaseMs)
        .zcard(members)
        .exec()) ?? [];
    for (const [error] of replies) if (error !== null) throw error;
    const live = Number(replies[2]?.[1] ?? 1);
    const share = Math.ceil(streams.length / Math.max(1, live));
    const started = performance.now();
    // Renew what is held; what was lost (expired while stalled, taken by another) goes.
    for (const stream of [...this.#owned.keys()]) {
      const renewed = (await redis.eval(kRenew, 1, this.#lease(stream), consumer, leaseMs)) as number;
      if (renewed === 1) this.#owned.set(stream, started + leaseMs * 0.9);
      else {
        this.#owned.delete(stream);
        this.#leaving.delete(stream);
      }
    }
    // Over the fair share (a process joined): stop reading the last ones, and give each back once
    // what was taken of it is handled (its new owner then has nothing to adopt).
    for (const stream of [...this.#owned.keys()].filter((s) => !this.#leaving.has(s)).slice(share)) this.#leaving.add(stream);
    for (const stream of this.#leaving) {
      if (this.#owned.has(stream) && this.#consumer.inHandOf(stream) > 0) continue;
      this.#leaving.delete(stream);
      if (!this.#owned.delete(stream)) continue;
      await redis.eval(kGiveBack, 1, this.#lease(stream), consumer);
    }
    // Under it: take free partitions, starting at a place of our own so processes spread out.
    if (this.#owned.size - this.#leaving.size < share && !this.#stopped) {
      const offset = hash(consumer) % streams.length;
      for (let i = 0; i < streams.length && this.#owned.size - this.#leaving.size < share; i++) {
        const stream = streams[(offset + i) % streams.length] as string;
        if (this.#owned.has(stream)) continue;
        const taken = await redis.set(this.#lease(stream), consumer, 'PX', leaseMs, 'NX');
        if (taken !== 'OK') continue;
        this.#owned.set(stream, started + leaseMs * 0.9);
        await this.#consumer.adopt(stream);
      }
    }
    await this.#consumer.setStreams([...this.#owned.keys()].filter((stream) => !this.#leaving.has(stream)));
  }
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

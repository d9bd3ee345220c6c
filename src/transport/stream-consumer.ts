/**
 * One consumer of a routine's group: drains its own pending entries first (what it held when it
 * last stopped or died), then reads new ones, blocking briefly when there are none; every
 * `claimEveryMs` it claims entries other consumers left idle past `claimIdleMs`, and those
 * delivered `maxDeliveries` times go to the dead-letter stream instead. Up to `count` entries
 * are handled at once (entries of an `ordered` stream one after another, in order). Each entry
 * goes to the handler, whose outputs are committed with the entry's acknowledgement in one atomic
 * step (`StreamLink.commit`); a handler that throws leaves the entry pending (delivered again once
 * idle) and records its error for the dead letter it may become; one that returns a
 * {@link FailedEntry} sends it to the dead-letter stream at once (a failure retrying cannot mend).
 *
 * Blocking reads run on a connection of their own (a duplicate of the link's).
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import type { Redis } from 'ioredis';
import { type CommitResult, StreamLink, type StreamEntry, type StreamError } from './stream-link.ts';

/** What the handler returns: `[stream, payload]` pairs to add with the entry's acknowledgement. */
export type StreamOutputs = ReadonlyArray<readonly [string, string]>;

/** Options of {@link StreamConsumer}. */
export interface StreamConsumerOptions {
  readonly group: string;
  /** This consumer's name in the group (unique per runtime process). */
  readonly consumer: string;
  /** The streams of the routine's slots. */
  readonly streams: readonly string[];
  /**
   * Entries handled at once (and read at most at once). Entries whose handling is done wait for
   * their commit without taking a place: up to as many again may be waiting so.
   * @default 64
   */
  readonly count?: number;
  /** How long a read waits for new entries, ms. @default 100 */
  readonly blockMs?: number;
  /** Entries idle this long are claimed from their consumer, ms. @default 30_000 */
  readonly claimIdleMs?: number;
  /** How often to look for idle entries, ms. @default claimIdleMs / 2 */
  readonly claimEveryMs?: number;
  /** Deliveries after which an entry is dead-lettered. @default 5 */
  readonly maxDeliveries?: number;
  /** Streams whose entries are handled one after another, in order (partitions). @default none */
  readonly ordered?: (stream: string) => boolean;
  /**
   * Whether an entry of `stream` may still be handled here, asked just before (a partition whose
   * lease this process lost is left to its new owner; a promise while that is being found out).
   * @default always
   */
  readonly mayHandle?: (stream: string) => boolean | Promise<boolean>;
}

/** What a handler returns for an entry that must go to the dead-letter stream now. */
export class FailedEntry {
  constructor(readonly error: StreamError) {}
}

/** Hops committed together (one script, one round trip); `done` has each hop's result at its index. */
interface CommitBatch {
  readonly hops: Array<{ readonly entry: StreamEntry; readonly outputs: StreamOutputs }>;
  readonly done: Promise<CommitResult[]>;
}

/** Hops in one commit at most. */
const kCommitBatch = 256;

/** An entry read and not yet committed. */
class InHand {
  /** Its handling has finished (only the commit is left). */
  handled = false;
  constructor(
    readonly entry: StreamEntry,
    readonly key: string,
  ) {}
}

/** Counters of a consumer. */
export interface StreamConsumerStats {
  handled: number;
  committed: number;
  /** Commits that found the entry already committed by another consumer (nothing done). */
  duplicates: number;
  /** Handlings that threw (the entry stays pending) or returned a {@link FailedEntry}. */
  failed: number;
  claimed: number;
  dead: number;
  /** Rounds that failed on Redis itself (connection lost, server restarting); each is retried. */
  errors: number;
}

/** Reads, handles and commits one group's entries until stopped. */
export class StreamConsumer {
  readonly stats: StreamConsumerStats = { handled: 0, committed: 0, duplicates: 0, failed: 0, claimed: 0, dead: 0, errors: 0 };
  /** The last Redis error a round met (undefined once a round succeeds again). */
  lastError: unknown;
  readonly #link: StreamLink;
  #reader: StreamLink | undefined;
  #options: Required<StreamConsumerOptions>;
  readonly #handler: (entry: StreamEntry) => Promise<StreamOutputs | FailedEntry>;
  #running: Promise<void> | undefined;
  #stopping = false;
  #lastClaim = 0;
  #lastTouch = 0;
  /** Entries read and not yet committed (or given up), by `<stream>|<id>`, and who waits for one to finish. */
  #inHand = new Map<string, InHand>();
  /** Of those, entries whose handling has not finished yet (what `count` bounds). */
  #busy = 0;
  #freed: (() => void) | undefined;
  /** Times the reading connection dropped. */
  #readerDrops = 0;
  /** Hops waiting to be committed together. */
  #batch: CommitBatch | undefined;
  /** The tail of each ordered stream's chain. */
  readonly #chains = new Map<string, Promise<void>>();

  constructor(link: StreamLink, options: StreamConsumerOptions, handler: (entry: StreamEntry) => Promise<StreamOutputs | FailedEntry>) {
    const claimIdleMs = options.claimIdleMs ?? 30_000;
    this.#link = link;
    this.#options = {
      count: 64,
      blockMs: 100,
      maxDeliveries: 5,
      claimEveryMs: Math.max(1, Math.floor(claimIdleMs / 2)),
      ordered: () => false,
      mayHandle: () => true,
      ...options,
      claimIdleMs,
    };
    this.#handler = handler;
  }

  /** Reads `streams` from the next round on (groups are created for new ones first). */
  async setStreams(streams: readonly string[]): Promise<void> {
    for (const stream of streams) if (!this.#options.streams.includes(stream)) await this.#link.ensureGroup(stream, this.#options.group);
    this.#options = { ...this.#options, streams: [...streams] };
  }

  /**
   * Takes over every entry of `stream` pending with any consumer of the group (its previous
   * owner's, for a partition whose lease moved here) and handles them first, in order; those
   * delivered `maxDeliveries` times go to the dead-letter stream.
   */
  async adopt(stream: string): Promise<void> {
    await this.#link.ensureGroup(stream, this.#options.group);
    // A partition's pending entries are few: what its consumers had in hand (`count` each at most).
    await this.#claimFrom(stream, 0, Math.max(1_000, this.#options.count * 16));
  }

  /**
   * Claims up to `count` entries of `stream` idle at least `minIdleMs` (not those in hand here)
   * and handles them; those delivered `maxDeliveries` times go to the dead-letter stream.
   */
  async #claimFrom(stream: string, minIdleMs: number, count: number): Promise<void> {
    const { group, consumer, maxDeliveries } = this.#options;
    const { claimed, dead } = await this.#link.claimIdle(group, consumer, stream, {
      minIdleMs,
      count,
      maxDeliveries,
      error: { code: 'SLUICE_ERR_WORKER_CRASHED', message: `delivered ${maxDeliveries} times without being acknowledged` },
      skip: this.#inHandOf(stream),
    });
    this.stats.dead += dead;
    this.stats.claimed += claimed.length;
    this.#dispatch(claimed);
  }

  #inHandOf(stream: string): Set<string> {
    const ids = new Set<string>();
    for (const { entry } of this.#inHand.values()) if (entry.stream === stream) ids.add(entry.id);
    return ids;
  }

  /** Entries read and not yet committed. */
  get inHand(): number {
    return this.#inHand.size;
  }

  /** Starts the loop (groups created first). Idempotent. */
  start(): void {
    this.#running ??= this.#loop();
  }

  /**
   * Stops reading; resolves when the loop has ended and the entries in hand are handled (an
   * entry whose handling never ends is left pending, for another consumer to claim).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#freed?.();
    await this.#running;
    this.#reader?.redis.disconnect();
  }

  async #loop(): Promise<void> {
    let drained = false;
    let failures = 0;
    while (!this.#stopping) {
      const { group, consumer, streams, count, blockMs } = this.#options;
      try {
        if (!drained) {
          await this.#drainOwn();
          drained = true;
        }
        if (Date.now() - this.#lastTouch >= this.#options.claimIdleMs / 3) await this.#touch();
        if (Date.now() - this.#lastClaim >= this.#options.claimEveryMs) await this.#claim();
        // Read again once half the window is free: a slow entry does not hold the others back,
        // and the next entries are handled while the last ones' commit is on its way.
        const room = this.#room();
        if (room < count / 2) {
          await this.#freedOrTouchDue(() => this.#room() >= count / 2);
          continue;
        }
        if (streams.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, blockMs));
          continue;
        }
        if (this.#reader === undefined) {
          const client = this.#link.redis.duplicate() as Redis;
          client.on('error', () => undefined); // reported by the rounds that fail, and by health
          client.on('close', () => this.#readerDrops++);
          this.#reader = new StreamLink(client, this.#link.keys);
        }
        const drops = this.#readerDrops;
        const entries = await this.#reader.read(group, consumer, streams, { count: room, blockMs });
        if (this.#readerDrops !== drops) {
          // The connection dropped during the read and the client sent it again: Redis may have
          // delivered entries to the first one whose reply was lost (this consumer's pending ones
          // now), older than what came back. All of them come in order from the pending list.
          drained = false;
          continue;
        }
        this.#dispatch(entries);
        failures = 0;
        this.lastError = undefined;
      } catch (error) {
        // Redis went away (or restarts): nothing acknowledged is lost; what was in hand stays
        // pending and is read again. Back off and try again until it returns.
        this.stats.errors++;
        this.lastError = error;
        failures++;
        drained = false;
        if (!this.#stopping) await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** Math.min(failures, 6))));
      }
    }
    await this.#settled();
  }

  /** Entries the next read may take: places free in the window, and in hand at most twice the window. */
  #room(): number {
    const { count } = this.#options;
    return Math.min(count - this.#busy, 2 * count - this.#inHand.size);
  }

  /**
   * Resolves once `enough` holds after an entry was handled or committed (not at each one), when
   * stopping, or when what is in hand is due to be kept fresh.
   */
  async #freedOrTouchDue(enough: () => boolean): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#freed = undefined;
        resolve();
      }, this.#options.claimIdleMs / 3);
      this.#freed = () => {
        if (!this.#stopping && !enough()) return;
        this.#freed = undefined;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves once nothing is in hand (keeping what is in hand fresh meanwhile). */
  async #settled(): Promise<void> {
    while (this.#inHand.size > 0) {
      await this.#freedOrTouchDue(() => this.#inHand.size === 0);
      if (this.#inHand.size > 0 && Date.now() - this.#lastTouch >= this.#options.claimIdleMs / 3)
        await this.#touch().catch(() => undefined);
    }
  }

  /** What this consumer held when it last went away comes first (groups created on the way). */
  async #drainOwn(): Promise<void> {
    const { group, consumer, streams, count } = this.#options;
    for (const stream of streams) await this.#link.ensureGroup(stream, group);
    // Entries still in hand from before a Redis error are handled already; wait for them first.
    await this.#settled();
    for (const stream of streams) {
      // A cursor, not "from the start" each time: an entry whose handling fails stays pending.
      let after = '0';
      for (;;) {
        const pending = await this.#link.read(group, consumer, [stream], { count, pending: true, after });
        if (pending.length === 0 || this.#stopping) break;
        this.#dispatch(pending);
        await this.#settled();
        after = (pending.at(-1) as StreamEntry).id;
      }
    }
  }

  /** Keeps what this consumer has in hand from looking idle to the others' claims. */
  async #touch(): Promise<void> {
    this.#lastTouch = Date.now();
    const { group, consumer } = this.#options;
    const byStream = new Map<string, string[]>();
    for (const { entry } of this.#inHand.values()) {
      const ids = byStream.get(entry.stream);
      if (ids === undefined) byStream.set(entry.stream, [entry.id]);
      else ids.push(entry.id);
    }
    for (const [stream, ids] of byStream) await this.#link.touch(group, consumer, stream, ids);
  }

  async #claim(): Promise<void> {
    this.#lastClaim = Date.now();
    const { streams, count, claimIdleMs } = this.#options;
    for (const stream of streams) await this.#claimFrom(stream, claimIdleMs, count);
  }

  /** Entries of `stream` in hand now (the ordered chain of a partition included). */
  inHandOf(stream: string): number {
    return this.#inHandOf(stream).size;
  }

  #dispatch(entries: readonly StreamEntry[]): void {
    const ordered = this.#options.ordered;
    for (const entry of entries) {
      const key = `${entry.stream}|${entry.id}`;
      // Claimed back while its first handling still runs here: that one commits.
      if (this.#inHand.has(key)) continue;
      const hand = new InHand(entry, key);
      this.#inHand.set(key, hand);
      this.#busy++;
      if (ordered(entry.stream)) {
        // In order: the next entry of the stream starts once this one is committed.
        const chain = (this.#chains.get(entry.stream) ?? Promise.resolve()).then(() => this.#handle(hand));
        this.#chains.set(entry.stream, chain);
        void chain.finally(() => {
          if (this.#chains.get(entry.stream) === chain) this.#chains.delete(entry.stream);
        });
      } else void this.#handle(hand);
    }
  }

  /** `hand`'s handling has finished: its place in the window is free (its commit may still be on its way). */
  #handled(hand: InHand): void {
    if (hand.handled) return;
    hand.handled = true;
    this.#busy--;
    this.#freed?.();
  }

  /** `hand` is committed or given up. */
  #release(hand: InHand): void {
    if (!hand.handled) {
      hand.handled = true;
      this.#busy--;
    }
    this.#inHand.delete(hand.key);
    this.#freed?.();
  }

  /**
   * The batch the next hop joins: hops that finished in the same turn of the event loop are
   * committed together, one script and one round trip for all (each hop still all or nothing).
   */
  #commitBatch(): CommitBatch {
    const open = this.#batch;
    if (open !== undefined && open.hops.length < kCommitBatch) return open;
    const hops: CommitBatch['hops'] = [];
    const batch: CommitBatch = {
      hops,
      done: new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.#batch === batch) this.#batch = undefined;
        return this.#link.commitMany(this.#options.group, hops);
      }),
    };
    // Its failure is each hop's (they stay pending); nobody else waits on it.
    batch.done.catch(() => undefined);
    this.#batch = batch;
    return batch;
  }

  /** Handles and commits one entry; never rejects (a Redis error leaves the entry pending). */
  async #handle(hand: InHand): Promise<void> {
    const { entry } = hand;
    try {
      // A partition that moved away meanwhile: its new owner adopts the entry.
      const may = this.#options.mayHandle(entry.stream);
      if (may === false || (may !== true && !(await may))) return;
      this.stats.handled++;
      let outputs: StreamOutputs | FailedEntry;
      try {
        outputs = await this.#handler(entry);
        this.#handled(hand);
      } catch (error) {
        this.stats.failed++;
        const code = error instanceof SluiceError ? error.code : 'SLUICE_ERR_ROUTINE_FAILED';
        await this.#link.recordFailure(entry, { code, message: error instanceof Error ? error.message : String(error) }).catch(() => {});
        return;
      }
      try {
        if (outputs instanceof FailedEntry) {
          this.stats.failed++;
          if (await this.#link.deadLetter(this.#options.group, entry, outputs.error)) this.stats.dead++;
          return;
        }
        const batch = this.#commitBatch();
        const at = batch.hops.push({ entry, outputs }) - 1;
        const result = (await batch.done)[at] as CommitResult;
        if (result.first) this.stats.committed++;
        else this.stats.duplicates++;
      } catch (error) {
        // Not committed: the entry stays pending, and is handled again (by this consumer after it
        // reconnects, or by another after the claim idle time).
        this.stats.errors++;
        this.lastError = error;
      }
    } finally {
      this.#release(hand);
    }
  }
}

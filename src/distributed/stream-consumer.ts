/**
 * One consumer of a routine's group: drains its own pending entries first (what it held when it
 * last stopped or died), then reads new ones, blocking briefly when there are none; every
 * `claimEveryMs` it claims entries other consumers left idle past `claimIdleMs`, and those
 * delivered `maxDeliveries` times go to the dead-letter stream instead. Each entry goes to the
 * handler, whose outputs are committed with the entry's acknowledgement in one atomic step
 * (`StreamLink.commit`); a handler that throws leaves the entry pending (delivered again once
 * idle) and records its error for the dead letter it may become.
 *
 * Give it a connection of its own: a blocking read holds the connection it runs on.
 * @module
 */
import { SluiceError } from '../core/errors.ts';
import type { StreamEntry, StreamLink } from './stream-link.ts';

/** What the handler returns: `[stream, payload]` pairs to add with the entry's acknowledgement. */
export type StreamOutputs = ReadonlyArray<readonly [string, string]>;

/** Options of {@link StreamConsumer}. */
export interface StreamConsumerOptions {
  readonly group: string;
  /** This consumer's name in the group (unique per runtime process). */
  readonly consumer: string;
  /** The streams of the routine's slots. */
  readonly streams: readonly string[];
  /** Entries read at once. @default 64 */
  readonly count?: number;
  /** How long a read waits for new entries, ms. @default 100 */
  readonly blockMs?: number;
  /** Entries idle this long are claimed from their consumer, ms. @default 30_000 */
  readonly claimIdleMs?: number;
  /** How often to look for idle entries, ms. @default claimIdleMs / 2 */
  readonly claimEveryMs?: number;
  /** Deliveries after which an entry is dead-lettered. @default 5 */
  readonly maxDeliveries?: number;
}

/** Counters of a consumer. */
export interface StreamConsumerStats {
  handled: number;
  committed: number;
  /** Commits that found the entry already committed by another consumer (only acknowledged). */
  duplicates: number;
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
  readonly #options: Required<StreamConsumerOptions>;
  readonly #handler: (entry: StreamEntry) => Promise<StreamOutputs>;
  #running: Promise<void> | undefined;
  #stopping = false;
  #lastClaim = 0;

  constructor(link: StreamLink, options: StreamConsumerOptions, handler: (entry: StreamEntry) => Promise<StreamOutputs>) {
    const claimIdleMs = options.claimIdleMs ?? 30_000;
    this.#link = link;
    this.#options = {
      count: 64,
      blockMs: 100,
      maxDeliveries: 5,
      claimEveryMs: Math.max(1, Math.floor(claimIdleMs / 2)),
      ...options,
      claimIdleMs,
    };
    this.#handler = handler;
  }

  /** Starts the loop (groups created first). Idempotent. */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops after the batch in hand is handled; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running;
  }

  async #loop(): Promise<void> {
    let drained = false;
    let failures = 0;
    while (!this.#stopping) {
      try {
        if (!drained) {
          await this.#drainOwn();
          drained = true;
        }
        if (Date.now() - this.#lastClaim >= this.#options.claimEveryMs) await this.#claim();
        const { group, consumer, streams, count, blockMs } = this.#options;
        await this.#handleAll(await this.#link.read(group, consumer, streams, { count, blockMs }));
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
  }

  /** What this consumer held when it last went away comes first (groups created on the way). */
  async #drainOwn(): Promise<void> {
    const { group, consumer, streams, count } = this.#options;
    for (const stream of streams) await this.#link.ensureGroup(stream, group);
    for (const stream of streams) {
      // A cursor, not "from the start" each time: an entry whose handling fails stays pending.
      let after = '0';
      for (;;) {
        const pending = await this.#link.read(group, consumer, [stream], { count, pending: true, after });
        if (pending.length === 0 || this.#stopping) break;
        await this.#handleAll(pending);
        after = (pending.at(-1) as StreamEntry).id;
      }
    }
  }

  async #claim(): Promise<void> {
    this.#lastClaim = Date.now();
    const { group, consumer, streams, count, claimIdleMs, maxDeliveries } = this.#options;
    for (const stream of streams) {
      const { claimed, dead } = await this.#link.claimIdle(group, consumer, stream, {
        minIdleMs: claimIdleMs,
        count,
        maxDeliveries,
        error: { code: 'SLUICE_ERR_WORKER_CRASHED', message: `delivered ${maxDeliveries} times without being acknowledged` },
      });
      this.stats.dead += dead;
      this.stats.claimed += claimed.length;
      await this.#handleAll(claimed);
    }
  }

  async #handleAll(entries: readonly StreamEntry[]): Promise<void> {
    for (const entry of entries) {
      this.stats.handled++;
      let outputs: StreamOutputs;
      try {
        outputs = await this.#handler(entry);
      } catch (error) {
        this.stats.failed++;
        const code = error instanceof SluiceError ? error.code : 'SLUICE_ERR_ROUTINE_FAILED';
        await this.#link.recordFailure(entry, { code, message: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const result = await this.#link.commit(this.#options.group, entry, outputs);
      if (result.first) this.stats.committed++;
      else this.stats.duplicates++;
    }
  }
}

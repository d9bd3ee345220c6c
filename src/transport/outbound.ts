/**
 * Where a process sends one distributed slot's items ({@link Outbound}): a bounded queue shaped
 * like the slot, flushed to Redis in batches while the credit window allows; items of jobs the
 * binding runs for an entry skip it and are committed with that entry.
 * @module
 */
import { nanoid } from 'nanoid';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import type { JobContext } from '../core/job-context.ts';
import { OfferResult, type Slot } from '../core/slot.ts';
import type { Item } from '../runtime/activation-scope.ts';
import type { RouteTarget } from '../runtime/emit-router.ts';
import { allTerminal, jobList, releaseJobs, retainJobs, type Jobs } from '../runtime/jobs.ts';
import type { RemoteRoute } from '../runtime/transport.ts';
import { CreditWindow } from './credit-window.ts';
import type { RedisBinding } from './redis-binding.ts';
import type { OutgoingEntry } from './stream-link.ts';

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
export class Outbound implements RouteTarget, RemoteRoute {
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

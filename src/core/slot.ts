/**
 * A slot: a bounded input queue of one routine, owned by one worker. The routine declares the
 * slot's shape ({@link SlotSpec}); each worker gets its own {@link Slot} instance, so the data of
 * two workers never mixes. What happens at the bound is explicit ({@link OverflowPolicy}) and
 * counted.
 */
import { RingQueue, type SlotQueue } from './slot-queue.ts';
import { assertInteger, assertKnownKeys, assertNumber, assertObject, assertOneOf } from './validate.ts';

/**
 * What a full slot does with one more item.
 * - `reject`: refuse it; `post()` throws a `SlotQueueFullError`, an emitting activation fails
 *   under its routine's error handler.
 * - `dropOldest`: admit it and evict the oldest queued item (counted in `dropped`; the evicted
 *   item's job records the drop in its trace).
 * - `block`: make the producer wait for room (`postAsync()` waits; an emitting activation does
 *   not settle, and its routine is not activated again, until the item is admitted).
 * @category Routines and slots
 */
export type OverflowPolicy = 'reject' | 'dropOldest' | 'block';

/** The overflow policies, for validation and docs. */
export const kOverflowPolicies: readonly OverflowPolicy[] = ['reject', 'dropOldest', 'block'];

/**
 * How full a slot is: `low` below half the watermark, `medium` below the watermark, `high` at or
 * above the watermark, `critical` when full or when producers are waiting for room.
 * @category Routines and slots
 */
export type PressureLevel = 'low' | 'medium' | 'high' | 'critical';

/**
 * Options of `routine.addSlot(name, options)`.
 *
 * @category Routines and slots
 */
export interface SlotOptions {
  /**
   * Most items the slot holds per worker.
   * @default 1000
   */
  maxQueueLength?: number;
  /**
   * Fraction of `maxQueueLength` at which pressure becomes `high`.
   * @default 0.8
   */
  watermark?: number;
  /**
   * What a full slot does with one more item.
   * @default 'reject'
   */
  overflow?: OverflowPolicy;
}

/**
 * A slot's declared shape, fully resolved.
 *
 * @category Routines and slots
 */
export interface SlotSpec {
  readonly name: string;
  readonly maxQueueLength: number;
  readonly watermark: number;
  readonly overflow: OverflowPolicy;
}

/** Resolves and validates slot options; `owner` names the routine in error messages. */
export function resolveSlotOptions(owner: string, name: string, options: SlotOptions | undefined): SlotSpec {
  assertObject(`${owner}.addSlot("${name}") options`, options, true);
  const opts = options ?? {};
  assertKnownKeys(`${owner}.addSlot("${name}") options`, opts as Record<string, unknown>, ['maxQueueLength', 'watermark', 'overflow']);
  const maxQueueLength = opts.maxQueueLength ?? 1000;
  const watermark = opts.watermark ?? 0.8;
  const overflow = opts.overflow ?? 'reject';
  assertInteger(`${owner}.${name}.maxQueueLength`, maxQueueLength, 1);
  assertNumber(`${owner}.${name}.watermark`, watermark, 0, 1);
  if (watermark === 0) assertNumber(`${owner}.${name}.watermark`, watermark, Number.MIN_VALUE, 1);
  assertOneOf(`${owner}.${name}.overflow`, overflow, kOverflowPolicies);
  return Object.freeze({ name, maxQueueLength, watermark, overflow });
}

/** One queued item and the job(s) it belongs to. */
export interface QueuedItem<J = unknown> {
  readonly data: unknown;
  readonly jobs: J;
}

/**
 * Counters of one slot; they only grow.
 *
 * @category Routines and slots
 */
export interface SlotCounters {
  /** Items admitted. */
  enqueued: number;
  /** Items taken by activations. */
  consumed: number;
  /** Items refused because the slot was full (`reject`). */
  rejected: number;
  /** Items evicted to make room (`dropOldest`). */
  dropped: number;
  /** Producers that had to wait for room (`block`). */
  blocked: number;
  /** Items discarded because their jobs had already ended (failed or cancelled). */
  discarded: number;
}

/**
 * A snapshot of one slot.
 *
 * @category Routines and slots
 */
export interface SlotStatus {
  readonly routineId: string;
  readonly slot: string;
  readonly length: number;
  readonly maxQueueLength: number;
  readonly utilisation: number;
  readonly pressure: PressureLevel;
  readonly waiting: number;
  readonly overflow: OverflowPolicy;
  readonly counters: Readonly<SlotCounters>;
}

interface Waiter<J> {
  item: QueuedItem<J>;
  admit: () => void;
}

/** Outcome of {@link Slot.offer}. */
export const OfferResult = { Accepted: 0, Rejected: 1, Evicted: 2, MustWait: 3 } as const;
/** One of the values of {@link OfferResult}. */
export type OfferResult = (typeof OfferResult)[keyof typeof OfferResult];

/** A slot's queue in one worker. Internal: reached through the worker's engine. */
export class Slot<J = unknown> {
  readonly spec: SlotSpec;
  readonly routineId: string;
  readonly counters: SlotCounters = { enqueued: 0, consumed: 0, rejected: 0, dropped: 0, blocked: 0, discarded: 0 };
  /** The item evicted by the last `offer()` that returned `Evicted`. */
  lastEvicted: QueuedItem<J> | undefined;
  readonly #queue: SlotQueue<QueuedItem<J>>;
  readonly #waiters = new RingQueue<Waiter<J>>(4);
  #roomWaiters: Array<() => void> | undefined;

  constructor(routineId: string, spec: SlotSpec, queue: SlotQueue<QueuedItem<J>> = new RingQueue(16)) {
    this.routineId = routineId;
    this.spec = spec;
    this.#queue = queue;
  }

  get length(): number {
    return this.#queue.length;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  get isFull(): boolean {
    return this.#queue.length >= this.spec.maxQueueLength;
  }

  /** Admits `item` if there is room; otherwise applies the overflow policy (except `block`). */
  offer(item: QueuedItem<J>): OfferResult {
    if (this.#queue.length < this.spec.maxQueueLength && this.#waiters.length === 0) {
      this.#queue.push(item);
      this.counters.enqueued++;
      return OfferResult.Accepted;
    }
    switch (this.spec.overflow) {
      case 'dropOldest':
        this.lastEvicted = this.#queue.shift();
        this.#queue.push(item);
        this.counters.enqueued++;
        this.counters.dropped++;
        return OfferResult.Evicted;
      case 'block':
        return OfferResult.MustWait;
      default:
        this.counters.rejected++;
        return OfferResult.Rejected;
    }
  }

  /**
   * Admits every item of `items` when all fit and no producer is parked (a stream chunk's emits,
   * in one pass); returns false, admitting none, otherwise.
   */
  offerAll(items: readonly QueuedItem<J>[]): boolean {
    const queue = this.#queue;
    if (this.#waiters.length > 0 || queue.length + items.length > this.spec.maxQueueLength) return false;
    for (let i = 0; i < items.length; i++) queue.push(items[i] as QueuedItem<J>);
    this.counters.enqueued += items.length;
    return true;
  }

  /** Parks `item` until there is room; `admit` runs once it is in the queue. */
  wait(item: QueuedItem<J>, admit: () => void): void {
    this.counters.blocked++;
    this.#waiters.push({ item, admit });
  }

  /** Appends `item` whatever the bound (a checkpoint's items coming back); counted as enqueued. */
  restore(item: QueuedItem<J>): void {
    this.#queue.push(item);
    this.counters.enqueued++;
  }

  /** The items waiting for room (parked producers), oldest first, without admitting them. */
  parkedItems(): QueuedItem<J>[] {
    const out: QueuedItem<J>[] = [];
    this.#waiters.forEach((waiter) => {
      out.push(waiter.item);
    });
    return out;
  }

  /** Returns the item at `index` from the head without removing it. */
  peek(index = 0): QueuedItem<J> | undefined {
    return this.#queue.peek(index);
  }

  /**
   * Removes up to `count` items from the head, appends them to `into` (or to a new array sized
   * exactly, which is cheaper than growing one) and admits waiting producers into the room made.
   */
  take(count: number, into?: QueuedItem<J>[]): QueuedItem<J>[] {
    const n = Math.min(count, this.#queue.length);
    let out: QueuedItem<J>[];
    if (into === undefined) {
      out = new Array<QueuedItem<J>>(n);
      for (let i = 0; i < n; i++) out[i] = this.#queue.shift() as QueuedItem<J>;
    } else {
      out = into;
      for (let i = 0; i < n; i++) out.push(this.#queue.shift() as QueuedItem<J>);
    }
    this.counters.consumed += n;
    this.admitWaiters();
    return out;
  }

  /** Moves parked items into the queue while there is room; then wakes `room()` waiters. */
  admitWaiters(): void {
    while (this.#waiters.length > 0 && this.#queue.length < this.spec.maxQueueLength) {
      const waiter = this.#waiters.shift() as Waiter<J>;
      this.#queue.push(waiter.item);
      this.counters.enqueued++;
      waiter.admit();
    }
    if (this.#roomWaiters !== undefined && this.#queue.length < this.spec.maxQueueLength && this.#waiters.length === 0) {
      const waiters = this.#roomWaiters;
      this.#roomWaiters = undefined;
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves once the slot has room for one more item (at once if it has now). */
  room(): Promise<void> {
    if (this.#queue.length < this.spec.maxQueueLength && this.#waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#roomWaiters ??= []).push(resolve));
  }

  /** Removes every queued and parked item (parked producers are released, not admitted). */
  drain(): { queued: QueuedItem<J>[]; parked: Array<{ item: QueuedItem<J>; admit: () => void }> } {
    const drained = { queued: this.#queue.clear(), parked: this.#waiters.clear() };
    this.admitWaiters();
    return drained;
  }

  /** Removes queued items matching `predicate`, keeping the order of the rest. */
  removeWhere(predicate: (item: QueuedItem<J>) => boolean): QueuedItem<J>[] {
    const removed: QueuedItem<J>[] = [];
    const kept: QueuedItem<J>[] = [];
    for (const item of this.#queue.clear()) (predicate(item) ? removed : kept).push(item);
    for (const item of kept) this.#queue.push(item);
    this.admitWaiters();
    return removed;
  }

  /** The pressure level for the current length; see {@link PressureLevel}. */
  pressure(): PressureLevel {
    const { maxQueueLength, watermark } = this.spec;
    const length = this.#queue.length;
    if (length >= maxQueueLength || this.#waiters.length > 0) return 'critical';
    const utilisation = length / maxQueueLength;
    if (utilisation >= watermark) return 'high';
    if (utilisation >= watermark / 2) return 'medium';
    return 'low';
  }

  /** A plain snapshot. */
  status(): SlotStatus {
    return {
      routineId: this.routineId,
      slot: this.spec.name,
      length: this.#queue.length,
      maxQueueLength: this.spec.maxQueueLength,
      utilisation: this.#queue.length / this.spec.maxQueueLength,
      pressure: this.pressure(),
      waiting: this.#waiters.length,
      overflow: this.spec.overflow,
      counters: { ...this.counters },
    };
  }
}

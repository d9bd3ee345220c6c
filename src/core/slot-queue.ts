/**
 * The FIFO behind a slot. Two implementations share one contract (and one conformance suite):
 * {@link RingQueue}, a growable ring buffer that never shifts an array, and {@link ArrayQueue},
 * a head-indexed array that compacts itself. Neither bounds its length: the slot does that,
 * because the overflow policy decides what happens at the bound.
 */

/** A first-in, first-out queue. */
export interface SlotQueue<T> {
  /** Number of items held. */
  readonly length: number;
  /** Appends at the tail. */
  push(item: T): void;
  /** Removes and returns the head, or `undefined` when empty. */
  shift(): T | undefined;
  /** Returns the item at `index` from the head without removing it. */
  peek(index?: number): T | undefined;
  /** Removes everything and returns it in order. */
  clear(): T[];
  /** Calls `fn` for each item from head to tail. */
  forEach(fn: (item: T) => void): void;
}

/**
 * A ring buffer whose capacity doubles when full and never shrinks below its start size.
 *
 * @example
 * ```ts
 * const q = new RingQueue<number>();
 * q.push(1); q.push(2);
 * q.shift(); // 1
 * ```
 */
export class RingQueue<T> implements SlotQueue<T> {
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;

  constructor(initialCapacity = 16) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity <<= 1;
    this.#items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    const items = this.#items;
    if (this.#length === items.length) {
      this.#grow();
    }
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (items.length - 1);
    this.#length--;
    return item;
  }

  peek(index = 0): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[(this.#head + index) & (this.#items.length - 1)];
  }

  clear(): T[] {
    const out: T[] = [];
    this.forEach((item) => {
      out.push(item);
    });
    this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
    return out;
  }

  forEach(fn: (item: T) => void): void {
    const mask = this.#items.length - 1;
    for (let i = 0; i < this.#length; i++) fn(this.#items[(this.#head + i) & mask] as T);
  }

  #grow(): void {
    const old = this.#items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = next;
    this.#head = 0;
  }
}

/**
 * An array with a moving head index; it compacts when the consumed prefix passes half the
 * array, so `shift()` stays O(1) amortised.
 */
export class ArrayQueue<T> implements SlotQueue<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  peek(index = 0): T | undefined {
    if (index < 0 || index >= this.length) return undefined;
    return this.#items[this.#head + index];
  }

  clear(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return out;
  }

  forEach(fn: (item: T) => void): void {
    for (let i = this.#head; i < this.#items.length; i++) fn(this.#items[i] as T);
  }
}

/**
 * The bounded queue in front of one subscriber. When it is full, the oldest entry makes room
 * for the newest: a slow subscriber loses old events, the publisher never waits.
 */

/**
 * A fixed-capacity ring buffer that drops its oldest entry on overflow.
 *
 * @example
 * ```ts
 * const queue = new DropOldestQueue<number>(2);
 * queue.push(1); queue.push(2);
 * queue.push(3);       // returns true: 1 was dropped
 * queue.shift();       // 2
 * ```
 */
export class DropOldestQueue<T> {
  readonly #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  /** @param capacity the most entries held; validated by the caller (an integer >= 1). */
  constructor(readonly capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  /** Entries held now. */
  get size(): number {
    return this.#size;
  }

  /** Appends `item`; returns true when the oldest entry was dropped to make room. */
  push(item: T): boolean {
    const cap = this.capacity;
    if (this.#size === cap) {
      this.#items[this.#head] = item;
      this.#head = (this.#head + 1) % cap;
      return true;
    }
    this.#items[(this.#head + this.#size) % cap] = item;
    this.#size++;
    return false;
  }

  /** Removes and returns the oldest entry, or undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return item;
  }

  /** Drops every entry; returns how many there were. */
  clear(): number {
    const n = this.#size;
    this.#items.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    return n;
  }
}

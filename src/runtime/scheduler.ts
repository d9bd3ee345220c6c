/**
 * The scheduler: an event-driven ready list shared by every worker of a runtime. A routine is
 * marked ready when data arrives in one of its slots, when one of its activations settles, or
 * when a policy timer fires; a drain (one microtask) evaluates ready routines until none is
 * left. Nothing polls.
 *
 * The ready list is a stack: a routine that just emitted is evaluated before its upstream runs
 * again, so items travel depth-first through the flow and queues stay short. A drain yields to
 * the event loop (setImmediate) after `budgetMs`, so a long burst never starves timers or I/O.
 */

/** Something the scheduler can evaluate. */
export interface Schedulable {
  /** True while on the ready stack (set and cleared by the scheduler only). */
  queued: boolean;
  /** Evaluates the routine's policy once, starting at most one activation. */
  evaluate(): void;
}

/** Runs ready routines; one per runtime. */
export class Scheduler {
  /**
   * The clock as the last activation to settle in this drain read it, for the next evaluation to
   * reuse (only engine code runs between the two, nanoseconds): one clock read per activation
   * instead of two. Undefined when not fresh; cleared at the start of every drain.
   */
  lastNow: number | undefined;
  readonly #stack: Schedulable[] = [];
  readonly #budgetMs: number;
  #scheduled = false;
  #draining = false;
  readonly #drain = (): void => this.#run();

  constructor(budgetMs: number) {
    this.#budgetMs = budgetMs;
  }

  /** Routines waiting to be evaluated. */
  get size(): number {
    return this.#stack.length;
  }

  /** Marks `item` ready and makes sure a drain is coming. */
  markReady(item: Schedulable): void {
    if (!item.queued) {
      item.queued = true;
      this.#stack.push(item);
    }
    if (!this.#scheduled && !this.#draining) {
      this.#scheduled = true;
      queueMicrotask(this.#drain);
    }
  }

  #run(): void {
    this.#scheduled = false;
    this.#draining = true;
    this.lastNow = undefined;
    const stack = this.#stack;
    const start = performance.now();
    let count = 0;
    try {
      while (stack.length > 0) {
        const item = stack.pop() as Schedulable;
        item.queued = false;
        item.evaluate();
        if ((++count & 63) === 0 && performance.now() - start > this.#budgetMs) {
          if (stack.length > 0) {
            this.#scheduled = true;
            setImmediate(this.#drain);
          }
          return;
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

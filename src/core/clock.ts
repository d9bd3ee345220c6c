/**
 * Time as sluice's timers see it. The real clock wraps `performance.now()` and `setTimeout`;
 * the manual clock only moves when a test calls `advance()`, so time-based policies and the
 * governor are testable without waiting.
 */

/** A handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Cancels the timer; calling it twice is harmless. */
  cancel(): void;
}

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time). */
  now(): number;
  /**
   * Runs `fn` once after `ms` milliseconds. By default the timer keeps the process alive (it
   * stands for pending work); pass `{ ref: false }` for background chores such as sampling.
   */
  setTimeout(fn: () => void, ms: number, options?: { ref?: boolean }): TimerHandle;
}

/** The longest delay one Node timer takes; past it Node fires after 1 ms instead. */
export const kMaxTimerMs = 2 ** 31 - 1;

const kNeverFires: TimerHandle = Object.freeze({ cancel: () => undefined });

/**
 * `setTimeout` that keeps its word for any delay: past Node's ceiling (2^31 - 1 ms, ~24.8 days)
 * it chains timers rather than firing after 1 ms; `Infinity` never fires. `ref: false` lets the
 * process exit while it waits.
 *
 * @example
 * ```ts
 * const timer = setLongTimeout(() => console.log('a month later'), 30 * 86_400_000);
 * timer.cancel();
 * ```
 */
export function setLongTimeout(fn: () => void, ms: number, ref = true): TimerHandle {
  if (ms === Number.POSITIVE_INFINITY) return kNeverFires;
  const delay = Math.max(ms, 0);
  if (delay <= kMaxTimerMs) {
    const timer = setTimeout(fn, delay);
    if (!ref) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }
  let timer: ReturnType<typeof setTimeout>;
  const arm = (left: number): void => {
    timer = left > kMaxTimerMs ? setTimeout(() => arm(left - kMaxTimerMs), kMaxTimerMs) : setTimeout(fn, left);
    if (!ref) timer.unref();
  };
  arm(delay);
  return { cancel: () => clearTimeout(timer) };
}

/** The clock of the process: `performance.now()` and timers that honour any delay. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number, options?: { ref?: boolean }): TimerHandle {
    return setLongTimeout(fn, ms, options?.ref !== false);
  }
}

interface ManualTimer {
  at: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. Timers due at or before the new time fire in time order
 * during {@link ManualClock.advance}.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * clock.setTimeout(() => console.log('fired'), 100);
 * clock.advance(100); // prints "fired"
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.#now + Math.max(0, ms), order: this.#order++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.order < next.order))) next = t;
      }
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.#now = target;
  }
}

/** The default clock instance for code given none. */
export const realClock: Clock = new RealClock();

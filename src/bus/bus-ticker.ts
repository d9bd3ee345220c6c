/**
 * A timer that calls back every interval while the bus it publishes on is open: heartbeats and
 * telemetry snapshots. It stops by itself once the bus is shut down.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';

/** Calls `tick` every `intervalMs` between `start()` and `stop()`, while `bus` is open. */
export class BusTicker {
  readonly #bus: { readonly isClosed: boolean };
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #tick: () => void;
  readonly #ref: boolean;
  #timer: TimerHandle | undefined;

  /** `ref: false` lets the process exit while it waits. */
  constructor(bus: { readonly isClosed: boolean }, clock: Clock, intervalMs: number, tick: () => void, options: { ref?: boolean } = {}) {
    this.#bus = bus;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#tick = tick;
    this.#ref = options.ref ?? true;
  }

  /** True between `start()` and `stop()` (or the bus closing). */
  get isRunning(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts ticking (the first tick after one interval); idempotent. */
  start(): void {
    if (this.#timer === undefined) this.#arm();
  }

  /** Stops ticking; idempotent. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(
      () => {
        if (this.#timer === undefined) return;
        if (this.#bus.isClosed) {
          this.#timer = undefined;
          return;
        }
        this.#tick();
        if (this.#timer !== undefined) this.#arm();
      },
      this.#intervalMs,
      { ref: this.#ref },
    );
  }
}

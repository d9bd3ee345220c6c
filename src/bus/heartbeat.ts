/**
 * Heartbeats: while a run is alive, a beat is published on {@link HeartbeatTopic} every
 * `intervalMs`, even when nothing else happens. A consumer that keeps receiving beats knows the
 * run is quiet; one that stops receiving them knows it stalled (see `LivenessMonitor`).
 */
import { type Clock, realClock } from '../core/clock.ts';
import { BusTicker } from './bus-ticker.ts';
import type { BusDisposable } from './bus-event.ts';
import { checkInteger, checkRunId, failOption } from './bus-options.ts';
import type { EventBus } from './event-bus.ts';

/** The topic heartbeats are published on. */
export const HeartbeatTopic = 'run.heartbeat';

/** The payload of a heartbeat event. */
export interface HeartbeatPayload {
  /** The promised interval, so a consumer knows when the next beat is due. */
  readonly intervalMs: number;
  /** 1 for the first beat of this heartbeat, then 2, 3, … */
  readonly beat: number;
  /** The run's last seq before this beat, so a consumer can detect events it missed. */
  readonly lastSeq: number;
  /** Facts from the `details` option (a recording runtime: `recorded`). */
  readonly [fact: string]: unknown;
}

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  /** The run whose liveness the beats announce. */
  runId: string;
  /**
   * Time between beats, in ms.
   * @default 5000
   */
  intervalMs?: number;
  /**
   * Source of timers.
   * @default realClock
   */
  clock?: Clock;
  /** More facts for each beat's payload (a recording runtime adds `recorded`: see docs/bus-and-log.md). */
  details?: () => Readonly<Record<string, unknown>>;
}

/**
 * Publishes a beat for one run every `intervalMs` until stopped. Timers are unref'd (they do
 * not keep the process alive). A bus that is shut down stops the heartbeat.
 *
 * @example
 * ```ts
 * const heartbeat = new Heartbeat(bus, { runId: 'run-1', intervalMs: 1000 });
 * heartbeat.start();
 * // …
 * heartbeat.stop();
 * ```
 */
export class Heartbeat implements BusDisposable {
  readonly #bus: EventBus;
  readonly #runId: string;
  readonly #intervalMs: number;
  readonly #details: (() => Readonly<Record<string, unknown>>) | undefined;
  readonly #ticker: BusTicker;
  #beat = 0;

  constructor(bus: EventBus, options: HeartbeatOptions) {
    if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
    this.#bus = bus;
    this.#runId = checkRunId('runId', options.runId);
    this.#intervalMs = checkInteger('intervalMs', options.intervalMs ?? 5000, 1);
    this.#details = options.details;
    this.#ticker = new BusTicker(bus, options.clock ?? realClock, this.#intervalMs, () => this.#beatOnce(), { ref: false });
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.#ticker.isRunning;
  }

  /** Beats published so far. */
  get beats(): number {
    return this.#beat;
  }

  /** Starts beating (the first beat after one interval); idempotent. */
  start(): this {
    this.#ticker.start();
    return this;
  }

  /** Stops beating; idempotent. */
  stop(): void {
    this.#ticker.stop();
  }

  /** Same as `stop()`. */
  dispose(): void {
    this.stop();
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  #beatOnce(): void {
    this.#beat++;
    const payload: HeartbeatPayload = {
      intervalMs: this.#intervalMs,
      beat: this.#beat,
      lastSeq: this.#bus.lastSeq(this.#runId),
      ...this.#details?.(),
    };
    this.#bus.publish(HeartbeatTopic, payload, { runId: this.#runId });
  }
}

/**
 * Creates and starts a {@link Heartbeat}.
 *
 * @example
 * ```ts
 * using heartbeat = createHeartbeat(bus, { runId: 'run-1', intervalMs: 2000 });
 * ```
 */
export function createHeartbeat(bus: EventBus, options: HeartbeatOptions): Heartbeat {
  return new Heartbeat(bus, options).start();
}

/**
 * The event every bus subscriber, sink and event log sees. One shape on the live path and the
 * durable path, so a consumer can switch from backfill to live delivery without translating.
 */
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';

/**
 * One published event.
 *
 * A **stream** is a run: `seq` is strictly increasing (1, 2, 3, … without gaps as published)
 * across every topic of one `runId`, so a single cursor `(runId, seq)` is enough to backfill
 * a run from the durable log and to detect loss on the live path.
 *
 * @example
 * ```ts
 * const event: BusEvent<{ n: number }> = {
 *   seq: 1, time: '2025-01-01T00:00:00.000Z', runId: 'run-1', topic: 'job.completed', payload: { n: 1 },
 * };
 * ```
 */
export interface BusEvent<T = unknown> {
  /** Position in the event's stream (its run), strictly increasing from 1. */
  readonly seq: number;
  /** Wall time of publication, ISO 8601 (`Date.prototype.toISOString`). */
  readonly time: string;
  /** The run (stream) the event belongs to. */
  readonly runId: string;
  /** The topic it was published on, dot-separated (`drg.signal.scale_up`). */
  readonly topic: string;
  /** What the publisher sent; shared by every subscriber, so treat it as read-only. */
  readonly payload: T;
}

/**
 * Something that receives every event the bus publishes, synchronously and without drop-oldest
 * (the durable sink is one). `onEvent` runs inside `publish()`, so it must be cheap and must not
 * throw; a throw is caught, counted and reported, and does not stop the publish.
 *
 * @example
 * ```ts
 * const seen: BusEvent[] = [];
 * bus.addSink({ onEvent: (event) => void seen.push(event) });
 * ```
 */
export interface EventSink {
  /** Receives one event, synchronously, in publish order. */
  onEvent(event: BusEvent): void;
}

/** What ends a subscription, a sink's tap or a listener: the engine's one disposable shape. */
export type BusDisposable = DisposableHandle;

export { createDisposable };

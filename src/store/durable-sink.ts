/**
 * The durable path's sink: takes every bus event (as the bus's tap) or events written to it
 * directly, and commits them to an {@link EventLog} in batches (256 rows or 5 ms by default).
 *
 * Guarantees, precisely:
 * - **Lossless while the log can take writes.** The sink never drops an accepted event. A failed
 *   commit is retried (same batch, same order, exponential backoff) until it succeeds or the
 *   sink is closed; what `close()` could not commit is reported as `pending` and handed back by
 *   `uncommitted()`. When commits keep failing with an error no retry cures (disk full,
 *   read-only, I/O error: `giveUpAfterFailures` in a row) the sink gives up loudly: the error is
 *   reported, health is `unhealthy`, and every event it held or is given is counted as `lost`
 *   (`stats().lost`, `close()`'s `lost`), so a dead disk neither hangs producers nor grows memory.
 *   The log ignores an event whose `(runId, seq)` it already holds, so a retried batch that did
 *   commit before its reply was lost is not written twice.
 * - **Never on the live path.** `onEvent` (the bus tap) is an array push; batching, JSON
 *   encoding and the commit run on later turns, and with `SqliteEventLog`'s thread writer the
 *   disk is only touched by the writer thread. A stalled database stalls commits, not `publish()`.
 * - **Bounded by backpressure on the sink's own intake.** When `highWaterMark` events are
 *   pending, `write()` returns false, `isPressured` is true and `ready()` waits until the
 *   backlog is under half the mark. The producer (the Runtime's admission) honours it; the
 *   sink does not enforce it by dropping, so memory stays bounded exactly as long as the
 *   producer waits. `stats().peakPending` shows whether it did.
 * - **Ordered.** Batches go out in acceptance order (at most `maxInFlight` at once); a failed
 *   batch is retried ahead of everything newer, and `flush()` waits for every earlier event.
 * - **Committed means durable.** A crash loses only events whose batch had not committed.
 */
import type { BusEvent, EventSink } from '../bus/index.ts';
import type { DisposableHandle } from '../core/disposable.ts';
import type { SluiceError } from '../core/errors.ts';
import { type SinkHealth, SinkEngine, type SinkHealthStatus, type SinkStats } from './sink-engine.ts';
import { type DurableSinkOptions, type ResolvedDurableSinkOptions, resolveDurableSinkOptions } from './sink-options.ts';
import { assertMs } from '../core/validate.ts';
import { failOption } from './store-checks.ts';

/** The result of {@link DurableSink.close}. */
export interface SinkCloseResult {
  /** True when every accepted event committed before the timeout. */
  readonly flushed: boolean;
  /** Events not committed (0 when flushed); `uncommitted()` returns them. */
  readonly pending: number;
  /** Events not persisted because the sink gave up on its log (see `giveUpAfterFailures`). */
  readonly lost: number;
}

/** A listener registration: the engine's one disposable shape. */
export type SinkListener = DisposableHandle;

/**
 * Batches events into an {@link EventLog} losslessly.
 *
 * @example
 * ```ts
 * const log = await SqliteEventLog.open({ path: 'events.sqlite' });
 * const sink = new DurableSink({ log });
 * const tap = bus.addSink(sink);          // every bus event, lossless
 * // In the producer: admit work only while the sink keeps up.
 * if (sink.isPressured) await sink.ready();
 * // …
 * tap.dispose();
 * await sink.close({ timeout: 5000 });
 * await log.close();
 * ```
 */
export class DurableSink implements EventSink {
  readonly #options: ResolvedDurableSinkOptions;
  readonly #engine: SinkEngine;

  constructor(options: DurableSinkOptions) {
    this.#options = resolveDurableSinkOptions(options);
    this.#engine = new SinkEngine(this.#options);
  }

  /** @internal Its options, resolved (defaults applied): the recording sizes its packs of jobs by them. */
  get options(): ResolvedDurableSinkOptions {
    return this.#options;
  }

  /** The bus tap: takes one event. Throws `SLUICE_ERR_STORE_CLOSED` once closing. */
  onEvent(event: BusEvent): void {
    this.#engine.accept(event);
  }

  /**
   * Takes one event; returns false when pressured (the caller should `await ready()` before
   * writing more). The event is accepted either way.
   *
   * @example
   * ```ts
   * if (!sink.write(event)) await sink.ready();
   * ```
   */
  write(event: BusEvent): boolean {
    if (typeof event !== 'object' || event === null || typeof event.runId !== 'string' || !Number.isInteger(event.seq)) {
      failOption('event', 'a BusEvent with a runId and an integer seq', event);
    }
    return this.#engine.accept(event);
  }

  /**
   * Waits for capacity, then takes one event.
   *
   * @example
   * ```ts
   * for (const event of events) await sink.writeAsync(event);
   * ```
   */
  async writeAsync(event: BusEvent, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.ready(options);
    this.write(event);
  }

  /**
   * Resolves at once when not pressured, else when the backlog is under half the high-water
   * mark. Rejects with the signal's reason when aborted.
   *
   * @example
   * ```ts
   * await sink.ready({ signal: AbortSignal.timeout(10_000) });
   * ```
   */
  ready(options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = options.signal;
    if (signal === undefined) return this.#engine.ready();
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#engine.ready().then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** True while the backlog is at or above the high-water mark (until it falls to half). */
  get isPressured(): boolean {
    return this.#engine.isPressured;
  }

  /**
   * Commits everything accepted so far; resolves true when done, false after `timeout` ms.
   *
   * @example
   * ```ts
   * await sink.flush({ timeout: 1000 });
   * ```
   */
  async flush(options: { timeout?: number } = {}): Promise<boolean> {
    const timeout = options.timeout;
    if (timeout !== undefined) assertMs('timeout', timeout, 0, { noLimit: true });
    if (timeout === undefined) {
      await this.#engine.flushed();
      return true;
    }
    let timer: { cancel(): void } | undefined;
    const done = await Promise.race([
      this.#engine.flushed().then(() => true),
      new Promise<boolean>((resolve) => (timer = this.#options.clock.setTimeout(() => resolve(false), timeout))),
    ]);
    timer?.cancel();
    return done;
  }

  /**
   * `healthy`, `degraded` (behind, stalled, or a commit failed and is being retried) or
   * `unhealthy` (`unhealthyAfterFailures` commits in a row failed), with the reason.
   *
   * @example
   * ```ts
   * if (sink.health().status !== 'healthy') console.warn(sink.health().reason);
   * ```
   */
  health(): SinkHealth {
    return this.#engine.health();
  }

  /**
   * A snapshot of the counters.
   *
   * @example
   * ```ts
   * const { accepted, committed, peakPending } = sink.stats();
   * ```
   */
  stats(): SinkStats {
    return this.#engine.stats();
  }

  /**
   * Listens for commit failures and duplicate events (coded errors). With no listener they
   * become process warnings.
   *
   * @example
   * ```ts
   * sink.onError((error) => console.error(error.code, error.message));
   * ```
   */
  onError(listener: (error: SluiceError) => void): SinkListener {
    if (typeof listener !== 'function') failOption('listener', 'a function', listener);
    const off = this.#engine.onError(listener);
    let done = false;
    const dispose = (): void => {
      if (!done) off();
      done = true;
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  /**
   * Stops intake, commits what it can within `timeout` ms (default 5000), and reports what is
   * left. Does not close the log (its owner does). Idempotent.
   *
   * @example
   * ```ts
   * const { flushed, pending } = await sink.close({ timeout: 2000 });
   * if (!flushed) spill(sink.uncommitted());
   * ```
   */
  close(options: { timeout?: number } = {}): Promise<SinkCloseResult> {
    const timeout = options.timeout ?? 5000;
    assertMs('timeout', timeout, 0, { noLimit: true });
    this.#closing ??= this.#engine.close(timeout);
    return this.#closing;
  }

  #closing: Promise<SinkCloseResult> | undefined;

  /** True once `close()` began. */
  get isClosed(): boolean {
    return this.#engine.isClosed;
  }

  /**
   * The events not committed, in order: what a caller spills elsewhere after a `close()` that
   * could not flush.
   *
   * @example
   * ```ts
   * sink.uncommitted().length === sink.stats().pending; // true
   * ```
   */
  uncommitted(): BusEvent[] {
    return this.#engine.uncommitted();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export type { SinkHealth, SinkHealthStatus, SinkStats };

/**
 * The in-process event bus: the live path. Publishing is synchronous and cheap (O(matching
 * subscribers)): the event is stamped, handed to every sink, put into each matching
 * subscriber's bounded queue, and delivery is scheduled on a microtask. Publish never awaits a
 * handler and never blocks; a slow subscriber loses its own oldest events, counted.
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { BusEngine, type EventHandler, type SubscriberSnapshot, type TopicStats } from './bus-engine.ts';
import { type BusDisposable, type BusEvent, type EventSink, createDisposable } from './bus-event.ts';
import {
  type EventBusOptions,
  type PublishOptions,
  type ResolvedEventBusOptions,
  type ShutdownOptions,
  type SubscribeOptions,
  checkInteger,
  checkRunId,
  failOption,
  resolveEventBusOptions,
} from './bus-options.ts';
import { assertTopic, compileTopicPattern } from './topic-pattern.ts';

const kMaxRememberedTopics = 4096;

/** A snapshot of the bus's counters. */
export interface BusStats {
  /** Counters per topic (topics with any activity). */
  readonly topics: Readonly<Record<string, TopicStats>>;
  /** Live subscriptions. */
  readonly subscribers: number;
  /** Attached sinks. */
  readonly sinks: number;
  /** Handler calls running now. */
  readonly inFlight: number;
  /** True after `shutdown()` began. */
  readonly closed: boolean;
}

/** What one subscriber lost to drop-oldest. */
export interface OverflowStats {
  readonly id: number;
  readonly name: string;
  readonly pattern: string;
  readonly dropped: number;
  readonly capacity: number;
}

/** How full one subscriber's queue is. */
export interface QueueSize {
  readonly id: number;
  readonly name: string;
  readonly pattern: string;
  readonly size: number;
  readonly capacity: number;
}

/** The result of {@link EventBus.shutdown}. */
export interface ShutdownResult {
  /** True when every queued event was delivered and every handler settled within the timeout. */
  readonly drained: boolean;
  /** Events still queued or in a handler when shutdown gave up (0 when drained). */
  readonly pending: number;
}

/** A live subscription; `dispose()` ends it. */
export interface Subscription extends BusDisposable {
  /** Its id, as in `overflowStats()` and `queueSizes()`. */
  readonly id: number;
  /** The pattern it listens to. */
  readonly pattern: string;
}

/**
 * The live event bus.
 *
 * - Handlers of different subscribers run concurrently; one subscriber receives its events
 *   one at a time, in publish order (an async handler is awaited before the next event).
 * - A handler that throws or rejects is isolated: counted as `failed`, reported to `onError`
 *   listeners (or as a process warning when there are none), and the others still run.
 * - Each run is a stream: `seq` is strictly increasing per `runId` across all topics.
 * - Sinks (`addSink`) see every event synchronously and are never subject to drop-oldest.
 *
 * @example
 * ```ts
 * const bus = new EventBus();
 * const sub = bus.subscribe('drg.signal.*', (event) => console.log(event.topic, event.payload));
 * bus.publish('drg.signal.scale_up', { factor: 2 }, { runId: 'run-1' });
 * sub.dispose();
 * await bus.shutdown({ timeout: 1000 });
 * ```
 */
export class EventBus {
  readonly #options: ResolvedEventBusOptions;
  readonly #engine: BusEngine;
  readonly #validTopics = new Set<string>();
  readonly #validRunIds = new Set<string>();

  constructor(options: EventBusOptions = {}) {
    this.#options = resolveEventBusOptions(options);
    this.#engine = new BusEngine(this.#options);
  }

  /**
   * Delivers every event whose topic matches `pattern` (`job.completed`, `drg.signal.*`,
   * `drg.**`, `**`) to `handler`, through a queue of `maxQueue` events that drops its oldest
   * when full.
   *
   * @example
   * ```ts
   * using sub = bus.subscribe('job.*', async (event) => save(event), { maxQueue: 256, name: 'saver' });
   * ```
   */
  subscribe<T = unknown>(pattern: string, handler: EventHandler<T>, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen();
    const compiled = compileTopicPattern(pattern);
    if (typeof handler !== 'function') failOption('handler', 'a function', handler);
    if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
    const maxQueue = checkInteger('maxQueue', options.maxQueue ?? this.#options.maxQueue, 1);
    const name = options.name ?? pattern;
    if (typeof name !== 'string' || name.length === 0) failOption('name', 'a non-empty string', name);
    const signal = options.signal;
    if (signal?.aborted) failOption('signal', 'a signal that is not aborted', 'aborted');
    const id = this.#engine.subscribe(compiled, handler as EventHandler, maxQueue, name);
    const onAbort = (): void => disposable.dispose();
    const disposable = createDisposable(() => {
      signal?.removeEventListener('abort', onAbort);
      this.#engine.unsubscribe(id);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    return { id, pattern, dispose: disposable.dispose, [Symbol.dispose]: disposable.dispose };
  }

  /**
   * Ends a subscription by id or handle; returns false when it was not live.
   *
   * @example
   * ```ts
   * const sub = bus.subscribe('job.*', handler);
   * bus.unsubscribe(sub); // true
   * ```
   */
  unsubscribe(subscription: Subscription | number): boolean {
    if (typeof subscription === 'number') return this.#engine.unsubscribe(subscription);
    const live = this.#engine.subscribers().some((s) => s.id === subscription.id);
    subscription.dispose();
    return live;
  }

  /**
   * Publishes `payload` on `topic`. Synchronous and non-blocking. Returns the stamped event, or
   * `undefined` when no subscriber matches and no sink is attached (nothing is stamped then, so
   * no `seq` is consumed). Throws `SLUICE_ERR_BUS_CLOSED` after `shutdown()`.
   *
   * @example
   * ```ts
   * const event = bus.publish('job.completed', { jobId: 'j1' }, { runId: 'run-1' });
   * event?.seq; // 1 for the first event of run-1
   * ```
   */
  publish<T>(topic: string, payload: T, options?: PublishOptions): BusEvent<T> | undefined {
    this.#assertOpen();
    // Topics are a small fixed set of constants: validate each once, not on every publish.
    if (!this.#validTopics.has(topic)) {
      assertTopic(topic);
      if (this.#validTopics.size < kMaxRememberedTopics) this.#validTopics.add(topic);
    }
    let runId = options?.runId;
    if (runId === undefined) runId = this.#options.defaultRunId;
    else if (!this.#validRunIds.has(runId)) {
      checkRunId('runId', runId);
      if (this.#validRunIds.size < kMaxRememberedTopics) this.#validRunIds.add(runId);
    }
    return this.#engine.publish(topic, payload, runId) as BusEvent<T> | undefined;
  }

  /**
   * True when publishing on `topic` would reach anyone (a matching subscriber or a sink). Hot
   * paths check it before building a payload.
   *
   * @example
   * ```ts
   * if (bus.hasSubscribers('job.trace')) bus.publish('job.trace', expensiveTrace());
   * ```
   *
   * With `besides`, that sink does not count: true when anyone else would get the event (a
   * recording asks whether it alone takes a topic).
   */
  hasSubscribers(topic: string, options?: { besides?: EventSink }): boolean {
    return this.#engine.hasSubscribers(topic, options?.besides);
  }

  /**
   * The bus's wall clock (its `wallTime` option; `Date.now` by default): event times are read from
   * it, and so are the times of the completed jobs a recording stores packed.
   *
   * @example
   * ```ts
   * new Date(bus.wallClock()).toISOString();
   * ```
   */
  get wallClock(): () => number {
    return this.#options.wallTime;
  }

  /**
   * A number that changes whenever subscribers or sinks come or go, so a hot path can cache
   * `hasSubscribers(topic)` and ask again only when it changed.
   *
   * @example
   * ```ts
   * if (bus.subscriptionVersion !== seen) { seen = bus.subscriptionVersion; listening = bus.hasSubscribers('job.completed'); }
   * ```
   */
  get subscriptionVersion(): number {
    return this.#engine.version;
  }

  /**
   * Attaches a sink that receives every event synchronously, losslessly (never drop-oldest).
   * The sink owns its own bounded intake. With `topics` (patterns, as for `subscribe`) it takes
   * only matching events, and other topics stay free when nobody else listens. Returns a handle
   * that detaches it.
   *
   * @example
   * ```ts
   * const tap = bus.addSink(durableSink, { topics: ['job.*', 'run.*'] });
   * tap.dispose();
   * ```
   */
  addSink(sink: EventSink, options: { topics?: readonly string[] } = {}): BusDisposable {
    this.#assertOpen();
    if (typeof sink !== 'object' || sink === null || typeof sink.onEvent !== 'function') {
      failOption('sink', 'an object with an onEvent(event) method', sink);
    }
    if (options.topics !== undefined && !Array.isArray(options.topics))
      failOption('addSink topics', 'an array of topic patterns', options.topics);
    this.#engine.addSink(
      sink,
      options.topics?.map((t) => compileTopicPattern(t)),
    );
    return createDisposable(() => this.#engine.removeSink(sink));
  }

  /**
   * Listens for handler and sink failures (coded `SLUICE_ERR_BUS_HANDLER_FAILED` /
   * `SLUICE_ERR_BUS_SINK_FAILED`, the thrown value as `cause`). With no listener they become
   * process warnings.
   *
   * @example
   * ```ts
   * bus.onError((error) => logger.warn(error.message, error.details));
   * ```
   */
  onError(listener: (error: SluiceError) => void): BusDisposable {
    if (typeof listener !== 'function') failOption('listener', 'a function', listener);
    this.#engine.onError(listener);
    return createDisposable(() => this.#engine.offError(listener));
  }

  /**
   * The last `seq` stamped in `runId`'s stream (0 when none).
   *
   * @example
   * ```ts
   * bus.lastSeq('run-1'); // 0 before the first publish
   * ```
   */
  lastSeq(runId: string): number {
    return this.#engine.lastSeq(checkRunId('runId', runId));
  }

  /**
   * Stamps the next `seq` of `runId`'s stream for an event that is recorded without being
   * published (a recording runtime's packed completed jobs, when only the log takes them): no
   * subscriber sees it, and the stream stays strictly increasing.
   *
   * @example
   * ```ts
   * const seq = bus.reserveSeq('run-1'); // bus.lastSeq('run-1') === seq
   * ```
   */
  reserveSeq(runId: string): number {
    this.#assertOpen();
    if (!this.#validRunIds.has(runId)) {
      checkRunId('runId', runId);
      if (this.#validRunIds.size < kMaxRememberedTopics) this.#validRunIds.add(runId);
    }
    return this.#engine.reserveSeq(runId);
  }

  /**
   * Continues `runId`'s stream after `lastSeq` (read from the durable log after a restart), so
   * sequences never repeat. Never moves a stream backwards; returns the effective last seq.
   *
   * @example
   * ```ts
   * bus.resumeSequence('run-1', await log.lastSeq('run-1'));
   * ```
   */
  resumeSequence(runId: string, lastSeq: number): number {
    return this.#engine.resumeSequence(checkRunId('runId', runId), checkInteger('lastSeq', lastSeq, 0));
  }

  /**
   * Every topic published so far and every pattern subscribed to, sorted.
   *
   * @example
   * ```ts
   * bus.topics(); // ['drg.signal.*', 'job.completed']
   * ```
   */
  topics(): string[] {
    return this.#engine.topics();
  }

  /**
   * A snapshot of the counters: per topic `published`, `delivered`, `failed`, `dropped`.
   *
   * @example
   * ```ts
   * bus.getStats().topics['job.completed']?.failed; // 0
   * ```
   */
  getStats(): BusStats {
    return {
      topics: this.#engine.stats(),
      subscribers: this.#engine.subscribers().length,
      sinks: this.#engine.sinkCount,
      inFlight: this.#engine.inFlight,
      closed: this.#engine.isClosed,
    };
  }

  /**
   * Per subscriber, how many events it lost to drop-oldest.
   *
   * @example
   * ```ts
   * for (const s of bus.overflowStats()) if (s.dropped > 0) console.warn(`${s.name} lost ${s.dropped}`);
   * ```
   */
  overflowStats(): OverflowStats[] {
    return this.#engine.subscribers().map(({ id, name, pattern, dropped, capacity }) => ({ id, name, pattern, dropped, capacity }));
  }

  /**
   * Per subscriber, the events waiting in its queue now.
   *
   * @example
   * ```ts
   * bus.queueSizes().map((q) => q.size / q.capacity);
   * ```
   */
  queueSizes(): QueueSize[] {
    return this.#engine.subscribers().map(({ id, name, pattern, size, capacity }) => ({ id, name, pattern, size, capacity }));
  }

  /**
   * Full per-subscriber snapshots (queue, drops, deliveries, failures).
   *
   * @example
   * ```ts
   * bus.subscribers()[0]?.delivered;
   * ```
   */
  subscribers(): SubscriberSnapshot[] {
    return this.#engine.subscribers();
  }

  /** True after `shutdown()` began. */
  get isClosed(): boolean {
    return this.#engine.isClosed;
  }

  /**
   * Stops accepting publishes, waits up to `timeout` ms for queued events and in-flight
   * handlers, then ends every subscription and detaches sinks (it does not close them: their
   * owner does). Idempotent.
   *
   * @example
   * ```ts
   * const { drained, pending } = await bus.shutdown({ timeout: 2000 });
   * ```
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    const timeout = checkInteger('timeout', options.timeout ?? 5000, 0);
    this.#shutdown ??= this.#engine.shutdown(timeout);
    return this.#shutdown;
  }

  #shutdown: Promise<ShutdownResult> | undefined;

  /** Same as `shutdown()` with its default timeout. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #assertOpen(): void {
    if (this.#engine.isClosed)
      throw new SluiceError(ErrorCode.BusClosed, 'The event bus is shut down; it accepts no more publishes or subscriptions');
  }
}

export type { EventHandler, SubscriberSnapshot, TopicStats };

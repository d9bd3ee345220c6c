/**
 * The engine behind {@link EventBus}: subscriber records, the topic → subscribers cache, the
 * per-run sequence, delivery scheduling and accounting. Inputs are trusted (the facade
 * validates); nothing here awaits a handler on the publish path.
 */
import type { TimerHandle } from '../core/clock.ts';
import { ErrorCode, SluiceError, reportToListeners } from '../core/errors.ts';
import { isThenable } from '../core/validate.ts';
import type { BusEvent, EventSink } from './bus-event.ts';
import type { ResolvedEventBusOptions } from './bus-options.ts';
import { DropOldestQueue } from './subscriber-queue.ts';
import type { TopicPattern } from './topic-pattern.ts';

/** A handler of delivered events; a returned promise is awaited before the next delivery to it. */
export type EventHandler<T = unknown> = (event: BusEvent<T>) => void | Promise<void>;

/** Counters of one topic. */
export interface TopicStats {
  /** Events published on the topic. */
  published: number;
  /** Handler calls that returned or resolved. */
  delivered: number;
  /** Handler calls that threw or rejected. */
  failed: number;
  /** Events dropped from subscriber queues (oldest first) before delivery. */
  dropped: number;
}

/** One subscriber as seen from outside: a snapshot. */
export interface SubscriberSnapshot {
  readonly id: number;
  readonly name: string;
  readonly pattern: string;
  /** Events waiting in its queue now. */
  readonly size: number;
  readonly capacity: number;
  /** Events it lost to drop-oldest. */
  readonly dropped: number;
  readonly delivered: number;
  readonly failed: number;
}

interface Subscriber {
  readonly id: number;
  readonly name: string;
  readonly pattern: TopicPattern;
  readonly handler: EventHandler;
  readonly queue: DropOldestQueue<BusEvent>;
  active: boolean;
  scheduled: boolean;
  running: boolean;
  dropped: number;
  delivered: number;
  failed: number;
}

interface TopicEntry {
  readonly topic: string;
  readonly stats: TopicStats;
  /** Matching subscribers, or undefined when the cache was invalidated. */
  subscribers: Subscriber[] | undefined;
  sinks: EventSink[] | undefined;
}

/** The topic on which the bus says a slow subscriber lost events: `{ subscriber, pattern, dropped, totalDropped, capacity }`. */
export const BusOverflowTopic = 'bus.overflow';
/** The least time between two `bus.overflow` reports of one subscriber, ms. */
export const kOverflowReportMs = 1_000;

/** @internal */
export class BusEngine {
  readonly #options: ResolvedEventBusOptions;
  readonly #subscribers = new Map<number, Subscriber>();
  /** Sinks with the topic patterns they take (undefined: every topic). */
  readonly #sinks = new Map<EventSink, TopicPattern[] | undefined>();
  readonly #topics = new Map<string, TopicEntry>();
  readonly #seq = new Map<string, number>();
  readonly #errorListeners = new Set<(error: SluiceError) => void>();
  readonly #idleWaiters = new Set<() => void>();
  /** Subscribers that dropped events since the last `bus.overflow` report, with how many and the run of the last. */
  readonly #overflowed = new Map<Subscriber, { dropped: number; runId: string }>();
  #overflowTimer: TimerHandle | undefined;
  #nextId = 1;
  #version = 0;
  #inFlight = 0;
  #closed = false;
  #isoMs = Number.NaN;
  #iso = '';

  constructor(options: ResolvedEventBusOptions) {
    this.#options = options;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  subscribe(pattern: TopicPattern, handler: EventHandler, maxQueue: number, name: string): number {
    const id = this.#nextId++;
    this.#subscribers.set(id, {
      id,
      name,
      pattern,
      handler,
      queue: new DropOldestQueue(maxQueue),
      active: true,
      scheduled: false,
      running: false,
      dropped: 0,
      delivered: 0,
      failed: 0,
    });
    this.#invalidate();
    return id;
  }

  unsubscribe(id: number): boolean {
    const sub = this.#subscribers.get(id);
    if (sub === undefined) return false;
    sub.active = false;
    // Events still queued for it will never be delivered: they count as dropped.
    const lost = sub.queue.clear();
    if (lost > 0) sub.dropped += lost;
    this.#subscribers.delete(id);
    this.#invalidate();
    this.#checkIdle();
    return true;
  }

  addSink(sink: EventSink, topics: TopicPattern[] | undefined): void {
    this.#sinks.set(sink, topics);
    this.#invalidate();
  }

  removeSink(sink: EventSink): void {
    this.#sinks.delete(sink);
    this.#invalidate();
  }

  onError(listener: (error: SluiceError) => void): void {
    this.#errorListeners.add(listener);
  }

  offError(listener: (error: SluiceError) => void): void {
    this.#errorListeners.delete(listener);
  }

  hasSubscribers(topic: string, besides?: EventSink): boolean {
    const entry = this.#entry(topic);
    if (this.#matching(entry).length > 0) return true;
    const sinks = this.#matchingSinks(entry);
    return besides === undefined ? sinks.length > 0 : sinks.some((sink) => sink !== besides);
  }

  reserveSeq(runId: string): number {
    const seq = (this.#seq.get(runId) ?? 0) + 1;
    this.#seq.set(runId, seq);
    return seq;
  }

  lastSeq(runId: string): number {
    return this.#seq.get(runId) ?? 0;
  }

  resumeSequence(runId: string, lastSeq: number): number {
    const next = Math.max(this.lastSeq(runId), lastSeq);
    this.#seq.set(runId, next);
    return next;
  }

  publish(topic: string, payload: unknown, runId: string): BusEvent | undefined {
    const entry = this.#entry(topic);
    const subscribers = this.#matching(entry);
    const sinks = this.#matchingSinks(entry);
    // Hot paths pay nothing when no one listens: no seq, no timestamp, no allocation.
    if (subscribers.length === 0 && sinks.length === 0) return undefined;
    const seq = (this.#seq.get(runId) ?? 0) + 1;
    this.#seq.set(runId, seq);
    const event: BusEvent = { seq, time: this.#isoNow(), runId, topic, payload };
    entry.stats.published++;
    for (const sink of sinks) {
      try {
        sink.onEvent(event);
      } catch (cause) {
        this.#report(
          new SluiceError(ErrorCode.BusSinkFailed, `A bus sink threw on event ${runId}#${seq} (\`${topic}\`)`, {
            cause,
            details: { topic, runId, seq },
          }),
        );
      }
    }
    for (const sub of subscribers) {
      if (sub.queue.push(event)) {
        sub.dropped++;
        entry.stats.dropped++;
        this.#noteOverflow(sub, runId);
      }
      if (!sub.scheduled && !sub.running) {
        sub.scheduled = true;
        queueMicrotask(() => void this.#drain(sub));
      }
    }
    return event;
  }

  topics(): string[] {
    const names = new Set<string>();
    for (const [topic, entry] of this.#topics) if (entry.stats.published > 0) names.add(topic);
    for (const sub of this.#subscribers.values()) names.add(sub.pattern.source);
    return [...names].sort();
  }

  stats(): Record<string, TopicStats> {
    const out: Record<string, TopicStats> = {};
    for (const [topic, entry] of this.#topics) {
      const s = entry.stats;
      if (s.published + s.delivered + s.failed + s.dropped > 0) out[topic] = { ...s };
    }
    return out;
  }

  subscribers(): SubscriberSnapshot[] {
    return [...this.#subscribers.values()].map((s) => ({
      id: s.id,
      name: s.name,
      pattern: s.pattern.source,
      size: s.queue.size,
      capacity: s.queue.capacity,
      dropped: s.dropped,
      delivered: s.delivered,
      failed: s.failed,
    }));
  }

  get sinkCount(): number {
    return this.#sinks.size;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  pending(): number {
    let n = this.#inFlight;
    for (const sub of this.#subscribers.values()) n += sub.queue.size;
    return n;
  }

  /**
   * A slow subscriber lost events: said on {@link BusOverflowTopic} at most once every
   * {@link kOverflowReportMs} per subscriber, with the count since the last report, so a storm of
   * drops is one event a second, never one per drop.
   */
  #noteOverflow(sub: Subscriber, runId: string): void {
    const pending = this.#overflowed.get(sub);
    if (pending === undefined) this.#overflowed.set(sub, { dropped: 1, runId });
    else {
      pending.dropped++;
      pending.runId = runId;
    }
    this.#overflowTimer ??= this.#options.clock.setTimeout(() => this.#reportOverflow(), kOverflowReportMs, { ref: false });
  }

  #reportOverflow(): void {
    this.#overflowTimer = undefined;
    const reports = [...this.#overflowed];
    this.#overflowed.clear();
    if (this.#closed) return;
    for (const [sub, { dropped, runId }] of reports) {
      this.publish(
        BusOverflowTopic,
        { subscriber: sub.name, pattern: sub.pattern.source, dropped, totalDropped: sub.dropped, capacity: sub.queue.capacity },
        runId,
      );
    }
  }

  /** Closes to publishers and waits until queues are empty and handlers settled, or `timeout`. */
  async shutdown(timeout: number): Promise<{ drained: boolean; pending: number }> {
    this.#closed = true;
    this.#overflowTimer?.cancel();
    this.#overflowTimer = undefined;
    let timer: TimerHandle | undefined;
    const drained = await new Promise<boolean>((resolve) => {
      if (this.pending() === 0) return resolve(true);
      const done = (): void => resolve(true);
      this.#idleWaiters.add(done);
      timer = this.#options.clock.setTimeout(() => {
        this.#idleWaiters.delete(done);
        resolve(false);
      }, timeout);
    });
    timer?.cancel();
    const pending = this.pending();
    for (const id of [...this.#subscribers.keys()]) this.unsubscribe(id);
    this.#sinks.clear();
    return { drained, pending };
  }

  async #drain(sub: Subscriber): Promise<void> {
    sub.scheduled = false;
    sub.running = true;
    // Deliver what is queued now; events published meanwhile wait for the next turn so that a
    // handler publishing to its own topic cannot starve the event loop.
    let budget = sub.queue.size;
    while (sub.active && budget-- > 0) {
      const event = sub.queue.shift();
      if (event === undefined) break;
      const stats = this.#entry(event.topic).stats;
      this.#inFlight++;
      try {
        const result = sub.handler(event);
        // A handler may return anything; only a thenable is awaited (null, a number… are not).
        if (isThenable(result)) await result;
        sub.delivered++;
        stats.delivered++;
      } catch (cause) {
        sub.failed++;
        stats.failed++;
        this.#report(
          new SluiceError(
            ErrorCode.BusHandlerFailed,
            `Subscriber \`${sub.name}\` failed on event ${event.runId}#${event.seq} (\`${event.topic}\`)`,
            { cause, details: { subscriber: sub.name, topic: event.topic, runId: event.runId, seq: event.seq } },
          ),
        );
      } finally {
        this.#inFlight--;
      }
    }
    sub.running = false;
    if (sub.active && sub.queue.size > 0) {
      sub.scheduled = true;
      setImmediate(() => void this.#drain(sub));
    }
    this.#checkIdle();
  }

  /** ISO text of the wall time, formatted once per millisecond (formatting costs more than publishing). */
  #isoNow(): string {
    const ms = this.#options.wallTime();
    if (ms !== this.#isoMs) {
      this.#isoMs = ms;
      this.#iso = new Date(ms).toISOString();
    }
    return this.#iso;
  }

  #report(error: SluiceError): void {
    reportToListeners(this.#errorListeners, error);
  }

  #checkIdle(): void {
    if (this.#idleWaiters.size === 0 || this.pending() > 0) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }

  #entry(topic: string): TopicEntry {
    let entry = this.#topics.get(topic);
    if (entry === undefined) {
      entry = { topic, stats: { published: 0, delivered: 0, failed: 0, dropped: 0 }, subscribers: undefined, sinks: undefined };
      this.#topics.set(topic, entry);
    }
    return entry;
  }

  #matching(entry: TopicEntry): Subscriber[] {
    if (entry.subscribers !== undefined) return entry.subscribers;
    entry.subscribers = [...this.#subscribers.values()].filter((s) => s.pattern.matches(entry.topic));
    return entry.subscribers;
  }

  #matchingSinks(entry: TopicEntry): EventSink[] {
    if (entry.sinks !== undefined) return entry.sinks;
    entry.sinks = [];
    for (const [sink, topics] of this.#sinks)
      if (topics === undefined || topics.some((p) => p.matches(entry.topic))) entry.sinks.push(sink);
    return entry.sinks;
  }

  /** Changes whenever the set of subscribers or sinks changes (for callers caching `hasSubscribers`). */
  get version(): number {
    return this.#version;
  }

  #invalidate(): void {
    this.#version++;
    for (const entry of this.#topics.values()) {
      entry.subscribers = undefined;
      entry.sinks = undefined;
    }
  }
}

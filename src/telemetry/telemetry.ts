/**
 * Telemetry: a registry of named latency trackers, throughput counters and drift monitors, plus
 * the system probe, sampled on an interval and published as one snapshot on the bus topic
 * {@link TelemetryTopic}. Publishing is skipped when nobody listens.
 */
import { BusTicker, type EventBus } from '../bus/index.ts';
import { type Clock, realClock } from '../core/clock.ts';
import { DriftMonitor, type DriftMonitorOptions, type DriftResult } from './drift-monitor.ts';
import { LatencyTracker, type LatencySnapshot, type LatencyTrackerOptions } from './latency-tracker.ts';
import type { SystemProbe, SystemSnapshot } from './system-probe.ts';
import { checkInteger, failOption } from '../core/validate.ts';
import { ThroughputCounter, type ThroughputCounterOptions, type ThroughputSnapshot } from './throughput-counter.ts';

/** The topic telemetry snapshots are published on. */
export const TelemetryTopic = 'telemetry';

/** Options of {@link Telemetry}. */
export interface TelemetryOptions {
  /** The bus snapshots are published on (the one the Runtime was given, never a default). */
  bus: EventBus;
  /** The system probe whose last sample goes into each snapshot; its owner starts and stops it. */
  probe?: SystemProbe;
  /**
   * Time between snapshots, in ms.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * The run (stream) snapshots belong to.
   * @default the bus's default run
   */
  runId?: string;
  /**
   * Source of time and timers (also given to the throughput counters it creates).
   * @default realClock
   */
  clock?: Clock;
  /**
   * Wall time in ms since the epoch, for the snapshot's `time`.
   * @default Date.now
   */
  wallTime?: () => number;
}

/** One telemetry snapshot, the payload published on {@link TelemetryTopic}. */
export interface TelemetrySnapshot {
  readonly time: string;
  /** The probe's last sample; absent without a probe or before its first sample. */
  readonly system?: SystemSnapshot;
  readonly latency: Readonly<Record<string, LatencySnapshot>>;
  readonly throughput: Readonly<Record<string, ThroughputSnapshot>>;
  readonly drift: Readonly<Record<string, DriftResult>>;
}

/**
 * Collects and publishes telemetry.
 *
 * @example
 * ```ts
 * const telemetry = new Telemetry({ bus, probe, intervalMs: 500 }).start();
 * telemetry.latency('activation').record(1.7);
 * telemetry.throughput('items').add(64);
 * telemetry.drift('activation', { delta: 0.1, threshold: 20 }).update(1.7);
 * bus.subscribe(TelemetryTopic, (event) => console.log(event.payload));
 * ```
 */
export class Telemetry {
  readonly #bus: EventBus;
  readonly #probe: SystemProbe | undefined;
  readonly #runId: string | undefined;
  readonly #clock: Clock;
  readonly #wallTime: () => number;
  readonly #latency = new Map<string, LatencyTracker>();
  readonly #throughput = new Map<string, ThroughputCounter>();
  readonly #drift = new Map<string, DriftMonitor>();
  readonly #ticker: BusTicker;

  constructor(options: TelemetryOptions) {
    if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
    if (typeof options.bus?.publish !== 'function') failOption('bus', 'an EventBus', options.bus);
    this.#bus = options.bus;
    this.#probe = options.probe;
    const intervalMs = checkInteger('intervalMs', options.intervalMs ?? 1000, 1);
    this.#runId = options.runId;
    this.#clock = options.clock ?? realClock;
    this.#wallTime = options.wallTime ?? Date.now;
    this.#ticker = new BusTicker(options.bus, this.#clock, intervalMs, () => void this.publish());
  }

  /** The latency tracker called `name`, created on first use with `options`. */
  latency(name: string, options?: LatencyTrackerOptions): LatencyTracker {
    return getOrCreate(this.#latency, name, () => new LatencyTracker(options));
  }

  /** The throughput counter called `name`, created on first use with `options`. */
  throughput(name: string, options?: Omit<ThroughputCounterOptions, 'clock'>): ThroughputCounter {
    return getOrCreate(this.#throughput, name, () => new ThroughputCounter({ ...options, clock: this.#clock }));
  }

  /** The drift monitor called `name`, created on first use with `options`. */
  drift(name: string, options?: DriftMonitorOptions): DriftMonitor {
    return getOrCreate(this.#drift, name, () => new DriftMonitor(options));
  }

  /** A snapshot of everything now (plain copies). */
  snapshot(): TelemetrySnapshot {
    const latency: Record<string, LatencySnapshot> = {};
    for (const [name, t] of this.#latency) latency[name] = t.snapshot();
    const throughput: Record<string, ThroughputSnapshot> = {};
    for (const [name, c] of this.#throughput) throughput[name] = c.snapshot();
    const drift: Record<string, DriftResult> = {};
    for (const [name, d] of this.#drift) drift[name] = d.snapshot();
    const system = this.#probe?.snapshot();
    return { time: new Date(this.#wallTime()).toISOString(), ...(system === undefined ? {} : { system }), latency, throughput, drift };
  }

  /** Publishes one snapshot now, when anyone listens; returns it (or undefined when skipped). */
  publish(): TelemetrySnapshot | undefined {
    if (this.#bus.isClosed || !this.#bus.hasSubscribers(TelemetryTopic)) return undefined;
    const snapshot = this.snapshot();
    this.#bus.publish(TelemetryTopic, snapshot, this.#runId === undefined ? undefined : { runId: this.#runId });
    return snapshot;
  }

  /** Publishes every `intervalMs` until stopped; idempotent. */
  start(): this {
    this.#ticker.start();
    return this;
  }

  /** Stops publishing; idempotent. */
  stop(): void {
    this.#ticker.stop();
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.#ticker.isRunning;
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

function getOrCreate<T>(map: Map<string, T>, name: string, create: () => T): T {
  if (typeof name !== 'string' || name.length === 0) failOption('name', 'a non-empty string', name);
  let value = map.get(name);
  if (value === undefined) {
    value = create();
    map.set(name, value);
  }
  return value;
}

/**
 * The system probe: samples CPU, memory, process RSS and event-loop delay, disk and network
 * rates and (where present) GPUs in the background on an interval, and answers `snapshot()`
 * instantly from the last sample. Slow readings never run on the caller's path: routing and the
 * governor only ever read the snapshot.
 */
import os from 'node:os';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { type Clock, type TimerHandle, realClock } from '../core/clock.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { GpuSnapshot, MemoryReading, ProbeSource } from './probe-source.ts';
import { createSystemInformationSource } from './system-information-source.ts';
import { checkInteger, failOption } from '../core/validate.ts';

/** Options of {@link SystemProbe}. */
export interface SystemProbeOptions {
  /**
   * Time between samples, in ms.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * GPUs are read every this many samples (reading them spawns a process). When the first read
   * finds none, they are not read again.
   * @default 10
   */
  gpuEvery?: number;
  /**
   * Where readings come from.
   * @default createSystemInformationSource()
   */
  source?: ProbeSource;
  /**
   * Source of time and timers.
   * @default realClock
   */
  clock?: Clock;
  /**
   * Wall time in ms since the epoch, for the snapshot's `time`.
   * @default Date.now
   */
  wallTime?: () => number;
}

/** Event-loop delay over the last interval, in ms. */
export interface EventLoopDelay {
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * One sample. Parts a machine cannot report are absent (`disk`, `network`, `gpu`), never
 * zero-filled: no `gpu` key means no GPU. Disk and network rates need two readings, so they
 * are absent from the first sample.
 */
export interface SystemSnapshot {
  /** Wall time of the sample, ISO. */
  readonly time: string;
  /** Samples taken so far (this one included). */
  readonly sample: number;
  readonly cpu: { readonly load: number; readonly cores: number };
  readonly memory: MemoryReading & { readonly usedRatio: number };
  readonly process: {
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
    /** Over the last interval; absent when the probe is not running (a manual `sampleNow()`). */
    readonly eventLoopDelay?: EventLoopDelay;
  };
  readonly disk?: { readonly readBytesPerSec: number; readonly writeBytesPerSec: number };
  readonly network?: { readonly rxBytesPerSec: number; readonly txBytesPerSec: number };
  readonly gpu?: readonly GpuSnapshot[];
}

interface Counter {
  a: number;
  b: number;
  at: number;
}

/**
 * Samples the machine in the background.
 *
 * @example
 * ```ts
 * const probe = new SystemProbe({ intervalMs: 500 });
 * await probe.start();              // resolves after the first sample
 * probe.snapshot()?.cpu.load;       // instant: the last sample
 * probe.stop();
 * ```
 */
export class SystemProbe {
  readonly #intervalMs: number;
  readonly #gpuEvery: number;
  readonly #source: ProbeSource;
  readonly #clock: Clock;
  readonly #wallTime: () => number;
  #histogram: IntervalHistogram | undefined;
  #timer: TimerHandle | undefined;
  #running = false;
  #first: Promise<void> | undefined;
  #last: SystemSnapshot | undefined;
  #sample = 0;
  #disk: Counter | undefined;
  #net: Counter | undefined;
  #gpus: readonly GpuSnapshot[] | undefined;
  #gpuAbsent = false;
  #errors = 0;
  #lastError: SluiceError | undefined;

  constructor(options: SystemProbeOptions = {}) {
    if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
    this.#intervalMs = checkInteger('intervalMs', options.intervalMs ?? 1000, 1);
    this.#gpuEvery = checkInteger('gpuEvery', options.gpuEvery ?? 10, 1);
    this.#source = options.source ?? createSystemInformationSource();
    if (typeof this.#source?.cpuLoad !== 'function') failOption('source', 'a ProbeSource', options.source);
    this.#clock = options.clock ?? realClock;
    this.#wallTime = options.wallTime ?? Date.now;
  }

  /** Starts sampling; resolves after the first sample. Idempotent. */
  start(): Promise<void> {
    if (this.#running) return this.#first ?? Promise.resolve();
    this.#running = true;
    this.#histogram = monitorEventLoopDelay({ resolution: 10 });
    this.#histogram.enable();
    this.#first = this.#loop();
    return this.#first;
  }

  /** Stops sampling; the last snapshot stays readable. Idempotent. */
  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#histogram?.disable();
    this.#histogram = undefined;
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.#running;
  }

  /** The last sample (a frozen object), or undefined before the first. Instant. */
  snapshot(): SystemSnapshot | undefined {
    return this.#last;
  }

  /** Readings that failed so far, and the last failure (coded `SLUICE_ERR_PROBE_FAILED`). */
  errors(): { count: number; lastError: SluiceError | undefined } {
    return { count: this.#errors, lastError: this.#lastError };
  }

  /** Takes one sample now (also what the background loop calls). */
  async sampleNow(): Promise<SystemSnapshot> {
    const sample = ++this.#sample;
    const readGpu = !this.#gpuAbsent && (sample === 1 || sample % this.#gpuEvery === 0);
    const [cpu, memory, disk, net, gpus] = await Promise.all([
      this.#read('cpu', () => this.#source.cpuLoad()),
      this.#read('memory', () => this.#source.memory()),
      this.#read('disk', () => this.#source.diskBytes()),
      this.#read('network', () => this.#source.networkBytes()),
      readGpu ? this.#read('gpu', () => this.#source.gpus()) : Promise.resolve(this.#gpus),
    ]);
    const now = this.#clock.now();
    if (readGpu && gpus !== undefined) {
      this.#gpus = gpus.length > 0 ? gpus : undefined;
      if (gpus.length === 0 && sample === 1) this.#gpuAbsent = true;
    }
    const mem = process.memoryUsage();
    const h = this.#histogram;
    const ns = (v: number | undefined): number => (v === undefined || Number.isNaN(v) ? 0 : v / 1e6);
    const eventLoopDelay: EventLoopDelay | undefined =
      h === undefined || h.count === 0
        ? undefined
        : { meanMs: ns(h.mean), p50Ms: ns(h.percentile(50)), p99Ms: ns(h.percentile(99)), maxMs: ns(h.max) };
    h?.reset();
    const fallbackMemory = this.#last?.memory;
    const snapshot: { -readonly [K in keyof SystemSnapshot]: SystemSnapshot[K] } = {
      time: new Date(this.#wallTime()).toISOString(),
      sample,
      cpu: { load: cpu ?? this.#last?.cpu.load ?? 0, cores: os.availableParallelism() },
      memory:
        memory === undefined
          ? (fallbackMemory ?? { totalBytes: 0, usedBytes: 0, availableBytes: 0, usedRatio: 0 })
          : { ...memory, usedRatio: memory.totalBytes > 0 ? memory.usedBytes / memory.totalBytes : 0 },
      process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, ...(eventLoopDelay === undefined ? {} : { eventLoopDelay }) },
    };
    const diskRate = disk === undefined ? undefined : rate(this.#disk, (this.#disk = { a: disk.read, b: disk.written, at: now }));
    if (diskRate !== undefined) snapshot.disk = { readBytesPerSec: diskRate[0], writeBytesPerSec: diskRate[1] };
    const netRate = net === undefined ? undefined : rate(this.#net, (this.#net = { a: net.rx, b: net.tx, at: now }));
    if (netRate !== undefined) snapshot.network = { rxBytesPerSec: netRate[0], txBytesPerSec: netRate[1] };
    if (this.#gpus !== undefined) snapshot.gpu = this.#gpus;
    this.#last = Object.freeze(snapshot);
    return this.#last;
  }

  async #loop(): Promise<void> {
    await this.sampleNow();
    if (!this.#running) return;
    this.#timer = this.#clock.setTimeout(() => {
      if (this.#running) void this.#loop();
    }, this.#intervalMs);
  }

  async #read<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (cause) {
      this.#errors++;
      this.#lastError = new SluiceError(ErrorCode.ProbeFailed, `Reading ${what} from the \`${this.#source.name}\` probe source failed`, {
        cause,
        details: { what, source: this.#source.name },
      });
      return undefined;
    }
  }
}

/** Per-second rates between two cumulative readings; undefined on the first reading. */
function rate(previous: Counter | undefined, current: Counter): [number, number] | undefined {
  if (previous === undefined) return undefined;
  const seconds = (current.at - previous.at) / 1000;
  if (seconds <= 0) return [0, 0];
  return [Math.max(0, (current.a - previous.a) / seconds), Math.max(0, (current.b - previous.b) / seconds)];
}

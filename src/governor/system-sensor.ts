/**
 * The governor's machine sensor: CPU, memory, GPU/VRAM where a GPU exists, disk and network
 * rates from telemetry's `SystemProbe` (the engine's one machine probe), sampled in the
 * background; process RSS and heap from
 * `process.memoryUsage()`; event-loop delay from `perf_hooks.monitorEventLoopDelay`.
 * `read()` answers instantly with the last values.
 * @module
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { realClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { SystemProbe, type SystemSnapshot } from '../telemetry/index.ts';
import { Metric } from './metric-names.ts';
import { checkFunction, checkKnownKeys, checkNumber, checkObject } from './option-checks.ts';
import { cleanReadings, type SensorReadings } from './sensor-source.ts';

/** A sensor with a background sampler the governor starts and stops with itself. */
export interface ManagedSensor {
  /** The last readings, instantly. */
  read(): SensorReadings;
  /** Starts background sampling; idempotent. */
  start(): void;
  /** Stops background sampling and releases its timer; idempotent. */
  stop(): void;
}

/** Options of {@link createSystemSensor}. */
export interface SystemSensorOptions {
  /**
   * Time between two background samples, milliseconds; at least 250 (one sample of CPU load
   * itself spans the interval since the previous one).
   * @default 500
   */
  intervalMs?: number;
  /**
   * The clock of the sampling timer.
   * @default realClock
   */
  clock?: Clock;
  /**
   * The machine probe; the default reads telemetry's `SystemProbe` (over `systeminformation`). Tests inject a scripted one.
   * @default a SystemProbe
   */
  probe?: () => Promise<SensorReadings>;
}

/**
 * Creates the machine probe. Without a GPU, `gpu_util` and `vram_util` are absent
 * (`undefined`), not `0`. Its timer is unref'd: sampling never keeps the process alive.
 *
 * @example
 * ```ts
 * const sensor = createSystemSensor({ intervalMs: 500 });
 * const governor = new Governor({ sensor }); // started and stopped with the governor
 * ```
 */
export function createSystemSensor(
  options: SystemSensorOptions = {},
): ManagedSensor & { readonly isRunning: boolean; readonly samples: number } {
  checkObject('system sensor options', options, true);
  checkKnownKeys('system sensor options', options, ['intervalMs', 'clock', 'probe']);
  const intervalMs = options.intervalMs ?? 500;
  checkNumber('sensor.intervalMs', intervalMs, 250);
  const clock = options.clock ?? realClock;
  const probe = options.probe ?? createMachineProbe();
  checkFunction('sensor.probe', probe);

  let last: Record<string, number> = {};
  let timer: TimerHandle | undefined;
  let running = false;
  let generation = 0;
  let samples = 0;
  let histogram: IntervalHistogram | undefined;

  const sample = async (gen: number): Promise<void> => {
    try {
      const values = cleanReadings(await probe());
      if (gen !== generation) return;
      if (histogram !== undefined && histogram.count > 0) {
        values[Metric.EventLoopDelayMs] = histogram.percentile(99) / 1e6;
        histogram.reset();
      }
      last = values;
      samples += 1;
    } catch {
      // A failed probe keeps the previous values; the next sample tries again.
    } finally {
      if (gen === generation && running) timer = clock.setTimeout(() => void sample(gen), intervalMs, { ref: false });
    }
  };

  return {
    get isRunning() {
      return running;
    },
    get samples() {
      return samples;
    },
    read(): SensorReadings {
      const memory = process.memoryUsage();
      return {
        ...last,
        [Metric.RssBytes]: memory.rss,
        [Metric.HeapUsedBytes]: memory.heapUsed,
        [Metric.HeapUtil]: memory.heapUsed / getHeapStatistics().heap_size_limit,
      };
    },
    start(): void {
      if (running) return;
      running = true;
      generation += 1;
      histogram = monitorEventLoopDelay({ resolution: 20 });
      histogram.enable();
      void sample(generation);
    },
    stop(): void {
      if (!running) return;
      running = false;
      generation += 1;
      timer?.cancel();
      timer = undefined;
      histogram?.disable();
      histogram = undefined;
    },
  };
}

/**
 * The default probe: telemetry's {@link SystemProbe} (one machine probe for the whole engine,
 * over `systeminformation`), its snapshot read as governor metrics. The GPU is looked for on the
 * first sample and every tenth; without one, GPU metrics stay absent.
 */
function createMachineProbe(): () => Promise<SensorReadings> {
  const probe = new SystemProbe();
  return async () => readingsOf(await probe.sampleNow());
}

/** A system snapshot as governor metrics (fractions of 0..1, bytes per second). */
export function readingsOf(snapshot: SystemSnapshot): SensorReadings {
  const out: Record<string, number | undefined> = {
    [Metric.CpuUtil]: snapshot.cpu.load,
    [Metric.MemUtil]: snapshot.memory.totalBytes > 0 ? snapshot.memory.usedRatio : undefined,
    [Metric.DiskReadBps]: snapshot.disk?.readBytesPerSec,
    [Metric.DiskWriteBps]: snapshot.disk?.writeBytesPerSec,
    [Metric.NetRxBps]: snapshot.network?.rxBytesPerSec,
    [Metric.NetTxBps]: snapshot.network?.txBytesPerSec,
  };
  const gpus = (snapshot.gpu ?? []).filter((g) => typeof g.utilization === 'number');
  if (gpus.length > 0) {
    out[Metric.GpuUtil] = Math.max(...gpus.map((g) => g.utilization ?? 0));
    const vram = gpus.filter(
      (g) => typeof g.memoryUsedBytes === 'number' && typeof g.memoryTotalBytes === 'number' && g.memoryTotalBytes > 0,
    );
    if (vram.length > 0) out[Metric.VramUtil] = Math.max(...vram.map((g) => (g.memoryUsedBytes ?? 0) / (g.memoryTotalBytes ?? 1)));
  }
  return out;
}

/**
 * The machine probe: CPU, memory, GPU/VRAM where a GPU exists, disk and network rates from
 * `systeminformation`, sampled in the background; process RSS and heap from
 * `process.memoryUsage()`; event-loop delay from `perf_hooks.monitorEventLoopDelay`.
 * `read()` answers instantly with the last values.
 * @module
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { realClock, type Clock, type TimerHandle } from '../core/clock.ts';
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
   * The machine probe; the default uses `systeminformation`. Tests inject a scripted one.
   * @default a systeminformation probe
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
export function createSystemSensor(options: SystemSensorOptions = {}): ManagedSensor & { readonly isRunning: boolean; readonly samples: number } {
  checkObject('system sensor options', options, true);
  checkKnownKeys('system sensor options', options, ['intervalMs', 'clock', 'probe']);
  const intervalMs = options.intervalMs ?? 500;
  checkNumber('sensor.intervalMs', intervalMs, 250);
  const clock = options.clock ?? realClock;
  const probe = options.probe ?? createSystemInformationProbe();
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
 * The default probe over `systeminformation` (loaded on first use). The GPU is looked for once;
 * without one, GPU metrics stay absent and `graphics()` is not called again.
 */
function createSystemInformationProbe(): () => Promise<SensorReadings> {
  let hasGpu: boolean | undefined;
  return async () => {
    const si = (await import('systeminformation')).default;
    const wantGpu = hasGpu !== false;
    const [load, mem, fs, net, graphics] = await Promise.allSettled([
      si.currentLoad(),
      si.mem(),
      si.fsStats(),
      si.networkStats('*'),
      wantGpu ? si.graphics() : Promise.resolve(undefined),
    ]);
    const out: Record<string, number | undefined> = {};
    if (load.status === 'fulfilled') out[Metric.CpuUtil] = load.value.currentLoad / 100;
    if (mem.status === 'fulfilled' && mem.value.total > 0) out[Metric.MemUtil] = mem.value.active / mem.value.total;
    if (fs.status === 'fulfilled' && fs.value !== null && fs.value !== undefined) {
      out[Metric.DiskReadBps] = fs.value.rx_sec ?? undefined;
      out[Metric.DiskWriteBps] = fs.value.wx_sec ?? undefined;
    }
    if (net.status === 'fulfilled') {
      const ifaces = net.value.filter((n) => n.iface !== 'lo' && n.rx_sec !== null && n.rx_sec !== undefined);
      if (ifaces.length > 0) {
        out[Metric.NetRxBps] = ifaces.reduce((sum, n) => sum + (n.rx_sec ?? 0), 0);
        out[Metric.NetTxBps] = ifaces.reduce((sum, n) => sum + (n.tx_sec ?? 0), 0);
      }
    }
    if (graphics.status === 'fulfilled' && graphics.value !== undefined) {
      const gpus = graphics.value.controllers.filter((c) => typeof c.utilizationGpu === 'number');
      hasGpu = gpus.length > 0;
      if (hasGpu) {
        out[Metric.GpuUtil] = Math.max(...gpus.map((c) => (c.utilizationGpu ?? 0) / 100));
        const vram = gpus.filter((c) => typeof c.memoryUsed === 'number' && typeof c.memoryTotal === 'number' && c.memoryTotal > 0);
        if (vram.length > 0) out[Metric.VramUtil] = Math.max(...vram.map((c) => (c.memoryUsed ?? 0) / (c.memoryTotal ?? 1)));
      }
    }
    return out;
  };
}

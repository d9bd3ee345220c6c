/**
 * The profiler: per metric, the last value, an EMA and a Kalman forecast, updated once a tick.
 * Readers get {@link MetricProfile} snapshots.
 * @module
 */
import { Ema } from './ema.ts';
import {
  createKalmanFilter,
  resolveKalmanOptions,
  type Forecaster,
  type KalmanOptions,
  type ResolvedKalmanOptions,
} from './kalman-filter.ts';
import { checkKnownKeys, checkNumber, checkObject } from './option-checks.ts';

/** Options of the profiler. */
export interface ProfilerOptions {
  /**
   * EMA weight of the newest sample, in (0, 1].
   * @default 0.3
   */
  alpha?: number;
  /** The Kalman filter of every metric. */
  kalman?: KalmanOptions;
}

/** Profiler options with every default filled in. */
export interface ResolvedProfilerOptions {
  readonly alpha: number;
  readonly kalman: ResolvedKalmanOptions;
}

/**
 * Validates profiler options and fills in defaults.
 *
 * @example
 * ```ts
 * resolveProfilerOptions({ alpha: 0.5 }).kalman.model; // 'constant-velocity'
 * ```
 */
export function resolveProfilerOptions(options: ProfilerOptions | undefined): ResolvedProfilerOptions {
  checkObject('profiler options', options, true);
  const o = options ?? {};
  checkKnownKeys('profiler', o, ['alpha', 'kalman']);
  const alpha = o.alpha ?? 0.3;
  checkNumber('profiler.alpha', alpha, 0, 1, true);
  return Object.freeze({ alpha, kalman: resolveKalmanOptions(o.kalman) });
}

/** What the profiler knows of one metric: a plain snapshot. */
export interface MetricProfile {
  /** The last sample. */
  readonly current: number;
  /** The exponential moving average. */
  readonly ema: number;
  /** The Kalman forecast of the next sample (one control interval ahead). */
  readonly forecast: number;
  /** The Kalman-filtered level. */
  readonly estimate: number;
  /** The expected change per sample (Kalman trend; `0` for the random-walk model). */
  readonly trend: number;
  /** Samples folded in so far. */
  readonly samples: number;
}

interface Track {
  current: number;
  samples: number;
  ema: Ema;
  kalman: Forecaster;
}

/**
 * Smooths and forecasts every metric it is fed. A metric missing from a tick keeps its last
 * profile; it is not fed a zero.
 *
 * @example
 * ```ts
 * const profiler = new MetricProfiler();
 * profiler.update({ cpu_util: 0.4 });
 * profiler.update({ cpu_util: 0.6 });
 * profiler.profile('cpu_util')?.ema; // 0.46
 * ```
 */
export class MetricProfiler {
  readonly #options: ResolvedProfilerOptions;
  readonly #tracks = new Map<string, Track>();

  constructor(options?: ProfilerOptions) {
    this.#options = resolveProfilerOptions(options);
  }

  /** Folds in one tick of finite readings. */
  update(readings: Readonly<Record<string, number>>): void {
    for (const [name, value] of Object.entries(readings)) {
      let track = this.#tracks.get(name);
      if (track === undefined) {
        track = { current: value, samples: 0, ema: new Ema(this.#options.alpha), kalman: createKalmanFilter(this.#options.kalman) };
        this.#tracks.set(name, track);
      }
      track.current = value;
      track.samples += 1;
      track.ema.update(value);
      track.kalman.update(value);
    }
  }

  /** The profile of `name`, or `undefined` if it was never sampled. */
  profile(name: string): MetricProfile | undefined {
    const track = this.#tracks.get(name);
    if (track === undefined) return undefined;
    return {
      current: track.current,
      ema: track.ema.value ?? track.current,
      forecast: track.kalman.forecast ?? track.current,
      estimate: track.kalman.estimate ?? track.current,
      trend: track.kalman.trend,
      samples: track.samples,
    };
  }

  /** Every profile, by metric name. */
  profiles(): Record<string, MetricProfile> {
    const out: Record<string, MetricProfile> = {};
    for (const name of this.#tracks.keys()) out[name] = this.profile(name)!;
    return out;
  }

  /** Forgets the metrics whose names start with `prefix` (an unregistered subsystem's). */
  forget(prefix: string): void {
    for (const name of [...this.#tracks.keys()]) if (name.startsWith(prefix)) this.#tracks.delete(name);
  }
}

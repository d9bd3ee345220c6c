/**
 * Page-Hinkley change detection: tells when the mean of a series shifted, and which way.
 *
 * For each sample x_t with running mean x̄_t:
 * - upward:   m_t = α·m_{t-1} + (x_t − x̄_t − δ),  PH⁺ = m_t − min m   (alarm when > λ)
 * - downward: n_t = α·n_{t-1} + (x_t − x̄_t + δ),  PH⁻ = max n − n_t   (alarm when > λ)
 *
 * `delta` (δ) is the change too small to care about; `threshold` (λ) trades detection delay for
 * false alarms. Both are in the series' units.
 */
import { checkInteger, checkNumber } from '../core/validate.ts';

/** Options of {@link DriftMonitor}. */
export interface DriftMonitorOptions {
  /**
   * Magnitude of change tolerated (δ), in the series' units.
   * @default 0.005
   */
  delta?: number;
  /**
   * Alarm threshold (λ), in the series' units.
   * @default 50
   */
  threshold?: number;
  /**
   * Forgetting factor (α) of the cumulative sums, in (0, 1]; 1 forgets nothing.
   * @default 0.9999
   */
  alpha?: number;
  /**
   * Samples before any alarm (the mean needs to settle).
   * @default 30
   */
  minSamples?: number;
}

/** Which way the mean moved. */
export type DriftDirection = 'up' | 'down';

/** The state after one sample: a snapshot. */
export interface DriftResult {
  /** True on the sample where a change is detected (then the monitor starts over). */
  readonly drift: boolean;
  readonly direction: DriftDirection | undefined;
  /** The larger of PH⁺ and PH⁻ now (before the reset on an alarm). */
  readonly statistic: number;
  /** Running mean since the last reset. */
  readonly mean: number;
  /** Samples since the last reset. */
  readonly samples: number;
  /** Alarms so far. */
  readonly detections: number;
}

/**
 * A Page-Hinkley detector for one series.
 *
 * @example
 * ```ts
 * const drift = new DriftMonitor({ delta: 0.5, threshold: 20 });
 * for (const ms of latencies) {
 *   const r = drift.update(ms);
 *   if (r.drift) console.log(`latency moved ${r.direction}`);
 * }
 * ```
 */
export class DriftMonitor {
  readonly #delta: number;
  readonly #threshold: number;
  readonly #alpha: number;
  readonly #minSamples: number;
  #n = 0;
  #mean = 0;
  #up = 0;
  #upMin = 0;
  #down = 0;
  #downMax = 0;
  #detections = 0;
  #last: DriftResult;

  constructor(options: DriftMonitorOptions = {}) {
    this.#delta = checkNumber('delta', options.delta ?? 0.005, 0);
    this.#threshold = checkNumber('threshold', options.threshold ?? 50, 0, Number.POSITIVE_INFINITY, true);
    this.#alpha = checkNumber('alpha', options.alpha ?? 0.9999, 0, 1, true);
    this.#minSamples = checkInteger('minSamples', options.minSamples ?? 30, 1);
    this.#last = { drift: false, direction: undefined, statistic: 0, mean: 0, samples: 0, detections: 0 };
  }

  /** Feeds one sample; returns whether it completed a detected change. */
  update(x: number): DriftResult {
    checkNumber('x', x, Number.NEGATIVE_INFINITY);
    this.#n++;
    this.#mean += (x - this.#mean) / this.#n;
    this.#up = this.#alpha * this.#up + (x - this.#mean - this.#delta);
    this.#upMin = Math.min(this.#upMin, this.#up);
    this.#down = this.#alpha * this.#down + (x - this.#mean + this.#delta);
    this.#downMax = Math.max(this.#downMax, this.#down);
    const phUp = this.#up - this.#upMin;
    const phDown = this.#downMax - this.#down;
    let direction: DriftDirection | undefined;
    if (this.#n >= this.#minSamples) {
      if (phUp > this.#threshold && phUp >= phDown) direction = 'up';
      else if (phDown > this.#threshold) direction = 'down';
    }
    const result: DriftResult = {
      drift: direction !== undefined, direction, statistic: Math.max(phUp, phDown), mean: this.#mean, samples: this.#n,
      detections: this.#detections + (direction === undefined ? 0 : 1),
    };
    if (direction !== undefined) {
      this.#detections++;
      this.#restart();
    }
    this.#last = result;
    return result;
  }

  /** The result of the latest sample. */
  snapshot(): DriftResult {
    return this.#last;
  }

  /** Starts over (forgets the mean and the sums; keeps the detection count). */
  reset(): void {
    this.#restart();
  }

  #restart(): void {
    this.#n = 0;
    this.#mean = 0;
    this.#up = this.#upMin = 0;
    this.#down = this.#downMax = 0;
  }
}

/**
 * Page-Hinkley change detection: tells when the mean of a series shifted, and which way.
 *
 * For each sample x_t with running mean x̄_t and deviation d_t = (x_t − x̄_t) / s:
 * - upward:   m_t = α·m_{t-1} + (d_t − δ),  PH⁺ = m_t − min m   (alarm when > λ)
 * - downward: n_t = α·n_{t-1} + (d_t + δ),  PH⁻ = max n − n_t   (alarm when > λ)
 *
 * `delta` (δ) is the change too small to care about; `threshold` (λ) trades detection delay for
 * false alarms. With `scale: 'stddev'` (the default) s is the running standard deviation of the
 * series, so δ and λ are in standard deviations and the defaults hold for any series: on
 * stationary noise the sums drift away from the threshold (a false alarm needs a run of about
 * λ/δ = 50 standard deviations), and a shift of the mean by 3σ is detected after about
 * λ / (3 − δ) = 10 samples (at most 16 in the property test, over seeds and noise levels). With
 * `scale: 'raw'`, s = 1: δ and λ are in the series' own units, to be chosen for its noise.
 */
import { checkInteger, checkNumber, failOption } from '../core/validate.ts';

/** Options of {@link DriftMonitor}. */
export interface DriftMonitorOptions {
  /**
   * What `delta` and `threshold` are measured in: `'stddev'`, standard deviations of the series
   * (scale-free, safe defaults), or `'raw'`, the series' own units.
   * @default 'stddev'
   */
  scale?: 'stddev' | 'raw';
  /**
   * Magnitude of change tolerated (δ), in standard deviations (or the series' units with `scale: 'raw'`).
   * @default 0.5 (stddev), 0.005 (raw)
   */
  delta?: number;
  /**
   * Alarm threshold (λ), in standard deviations (or the series' units with `scale: 'raw'`).
   * @default 25 (stddev), 50 (raw)
   */
  threshold?: number;
  /**
   * Forgetting factor (α) of the cumulative sums, in (0, 1]; 1 forgets nothing.
   * @default 1 (stddev), 0.9999 (raw)
   */
  alpha?: number;
  /**
   * Samples before any alarm (the mean needs to settle; with `scale: 'stddev'`, the spread too:
   * the sums start after these samples).
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
  readonly #scaled: boolean;
  #n = 0;
  #mean = 0;
  /** Sum of squared deviations (Welford), for the running standard deviation. */
  #m2 = 0;
  #up = 0;
  #upMin = 0;
  #down = 0;
  #downMax = 0;
  #detections = 0;
  #last: DriftResult;

  constructor(options: DriftMonitorOptions = {}) {
    const scale = options.scale ?? 'stddev';
    if (scale !== 'stddev' && scale !== 'raw') failOption('scale', '"stddev" or "raw"', scale);
    this.#scaled = scale === 'stddev';
    this.#delta = checkNumber('delta', options.delta ?? (this.#scaled ? 0.5 : 0.005), 0);
    this.#threshold = checkNumber('threshold', options.threshold ?? (this.#scaled ? 25 : 50), 0, Number.POSITIVE_INFINITY, true);
    this.#alpha = checkNumber('alpha', options.alpha ?? (this.#scaled ? 1 : 0.9999), 0, 1, true);
    this.#minSamples = checkInteger('minSamples', options.minSamples ?? 30, 1);
    this.#last = { drift: false, direction: undefined, statistic: 0, mean: 0, samples: 0, detections: 0 };
  }

  /** Feeds one sample; returns whether it completed a detected change. */
  update(x: number): DriftResult {
    checkNumber('x', x, Number.NEGATIVE_INFINITY);
    // The spread of the samples before this one: a sample is judged against what came before.
    const spread = this.#scaled ? (this.#n > 1 ? Math.sqrt(this.#m2 / (this.#n - 1)) : 0) : 1;
    this.#n++;
    const before = this.#mean;
    this.#mean += (x - before) / this.#n;
    this.#m2 += (x - before) * (x - this.#mean);
    // Raw: the difference itself. Scaled: in standard deviations, once `minSamples` samples gave
    // a spread worth measuring by (a spread of three samples would make noise look like a shift).
    const deviation = !this.#scaled ? x - this.#mean : this.#n > this.#minSamples ? deviationOf(x - this.#mean, spread) : 0;
    this.#up = this.#alpha * this.#up + (deviation - this.#delta);
    this.#upMin = Math.min(this.#upMin, this.#up);
    this.#down = this.#alpha * this.#down + (deviation + this.#delta);
    this.#downMax = Math.max(this.#downMax, this.#down);
    const phUp = this.#up - this.#upMin;
    const phDown = this.#downMax - this.#down;
    let direction: DriftDirection | undefined;
    if (this.#n >= this.#minSamples) {
      if (phUp > this.#threshold && phUp >= phDown) direction = 'up';
      else if (phDown > this.#threshold) direction = 'down';
    }
    const result: DriftResult = {
      drift: direction !== undefined,
      direction,
      statistic: Math.max(phUp, phDown),
      mean: this.#mean,
      samples: this.#n,
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
    this.#m2 = 0;
    this.#up = this.#upMin = 0;
    this.#down = this.#downMax = 0;
  }
}

/** The largest deviation one sample can add, in standard deviations (a jump off a flat series). */
const kMaxDeviation = 1_000;

/** `difference` in units of `spread`; a change off a perfectly flat series counts as the largest deviation. */
function deviationOf(difference: number, spread: number): number {
  if (spread > 0) return Math.max(-kMaxDeviation, Math.min(kMaxDeviation, difference / spread));
  return difference === 0 ? 0 : Math.sign(difference) * kMaxDeviation;
}

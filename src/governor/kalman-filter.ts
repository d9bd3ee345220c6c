/**
 * One-dimensional Kalman filters that smooth a series and forecast its next sample. Two models:
 * `random-walk` (the level wanders; the forecast is the level) and `constant-velocity` (level
 * and per-sample trend; the forecast is level + trend, so a ramp is followed without lag).
 * The filters are linear: their gains do not depend on the data's scale, only on the ratio of
 * process to measurement noise.
 * @module
 */
import { checkKnownKeys, checkNumber, checkObject, checkOneOf } from './option-checks.ts';

/** A filter that estimates a series' level and forecasts the next sample. */
export interface Forecaster {
  /** The filtered level after the last sample; `undefined` before the first. */
  readonly estimate: number | undefined;
  /** The expected next sample (one step ahead); `undefined` before the first. */
  readonly forecast: number | undefined;
  /** The expected change per sample (`0` for the random-walk model). */
  readonly trend: number;
  /** Folds in one sample. */
  update(sample: number): void;
}

/** The models of {@link createKalmanFilter}. */
export type KalmanModel = 'random-walk' | 'constant-velocity';

/** Options of {@link createKalmanFilter}. */
export interface KalmanOptions {
  /**
   * The state model.
   * @default 'constant-velocity'
   */
  model?: KalmanModel;
  /**
   * Process noise `q`: how much the true level (or trend) may move per sample. Larger follows
   * changes faster; smaller smooths more. Only the ratio `q / r` matters.
   * @default 0.05
   */
  processNoise?: number;
  /**
   * Measurement noise `r`: how noisy one sample is.
   * @default 1
   */
  measurementNoise?: number;
}

/** Kalman options with every default filled in. */
export type ResolvedKalmanOptions = Readonly<Required<KalmanOptions>>;

/**
 * Validates Kalman options and fills in defaults.
 *
 * @example
 * ```ts
 * resolveKalmanOptions({ model: 'random-walk' }).processNoise; // 0.05
 * ```
 */
export function resolveKalmanOptions(options: KalmanOptions | undefined): ResolvedKalmanOptions {
  checkObject('kalman options', options, true);
  const o = options ?? {};
  checkKnownKeys('kalman', o, ['model', 'processNoise', 'measurementNoise']);
  const resolved = {
    model: o.model ?? 'constant-velocity',
    processNoise: o.processNoise ?? 0.05,
    measurementNoise: o.measurementNoise ?? 1,
  };
  checkOneOf('kalman.model', resolved.model, ['random-walk', 'constant-velocity']);
  checkNumber('kalman.processNoise', resolved.processNoise, 0, Number.POSITIVE_INFINITY, true);
  checkNumber('kalman.measurementNoise', resolved.measurementNoise, 0, Number.POSITIVE_INFINITY, true);
  return Object.freeze(resolved);
}

/**
 * Creates a Kalman forecaster.
 *
 * @example
 * ```ts
 * const kf = createKalmanFilter({ model: 'constant-velocity' });
 * for (const x of [10, 12, 14, 16, 18, 20]) kf.update(x);
 * kf.forecast; // close to 22
 * ```
 */
export function createKalmanFilter(options?: KalmanOptions): Forecaster {
  const o = resolveKalmanOptions(options);
  return o.model === 'random-walk'
    ? new RandomWalkKalman(o.processNoise, o.measurementNoise)
    : new ConstantVelocityKalman(o.processNoise, o.measurementNoise);
}

/** What both models keep: the process and measurement noise, and the level estimate. */
abstract class ScalarKalman implements Forecaster {
  protected readonly q: number;
  protected readonly r: number;
  protected level: number | undefined;

  constructor(processNoise: number, measurementNoise: number) {
    this.q = processNoise;
    this.r = measurementNoise;
  }

  get estimate(): number | undefined {
    return this.level;
  }

  abstract get forecast(): number | undefined;
  abstract get trend(): number;
  abstract update(sample: number): void;
}

/** Level-only model: `x[k+1] = x[k] + w`, `z = x + v`. */
export class RandomWalkKalman extends ScalarKalman {
  #p = 0;

  get forecast(): number | undefined {
    return this.level;
  }

  get trend(): number {
    return 0;
  }

  update(sample: number): void {
    if (this.level === undefined) {
      this.level = sample;
      this.#p = this.r;
      return;
    }
    const p = this.#p + this.q;
    const gain = p / (p + this.r);
    this.level += gain * (sample - this.level);
    this.#p = (1 - gain) * p;
  }
}

/**
 * Level-and-trend model with one sample as the time step: `level += trend`, with white
 * acceleration noise `Q = q · [[1/4, 1/2], [1/2, 1]]`.
 */
export class ConstantVelocityKalman extends ScalarKalman {
  #velocity = 0;
  // Covariance [[p00, p01], [p10, p11]]; kept symmetric, so p10 == p01.
  #p00 = 0;
  #p01 = 0;
  #p11 = 0;

  get forecast(): number | undefined {
    return this.level === undefined ? undefined : this.level + this.#velocity;
  }

  get trend(): number {
    return this.#velocity;
  }

  update(sample: number): void {
    if (this.level === undefined) {
      // The first sample fixes the level; the trend is unknown, so its variance starts large
      // and the second sample mostly decides it.
      this.level = sample;
      this.#velocity = 0;
      this.#p00 = this.r;
      this.#p01 = 0;
      this.#p11 = 1e3 * this.r;
      return;
    }
    // Predict: x = F x, P = F P F' + Q with F = [[1, 1], [0, 1]].
    const q = this.q;
    const level = this.level + this.#velocity;
    const p00 = this.#p00 + 2 * this.#p01 + this.#p11 + q / 4;
    const p01 = this.#p01 + this.#p11 + q / 2;
    const p11 = this.#p11 + q;
    // Update with H = [1, 0].
    const s = p00 + this.r;
    const k0 = p00 / s;
    const k1 = p01 / s;
    const innovation = sample - level;
    this.level = level + k0 * innovation;
    this.#velocity += k1 * innovation;
    this.#p00 = (1 - k0) * p00;
    this.#p01 = (1 - k0) * p01;
    this.#p11 = p11 - k1 * p01;
  }
}

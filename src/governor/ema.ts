/**
 * An exponential moving average: `ema = alpha * x + (1 - alpha) * ema`, seeded with the first
 * sample.
 *
 * @example
 * ```ts
 * const ema = new Ema(0.5);
 * ema.update(10); ema.update(20);
 * ema.value; // 15
 * ```
 */
import { checkNumber } from './option-checks.ts';

/** An exponential moving average of one series. */
export class Ema {
  /** The weight of the newest sample, in (0, 1]. */
  readonly alpha: number;
  #value: number | undefined;

  constructor(alpha: number) {
    checkNumber('alpha', alpha, 0, 1, true);
    this.alpha = alpha;
  }

  /** The average so far; `undefined` before the first sample. */
  get value(): number | undefined {
    return this.#value;
  }

  /** Folds in one sample and returns the new average. */
  update(sample: number): number {
    this.#value = this.#value === undefined ? sample : this.alpha * sample + (1 - this.alpha) * this.#value;
    return this.#value;
  }
}

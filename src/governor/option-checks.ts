/**
 * Checks the governor runs on values received at its public edge. Each throws a coded
 * {@link SluiceError} whose message names the option and the value received, in the project's
 * one form: ``Expected `intervalMs` to be a number >= 250, got `100` (number)``.
 *
 * @example
 * ```ts
 * checkNumber('intervalMs', options.intervalMs, 250); // throws SLUICE_ERR_INVALID_ARGUMENT on 100
 * ```
 * @module
 */
import { assertFunction, assertInteger, assertKnownKeys, assertName, assertObject, assertOneOf, failOption } from '../core/validate.ts';

// The generic checks are core's; only the governor's own range phrasing lives here.
export {
  failOption,
  assertName as checkName,
  assertOneOf as checkOneOf,
  assertObject as checkObject,
  assertKnownKeys as checkKnownKeys,
  assertFunction as checkFunction,
};

/** Asserts `value` is an integer >= `min`. */
export function checkInteger(name: string, value: unknown, min: number): asserts value is number {
  assertInteger(name, value, min);
}

/** Asserts `value` is a finite number in `[min, max]`; a `min` of `Number.MIN_VALUE` reads "> 0". */
export function checkNumber(name: string, value: unknown, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const low = min === Number.MIN_VALUE ? '(0' : `[${min}`;
    const range =
      min === Number.NEGATIVE_INFINITY && max === Number.POSITIVE_INFINITY
        ? 'a finite number'
        : max === Number.POSITIVE_INFINITY
          ? min === Number.MIN_VALUE ? 'a number > 0' : `a number >= ${min}`
          : min === Number.NEGATIVE_INFINITY
            ? `a number <= ${max}`
            : `a number in ${low}, ${max}]`;
    failOption(name, range, value);
  }
}

/** Asserts `value` is a finite number strictly between `low` and `high`. */
export function checkOpenRange(name: string, value: unknown, low: number, high: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= low || value >= high) {
    failOption(name, `a number in (${low}, ${high})`, value);
  }
}

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
import {
  assertFunction,
  assertInteger,
  assertKnownKeys,
  assertName,
  assertObject,
  assertOneOf,
  checkNumber,
  failOption,
} from '../core/validate.ts';

// The generic checks are core's; the governor names them as it always has.
export {
  checkNumber,
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

/** Asserts `value` is a finite number strictly between `low` and `high`. */
export function checkOpenRange(name: string, value: unknown, low: number, high: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= low || value >= high) {
    failOption(name, `a number in (${low}, ${high})`, value);
  }
}

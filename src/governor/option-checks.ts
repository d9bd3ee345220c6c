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
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';

/** Throws the coded error for `name` expected as `expected` but received as `value`. */
export function failOption(name: string, expected: string, value: unknown): never {
  throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`${name}\` to be ${expected}, got ${describeReceived(value)}`, {
    details: { name, expected },
  });
}

/** {@link describeValue}, but `NaN` and `±Infinity` are shown as themselves (JSON would say `null`). */
export function describeReceived(value: unknown): string {
  return typeof value === 'number' && !Number.isFinite(value) ? `\`${value}\` (number)` : describeValue(value);
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

/** Asserts `value` is an integer >= `min`. */
export function checkInteger(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) failOption(name, `an integer >= ${min}`, value);
}

/** Asserts `value` is a non-empty string without surrounding spaces. */
export function checkName(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.trim() !== value) {
    failOption(name, 'a non-empty string without surrounding spaces', value);
  }
}

/** Asserts `value` is one of `choices`. */
export function checkOneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    failOption(name, `one of ${choices.map((c) => `"${c}"`).join(', ')}`, value);
  }
}

/** Asserts `value` is a plain object, or undefined when `optional`. */
export function checkObject(name: string, value: unknown, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) failOption(name, 'an object', value);
}

/** Asserts `value` has no keys besides `known`, so a misspelt option is caught, not ignored. */
export function checkKnownKeys(name: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Unknown option \`${name}.${key}\`; expected one of ${known.map((k) => `\`${k}\``).join(', ')}`,
        { details: { name, key } },
      );
    }
  }
}

/** Asserts `value` is a function. */
export function checkFunction(name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') failOption(name, 'a function', value);
}

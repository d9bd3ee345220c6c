/**
 * Checks for values received at the telemetry's public edge, in the project's one message form.
 */
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';

/** @internal */
export function failOption(name: string, expected: string, value: unknown): never {
  throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`${name}\` to be ${expected}, got ${describeValue(value)}`, {
    details: { name, expected },
  });
}

/** @internal Checks an integer in `[min, max]`. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    failOption(name, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

/** @internal Checks a finite number in `[min, max]` (`exclusiveMin` excludes `min`). */
export function checkNumber(name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY, exclusiveMin = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (exclusiveMin && value === min)) {
    const low = exclusiveMin ? `> ${min}` : `>= ${min}`;
    failOption(name, max === Number.POSITIVE_INFINITY ? `a finite number ${low}` : `a number ${low} and <= ${max}`, value);
  }
  return value;
}

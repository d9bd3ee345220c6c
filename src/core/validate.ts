/**
 * Checks for values received at the public edge. Each throws a coded
 * {@link SluiceError} whose message names the thing and the value received, in one form:
 * ``Expected `threads` to be an integer >= 1, got `0` (number)``.
 */
import { ErrorCode, SluiceError, describeValue } from './errors.ts';

/** Throws the coded error for `name` expected as `expected` but received as `value`. */
export function failOption(name: string, expected: string, value: unknown): never {
  throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`${name}\` to be ${expected}, got ${describeValue(value)}`, {
    details: { name, expected },
  });
}

/** Asserts `value` is an integer within `[min, max]`. */
export function assertInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    failOption(name, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, value);
  }
}

/** Asserts `value` is a finite number within `[min, max]`. */
export function assertNumber(name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    failOption(name, max === Number.POSITIVE_INFINITY ? `a number >= ${min}` : `a number in [${min}, ${max}]`, value);
  }
}

/**
 * Asserts `value` is a duration in milliseconds: a finite number >= `min`, or `Infinity` when
 * `noLimit` says that means "no limit" (a timeout that never fires). Delays past Node's timer
 * ceiling (2^31 - 1 ms) are valid: sluice's clock chains timers instead of letting Node clamp
 * them to 1 ms.
 */
export function assertMs(
  name: string,
  value: unknown,
  min: number,
  options: { noLimit?: boolean; integer?: boolean } = {},
): asserts value is number {
  const ok =
    typeof value === 'number' &&
    value >= min &&
    (Number.isFinite(value) || (options.noLimit === true && value === Number.POSITIVE_INFINITY)) &&
    (options.integer !== true || Number.isInteger(value));
  if (!ok) {
    const what = options.integer === true ? 'an integer number of ms' : 'a finite number of ms';
    failOption(name, `${what} >= ${min}${options.noLimit === true ? ' (or Infinity for no limit)' : ''}`, value);
  }
}

/** Asserts `value` is a non-empty string without surrounding spaces. */
export function assertName(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.trim() !== value) {
    failOption(name, 'a non-empty string without surrounding spaces', value);
  }
}

/** Asserts `value` is a function. */
export function assertFunction(name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') failOption(name, 'a function', value);
}

/** Asserts `value` is one of `choices`. */
export function assertOneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    failOption(name, `one of ${choices.map((c) => `"${c}"`).join(', ')}`, value);
  }
}

/** Asserts `value` is a plain object (or undefined when `optional`). */
export function assertObject(name: string, value: unknown, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) failOption(name, 'an object', value);
}

/** Asserts that `value` has no keys besides `known` (catches misspelt options). */
export function assertKnownKeys(name: string, value: object, known: readonly string[]): void {
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

/** Checks `value` is an integer within `[min, max]` and returns it. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  assertInteger(name, value, min, max);
  return value;
}

/**
 * Checks `value` is a finite number within `[min, max]` (`exclusiveMin` excludes `min`) and
 * returns it; the message says the range the way a reader writes it: ``a number in (0, 1]``,
 * ``a number >= 250``, ``a finite number``.
 *
 * @example
 * ```ts
 * const alpha = checkNumber('alpha', options.alpha ?? 0.1, 0, 1, true); // (0, 1]
 * ```
 */
export function checkNumber(
  name: string,
  value: unknown,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
  exclusiveMin = false,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (exclusiveMin && value === min)) {
    failOption(name, numberRange(min, max, exclusiveMin), value);
  }
  return value;
}

function numberRange(min: number, max: number, exclusiveMin: boolean): string {
  const hasMin = min !== Number.NEGATIVE_INFINITY;
  const hasMax = max !== Number.POSITIVE_INFINITY;
  if (hasMin && hasMax) return `a number in ${exclusiveMin ? '(' : '['}${min}, ${max}]`;
  if (hasMin) return `a number ${exclusiveMin ? '>' : '>='} ${min}`;
  if (hasMax) return `a number <= ${max}`;
  return 'a finite number';
}

/**
 * True for a promise or any other thenable (an object or function with a `then` method): what
 * `await` would wait for. Logic, handlers and checks may return one.
 *
 * @example
 * ```ts
 * if (isThenable(result)) await result;
 * ```
 */
export function isThenable<T = unknown>(value: unknown): value is PromiseLike<T> {
  return (
    value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<T>).then === 'function'
  );
}

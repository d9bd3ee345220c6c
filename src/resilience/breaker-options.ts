/**
 * Options of a circuit breaker, declared once, defaulted once, validated at the edge.
 *
 * @module
 */
import { type Clock, realClock } from '../core/clock.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertInteger, assertKnownKeys, assertNumber, assertObject, assertOneOf } from '../core/validate.ts';

/** How a breaker decides to open. */
export type BreakerKind = 'consecutive' | 'sampling';

/** The kinds of breaker, for validation and docs. */
export const kBreakerKinds: readonly BreakerKind[] = ['consecutive', 'sampling'];

/**
 * Options of {@link SluiceBreaker}. Which failures open the breaker is decided by cockatiel's
 * strategies: `ConsecutiveBreaker(threshold)` for `consecutive`, `SamplingBreaker({ threshold,
 * duration, minimumRps })` for `sampling`.
 *
 * @example
 * ```ts
 * const options: BreakerOptions = { kind: 'sampling', threshold: 0.5, samplingDurationMs: 10_000, minimumRps: 2 };
 * ```
 */
export interface BreakerOptions {
  /**
   * `consecutive`: opens after `threshold` failures in a row. `sampling`: opens when more than
   * `threshold` (a fraction) of the calls in the last `samplingDurationMs` failed.
   * @default 'consecutive'
   */
  kind?: BreakerKind;
  /**
   * For `consecutive`, failures in a row (an integer >= 1). For `sampling`, the failure rate
   * in (0, 1).
   * @default 5 for `consecutive`, 0.5 for `sampling`
   */
  threshold?: number;
  /**
   * How long the breaker stays open before it lets one probe through (half-open), in ms.
   * @default 10000
   */
  halfOpenAfterMs?: number;
  /**
   * The window a `sampling` breaker looks at, in ms (at least 5 buckets of at most a second).
   * Only for `sampling`.
   * @default 30000
   */
  samplingDurationMs?: number;
  /**
   * Calls per second below which a `sampling` breaker never opens (too few calls to judge).
   * `0` lets cockatiel pick: enough calls for 5 failures a second at `threshold`.
   * Only for `sampling`.
   * @default 0
   */
  minimumRps?: number;
  /**
   * Source of time for the open → half-open delay. (A `sampling` breaker's buckets are kept by
   * cockatiel on wall time, `Date.now()`.)
   * @default realClock
   */
  clock?: Clock;
}

/** {@link BreakerOptions} with every default applied. */
export interface ResolvedBreakerOptions {
  readonly kind: BreakerKind;
  readonly threshold: number;
  readonly halfOpenAfterMs: number;
  readonly samplingDurationMs: number;
  readonly minimumRps: number;
  readonly clock: Clock;
}

/** The plain, serialisable part of {@link ResolvedBreakerOptions} (everything but the clock). */
export type BreakerSettings = Omit<ResolvedBreakerOptions, 'clock'>;

const kKeys = ['kind', 'threshold', 'halfOpenAfterMs', 'samplingDurationMs', 'minimumRps', 'clock'] as const;

/**
 * Validates `options` and applies the defaults. `samplingDurationMs` and `minimumRps` are
 * validated for both kinds (so registry-wide defaults can carry them) and used by `sampling`.
 *
 * @example
 * ```ts
 * resolveBreakerOptions({ threshold: 3 }); // { kind: 'consecutive', threshold: 3, halfOpenAfterMs: 10000, ... }
 * resolveBreakerOptions({ threshold: 0 }); // throws SLUICE_ERR_INVALID_ARGUMENT
 * ```
 */
export function resolveBreakerOptions(options: BreakerOptions = {}): ResolvedBreakerOptions {
  assertObject('breaker options', options);
  assertKnownKeys('breaker', options as Record<string, unknown>, kKeys);
  const kind = options.kind ?? 'consecutive';
  assertOneOf('kind', kind, kBreakerKinds);
  let threshold: number;
  if (kind === 'consecutive') {
    threshold = options.threshold ?? 5;
    assertInteger('threshold', threshold, 1);
  } else {
    threshold = options.threshold ?? 0.5;
    if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0 || threshold >= 1) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`threshold\` to be a number in (0, 1) for a sampling breaker, got ${describeValue(threshold)}`,
        {
          details: { name: 'threshold', expected: 'a number in (0, 1)' },
        },
      );
    }
  }
  const halfOpenAfterMs = options.halfOpenAfterMs ?? 10_000;
  assertNumber('halfOpenAfterMs', halfOpenAfterMs, 0, Number.MAX_SAFE_INTEGER);
  const samplingDurationMs = options.samplingDurationMs ?? 30_000;
  assertInteger('samplingDurationMs', samplingDurationMs, 5);
  const minimumRps = options.minimumRps ?? 0;
  assertNumber('minimumRps', minimumRps, 0, Number.MAX_SAFE_INTEGER);
  const clock = options.clock ?? realClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`clock\` to be a Clock (now, setTimeout), got ${describeValue(clock)}`, {
      details: { name: 'clock', expected: 'a Clock' },
    });
  }
  return { kind, threshold, halfOpenAfterMs, samplingDurationMs, minimumRps, clock };
}

/** The serialisable settings of `options` (for `toJSON()` and for comparing two breakers' options). */
export function breakerSettings(options: ResolvedBreakerOptions): BreakerSettings {
  const { kind, threshold, halfOpenAfterMs, samplingDurationMs, minimumRps } = options;
  return { kind, threshold, halfOpenAfterMs, samplingDurationMs, minimumRps };
}

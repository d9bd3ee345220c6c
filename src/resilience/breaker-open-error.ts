/**
 * The error of a call a circuit breaker refused. Callers branch on it (fail fast, route to the
 * fallback), so it is a subclass with its own guard.
 *
 * @module
 */
import { ErrorCode, SluiceError, type SluiceErrorOptions } from '../core/errors.ts';

/**
 * A breaker refused a call: it is open (until `details.halfOpenAt`), isolated by hand, or
 * half-open with its one probe already out. Code `SLUICE_ERR_CIRCUIT_OPEN`; `details` carries
 * `breaker` (its name), `state` and `retryAfterMs` (ms until it lets a probe through; absent
 * while isolated).
 *
 * @example
 * ```ts
 * const lease = breaker.tryAcquire();
 * if (!lease.allowed) console.log(lease.error.code, lease.error.retryAfterMs); // SLUICE_ERR_CIRCUIT_OPEN 1200
 * ```
 */
export class BreakerOpenError extends SluiceError {
  /** The breaker's name (`routine:<flow>/<routine>`, `dependency:<name>`, or the name given). */
  readonly breaker: string;
  /** Milliseconds until the breaker lets a probe through; `undefined` while isolated. */
  readonly retryAfterMs: number | undefined;

  constructor(breaker: string, message: string, retryAfterMs: number | undefined, options: SluiceErrorOptions = {}) {
    super(ErrorCode.CircuitOpen, message, options);
    this.breaker = breaker;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * True for a {@link BreakerOpenError}. (After crossing a thread an error is plain data; branch
 * on `code === ErrorCode.CircuitOpen` there.)
 *
 * @example
 * ```ts
 * if (isBreakerOpenError(error)) routeToFallback(error.breaker);
 * ```
 */
export function isBreakerOpenError(value: unknown): value is BreakerOpenError {
  return value instanceof BreakerOpenError;
}

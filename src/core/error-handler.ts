/**
 * What happens when a routine's logic throws or rejects. Set per routine (`flow.addRoutine(r, id,
 * { errorHandler })`) with a flow-wide default (`new Flow(id, { errorHandler })`).
 */
import { assertInteger, assertKnownKeys, assertMs, assertNumber, assertObject, assertOneOf } from './validate.ts';

/**
 * The strategies.
 *
 * @category Flows
 */
export const ErrorStrategy = {
  /** The activation's jobs fail; the worker keeps serving other jobs. */
  STOP: 'stop',
  /** The error is recorded in the jobs' trace and `errors`; the jobs go on and can complete. */
  CONTINUE: 'continue',
  /** The same items run again after a backoff delay, up to `maxAttempts` per job; then STOP. */
  RETRY: 'retry',
  /** The items are dropped without marking the jobs (counted as skipped in the trace). */
  SKIP: 'skip',
} as const;

/**
 * One of the values of {@link ErrorStrategy}.
 *
 * @inline
 */
export type ErrorStrategyValue = (typeof ErrorStrategy)[keyof typeof ErrorStrategy];

/**
 * Options of an error handler.
 *
 * @category Flows
 */
export interface ErrorHandlerOptions {
  /**
   * What to do with a failure.
   * @default 'stop'
   */
  strategy?: ErrorStrategyValue;
  /**
   * Runs per job and routine, the first included, before RETRY gives up and fails the job.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * Delay before the first retry, in milliseconds.
   * @default 100
   */
  retryDelayMs?: number;
  /**
   * Multiplier of the delay per further attempt: `retryDelayMs * backoff^(attempt-1)`.
   * @default 2
   */
  backoff?: number;
  /**
   * Random spread of each delay, as a fraction (0.2 = ±20%).
   * @default 0.2
   */
  jitter?: number;
  /**
   * Cap of any single delay, in milliseconds.
   * @default 30000
   */
  maxDelayMs?: number;
}

/**
 * A fully resolved error handler.
 *
 * @category Flows
 */
export type ErrorHandler = Readonly<Required<ErrorHandlerOptions>>;

const kKeys = ['strategy', 'maxAttempts', 'retryDelayMs', 'backoff', 'jitter', 'maxDelayMs'] as const;

/** The handler used when none is given: STOP. */
export const kDefaultErrorHandler: ErrorHandler = Object.freeze({
  strategy: 'stop',
  maxAttempts: 3,
  retryDelayMs: 100,
  backoff: 2,
  jitter: 0.2,
  maxDelayMs: 30_000,
});

/** Validates and fills in an error handler; `owner` names the routine or flow in messages. */
export function resolveErrorHandler(
  owner: string,
  options: ErrorHandlerOptions | undefined,
  base: ErrorHandler = kDefaultErrorHandler,
): ErrorHandler {
  if (options === undefined) return base;
  assertObject(`${owner} errorHandler`, options);
  assertKnownKeys(`${owner} errorHandler`, options as Record<string, unknown>, kKeys);
  const resolved = { ...base, ...options };
  assertOneOf(`${owner} errorHandler.strategy`, resolved.strategy, Object.values(ErrorStrategy));
  assertInteger(`${owner} errorHandler.maxAttempts`, resolved.maxAttempts, 1);
  assertMs(`${owner} errorHandler.retryDelayMs`, resolved.retryDelayMs, 0);
  assertNumber(`${owner} errorHandler.backoff`, resolved.backoff, 1);
  assertNumber(`${owner} errorHandler.jitter`, resolved.jitter, 0, 1);
  assertMs(`${owner} errorHandler.maxDelayMs`, resolved.maxDelayMs, 0);
  return Object.freeze(resolved);
}

/**
 * The delay before retry number `attempt` (1 = the first retry):
 * `min(maxDelayMs, retryDelayMs * backoff^(attempt-1))`, spread by ±`jitter`.
 */
export function retryDelay(handler: ErrorHandler, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(handler.maxDelayMs, handler.retryDelayMs * handler.backoff ** (attempt - 1));
  const spread = base * handler.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(handler.maxDelayMs, base + spread));
}

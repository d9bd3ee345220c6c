/**
 * The Runtime's options, declared once, defaulted once and validated at the edge.
 */
import { realClock, type Clock } from '../core/clock.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertFunction, assertInteger, assertKnownKeys, assertName, assertNumber, assertObject } from '../core/validate.ts';

/** Options of `new Runtime(options)`. */
export interface RuntimeOptions {
  /**
   * A name for logs and the event stream.
   * @default 'sluice'
   */
  name?: string;
  /**
   * The clock for policy timers, retry delays and durations; tests pass a `ManualClock`.
   * @default realClock
   */
  clock?: Clock;
  /**
   * Trace entries kept per job; further ones are counted in `job.traceDropped`.
   * @default 64
   */
  traceLimit?: number;
  /**
   * Activation records kept per worker in `executionHistory`.
   * @default 100
   */
  historyLimit?: number;
  /**
   * Finished jobs kept for `getJob()`/`listJobs()`; older ones are evicted (unfinished jobs are
   * always kept). Keeping many finished jobs costs memory and GC time on long runs.
   * @default 1000
   */
  jobHistoryLimit?: number;
  /**
   * Longest the scheduler runs routines before yielding to the event loop, in milliseconds.
   * @default 10
   */
  drainBudgetMs?: number;
  /**
   * The random source of retry jitter (tests make it deterministic).
   * @default Math.random
   */
  random?: () => number;
}

/** Options with every default filled in. */
export type ResolvedRuntimeOptions = Readonly<Required<RuntimeOptions>>;

const kKeys = ['name', 'clock', 'traceLimit', 'historyLimit', 'jobHistoryLimit', 'drainBudgetMs', 'random'] as const;

/** Validates `options` and fills in defaults. */
export function resolveRuntimeOptions(options: RuntimeOptions | undefined): ResolvedRuntimeOptions {
  assertObject('Runtime options', options, true);
  const o = options ?? {};
  assertKnownKeys('Runtime options', o as Record<string, unknown>, kKeys);
  const resolved = {
    name: o.name ?? 'sluice',
    clock: o.clock ?? realClock,
    traceLimit: o.traceLimit ?? 64,
    historyLimit: o.historyLimit ?? 100,
    jobHistoryLimit: o.jobHistoryLimit ?? 1000,
    drainBudgetMs: o.drainBudgetMs ?? 10,
    random: o.random ?? Math.random,
  };
  assertName('name', resolved.name);
  if (typeof resolved.clock !== 'object' || resolved.clock === null || typeof resolved.clock.now !== 'function' || typeof resolved.clock.setTimeout !== 'function') {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`clock\` to be a Clock (with now() and setTimeout()), got ${describeValue(resolved.clock)}`);
  }
  assertInteger('traceLimit', resolved.traceLimit, 0);
  assertInteger('historyLimit', resolved.historyLimit, 0);
  assertInteger('jobHistoryLimit', resolved.jobHistoryLimit, 0);
  assertNumber('drainBudgetMs', resolved.drainBudgetMs, 0.1);
  assertFunction('random', resolved.random);
  return Object.freeze(resolved);
}

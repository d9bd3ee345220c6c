/**
 * Options of the durable sink, declared once, defaulted once, validated at the edge.
 */
import { type Clock, realClock } from '../core/clock.ts';
import type { EventLog } from './event-log.ts';
import { checkInteger, failOption } from './store-checks.ts';

/** Options of {@link DurableSink}. */
export interface DurableSinkOptions {
  /** Where committed batches go. */
  log: EventLog;
  /**
   * Rows that trigger a commit at once.
   * @default 256
   */
  batchSize?: number;
  /**
   * The longest an event waits in a partial batch before it is committed, in ms.
   * @default 5
   */
  flushIntervalMs?: number;
  /**
   * The most rows one commit takes when the writer fell behind and events piled up (bigger
   * batches write faster, so a backlog shrinks).
   * @default 4096
   */
  maxBatchSize?: number;
  /**
   * Commits in flight at once. Two keep a writer thread busy while the next batch is encoded;
   * 1 makes commits strictly sequential (then what survives a crash is always a prefix).
   * @default 2
   */
  maxInFlight?: number;
  /**
   * Events accepted but not yet committed at which the sink reports pressure: `write()` returns
   * false and `ready()` waits until the backlog is back under half of it.
   * @default 65536
   */
  highWaterMark?: number;
  /**
   * First delay before retrying a failed commit, in ms; doubles per failure up to `retryMaxMs`.
   * @default 50
   */
  retryInitialMs?: number;
  /**
   * The longest delay between retries, in ms.
   * @default 5000
   */
  retryMaxMs?: number;
  /**
   * Consecutive failed commits after which health is `unhealthy` (before that, `degraded`).
   * @default 3
   */
  unhealthyAfterFailures?: number;
  /**
   * Consecutive commits failing with an error retrying cannot cure (disk full, read-only file,
   * I/O error, a file that is not a database) after which the sink gives up: it stops writing,
   * counts every event it holds or is given as `lost`, reports the error once and releases
   * producers waiting on `ready()`, so a dead disk cannot hang the run. A busy or locked
   * database is never given up on: that is a slow disk, and producers wait.
   * @default 5
   */
  giveUpAfterFailures?: number;
  /**
   * A commit in flight longer than this makes health `degraded` (a stalled database), in ms.
   * @default 2000
   */
  stallAfterMs?: number;
  /**
   * Source of time and timers.
   * @default realClock
   */
  clock?: Clock;
}

/** {@link DurableSinkOptions} with every default applied. */
export interface ResolvedDurableSinkOptions {
  readonly log: EventLog;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly maxBatchSize: number;
  readonly maxInFlight: number;
  readonly highWaterMark: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly unhealthyAfterFailures: number;
  readonly giveUpAfterFailures: number;
  readonly stallAfterMs: number;
  readonly clock: Clock;
}

/**
 * Validates `options` and applies the defaults. Cross-option rules throw `RangeError`.
 *
 * @example
 * ```ts
 * resolveDurableSinkOptions({ log }).batchSize; // 256
 * ```
 */
export function resolveDurableSinkOptions(options: DurableSinkOptions): ResolvedDurableSinkOptions {
  if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
  const { log } = options;
  if (typeof log !== 'object' || log === null || typeof log.append !== 'function') failOption('log', 'an EventLog', log);
  const resolved: ResolvedDurableSinkOptions = {
    log,
    batchSize: checkInteger('batchSize', options.batchSize ?? 256, 1),
    flushIntervalMs: checkInteger('flushIntervalMs', options.flushIntervalMs ?? 5, 0),
    maxBatchSize: checkInteger('maxBatchSize', options.maxBatchSize ?? 4096, 1),
    maxInFlight: checkInteger('maxInFlight', options.maxInFlight ?? 2, 1, 64),
    highWaterMark: checkInteger('highWaterMark', options.highWaterMark ?? 65_536, 2),
    retryInitialMs: checkInteger('retryInitialMs', options.retryInitialMs ?? 50, 0),
    retryMaxMs: checkInteger('retryMaxMs', options.retryMaxMs ?? 5000, 0),
    unhealthyAfterFailures: checkInteger('unhealthyAfterFailures', options.unhealthyAfterFailures ?? 3, 1),
    giveUpAfterFailures: checkInteger('giveUpAfterFailures', options.giveUpAfterFailures ?? 5, 1),
    stallAfterMs: checkInteger('stallAfterMs', options.stallAfterMs ?? 2000, 1),
    clock: options.clock ?? realClock,
  };
  if (resolved.maxBatchSize < resolved.batchSize) {
    throw new RangeError(`Expected \`maxBatchSize\` (${resolved.maxBatchSize}) to be >= \`batchSize\` (${resolved.batchSize})`);
  }
  if (resolved.retryMaxMs < resolved.retryInitialMs) {
    throw new RangeError(`Expected \`retryMaxMs\` (${resolved.retryMaxMs}) to be >= \`retryInitialMs\` (${resolved.retryInitialMs})`);
  }
  return resolved;
}

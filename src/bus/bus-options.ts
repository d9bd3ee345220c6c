/**
 * Options of the bus, declared once, defaulted once, validated at the edge.
 */
import { type Clock, realClock } from '../core/clock.ts';
import { assertName, checkInteger, failOption } from '../core/validate.ts';

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  /**
   * The run (stream) of events published without a `runId`.
   * @default 'default'
   */
  defaultRunId?: string;
  /**
   * Queue capacity of a subscriber that names none; past it the oldest events are dropped.
   * @default 1024
   */
  maxQueue?: number;
  /**
   * Source of timers for `shutdown({ timeout })`.
   * @default realClock
   */
  clock?: Clock;
  /**
   * Wall time in ms since the epoch, stamped on each event as ISO text.
   * @default Date.now
   */
  wallTime?: () => number;
}

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /**
   * Capacity of this subscriber's queue; when full, the oldest event is dropped and counted.
   * @default the bus's `maxQueue` (1024)
   * @example { maxQueue: 64 }
   */
  maxQueue?: number;
  /**
   * A name shown in `overflowStats()` and `queueSizes()`.
   * @default the pattern
   */
  name?: string;
  /** Aborting it ends the subscription, as `dispose()` does. */
  signal?: AbortSignal;
}

/** Options of {@link EventBus.publish}. */
export interface PublishOptions {
  /**
   * The run (stream) the event belongs to; its `seq` continues that run's sequence.
   * @default the bus's `defaultRunId`
   */
  runId?: string;
}

/** Options of {@link EventBus.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long to wait for queued events and in-flight handlers, in ms.
   * @default 5000
   */
  timeout?: number;
}

/** {@link EventBusOptions} with every default applied. */
export interface ResolvedEventBusOptions {
  readonly defaultRunId: string;
  readonly maxQueue: number;
  readonly clock: Clock;
  readonly wallTime: () => number;
}

export { checkInteger, failOption };

/** @internal Checks a run id: a non-empty string without surrounding spaces. */
export function checkRunId(name: string, value: unknown): string {
  assertName(name, value);
  return value;
}

/**
 * Validates `options` and applies the defaults.
 *
 * @example
 * ```ts
 * resolveEventBusOptions({ maxQueue: 64 }).defaultRunId; // 'default'
 * ```
 */
export function resolveEventBusOptions(options: EventBusOptions = {}): ResolvedEventBusOptions {
  if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
  const clock = options.clock ?? realClock;
  if (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') failOption('clock', 'a Clock', clock);
  const wallTime = options.wallTime ?? Date.now;
  if (typeof wallTime !== 'function') failOption('wallTime', 'a function', wallTime);
  return {
    defaultRunId: checkRunId('defaultRunId', options.defaultRunId ?? 'default'),
    maxQueue: checkInteger('maxQueue', options.maxQueue ?? 1024, 1),
    clock,
    wallTime,
  };
}

/**
 * What the resilience blocks publish, and the little of a bus they need. The Runtime's
 * `EventBus` fits structurally; so does a test double or an adapter that adds a run id.
 *
 * @module
 */
import { ErrorCode, isSluiceError } from '../core/errors.ts';

/** The topics the resilience blocks publish. */
export const ResilienceTopic = {
  /** A circuit breaker changed state; payload `BreakerTransition`. */
  BreakerState: 'breaker.state',
  /** The runtime changed lifecycle state; payload `RuntimeTransition`. */
  RuntimeState: 'runtime.state',
} as const;

/** One of the values of {@link ResilienceTopic}. */
export type ResilienceTopicName = (typeof ResilienceTopic)[keyof typeof ResilienceTopic];

/**
 * The part of a bus the resilience blocks use. When `hasSubscribers` is present it is asked
 * first, so nothing is built or published when nobody listens.
 *
 * @example
 * ```ts
 * const bus: ResilienceBus = {
 *   publish: (topic, payload) => runtimeBus.publish(topic, payload, { runId }),
 *   hasSubscribers: (topic) => runtimeBus.hasSubscribers(topic),
 * };
 * ```
 */
export interface ResilienceBus {
  publish(topic: string, payload: unknown): unknown;
  hasSubscribers?(topic: string): boolean;
}

/**
 * Publishes `payload()` on `topic` when `bus` is given and someone listens. A bus that refuses
 * (closed during shutdown, a sink that throws) never fails the state change being announced:
 * a closed bus is ignored, anything else becomes a process warning.
 */
export function publishOn(bus: ResilienceBus | undefined, topic: ResilienceTopicName, payload: () => unknown): void {
  if (bus === undefined) return;
  try {
    if (bus.hasSubscribers !== undefined && !bus.hasSubscribers(topic)) return;
    bus.publish(topic, payload());
  } catch (error) {
    if (isSluiceError(error) && error.code === ErrorCode.BusClosed) return;
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(`Publishing "${topic}" failed: ${message}`, { code: 'SLUICE_PUBLISH_FAILED' });
  }
}

/** Checks at the edge that `bus` looks like a {@link ResilienceBus}. */
export function isResilienceBus(bus: unknown): bus is ResilienceBus {
  if (typeof bus !== 'object' || bus === null) return false;
  const candidate = bus as { publish?: unknown; hasSubscribers?: unknown };
  return (
    typeof candidate.publish === 'function' && (candidate.hasSubscribers === undefined || typeof candidate.hasSubscribers === 'function')
  );
}

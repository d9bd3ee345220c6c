/**
 * `sluice/testing`: what a test of a flow needs — a manual clock (time moves only when the test
 * says), the in-memory event log, and the clock interface the runtime, its policies and the
 * governor take.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const runtime = new Runtime({ clock, record: { log: new MemoryEventLog() } });
 * clock.advance(1_000); // timeInterval policies and retries fire now
 * ```
 *
 * @module sluice/testing
 */
export { ManualClock, RealClock, realClock } from '../core/index.ts';
export type { Clock, TimerHandle } from '../core/index.ts';
export { MemoryEventLog } from '../store/index.ts';

/**
 * What a metrics exporter reads of a runtime at scrape time: the live counters and duration
 * histograms themselves, so exporting costs the engine nothing per item (the hot path records
 * into them anyway). Internal: reached through `runtime[kObserve]()`; readers must not mutate.
 */
import type { Slot } from '../core/slot.ts';
import type { WorkerCounters, WorkerStatus } from '../core/worker-state.ts';
import type { DurationStats } from './duration-stats.ts';

/** One routine of one worker. */
export interface RoutineObservation {
  readonly routineId: string;
  /** Where its activations run now. */
  readonly placement: 'inline' | 'pool';
  readonly durations: DurationStats;
  readonly slots: readonly Slot<unknown>[];
}

/** One worker. */
export interface WorkerObservation {
  readonly workerId: string;
  readonly flowId: string;
  readonly status: WorkerStatus;
  readonly counters: Readonly<WorkerCounters>;
  readonly routines: readonly RoutineObservation[];
}

/** The whole runtime. */
export interface RuntimeObservation {
  readonly workers: readonly WorkerObservation[];
  /** Job latency (post to end) per flow. */
  readonly jobLatency: ReadonlyMap<string, DurationStats>;
}

/** Internal: `runtime[kObserve]()` returns a {@link RuntimeObservation}. */
export const kObserve = Symbol('sluice.runtime.observe');

/** Labels of a recorded duration: `flow`, and for activations `routine` and `placement`. */
export type DurationLabels = Readonly<Record<string, string>>;

/** Receives every job latency and activation duration, in ms, while registered. */
export type DurationListener = (kind: 'job' | 'activation', labels: DurationLabels, ms: number) => void;

/** Internal: `runtime[kOnDuration](listener)` registers a {@link DurationListener}; returns its disposable. */
export const kOnDuration = Symbol('sluice.runtime.onDuration');

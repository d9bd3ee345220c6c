/**
 * The snapshots the governor hands out: what a tick saw and did, the telemetry payload, the
 * counters and the registered subsystems.
 * @module
 */
import type { Decision } from './decision.ts';
import type { ResolvedKnob } from './governable.ts';
import type { MetricProfile } from './metric-profiler.ts';

/** What one tick saw and did: a plain snapshot. */
export interface TickReport {
  /** The tick number (from 1). */
  readonly tick: number;
  /** Clock time of the tick. */
  readonly at: number;
  /** Every reading of the tick; subsystem metrics as `<subsystem>.<metric>`. */
  readonly metrics: Readonly<Record<string, number>>;
  /** The decisions of the tick. */
  readonly decisions: readonly Decision[];
  /** Sensors or subsystems that failed this tick, in words. */
  readonly errors: readonly string[];
}

/** The payload published on `drg.telemetry` once a tick (built only when someone listens). */
export interface TelemetryPayload extends TickReport {
  /** Every metric's profile (value, EMA, Kalman forecast and trend). */
  readonly profiles: Readonly<Record<string, MetricProfile>>;
  /** Every subsystem's knobs after the tick's decisions. */
  readonly knobs: Readonly<Record<string, readonly ResolvedKnob[]>>;
}

/** Counters of the governor: a snapshot. */
export interface GovernorStats {
  /** Whether the control timer runs. */
  readonly isRunning: boolean;
  /** Ticks run. */
  readonly ticks: number;
  /** Decisions made (applied or rejected). */
  readonly decisions: number;
  /** Decisions whose setter threw or left the knob unchanged. */
  readonly rejected: number;
  /** Decisions evicted from the history. */
  readonly dropped: number;
  /** Sensor reads that threw or rejected. */
  readonly sensorErrors: number;
  /** Subsystem `knobs()` / `metrics()` calls that threw or returned an invalid knob. */
  readonly subsystemErrors: number;
  /** Bus publishes that threw. */
  readonly publishErrors: number;
  /** Decision or tick listeners that threw. */
  readonly listenerErrors: number;
}

/** A registered subsystem as the governor sees it: a snapshot. */
export interface SubsystemSnapshot {
  readonly name: string;
  readonly knobs: readonly ResolvedKnob[];
  /** Names of the rules registered with this subsystem. */
  readonly rules: readonly string[];
  /** Names of the rules engaged on it (acted and not yet given back). */
  readonly engaged: readonly string[];
}

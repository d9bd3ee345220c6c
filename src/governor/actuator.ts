/**
 * Actuators turn an action and a factor into new knob values. The governor picks the knobs (by
 * kind), then rounds, clamps to the knob's bounds and calls the subsystem's validated setter;
 * an actuator only computes the value it wants.
 * @module
 */
import type { KnobKind, ResolvedKnob } from './governable.ts';
import { KnobKinds } from './governable.ts';

/** The built-in actions, as constants. */
export const Action = {
  /** Multiplies batch knobs (`dispatch_batch`, `batch_size`) by the factor. */
  ReduceBatch: 'reduce_batch',
  /** Lowers the admission rate at `post()` to the factor times the current (or observed) rate. */
  Throttle: 'throttle',
  /** Raises the shed level by the factor: lower priorities are rejected at `post()`, counted. */
  ShedLoad: 'shed_load',
  /** Adds the factor to the pool size. */
  ScaleUp: 'scale_up',
  /** Subtracts the factor from the pool size. */
  ScaleDown: 'scale_down',
} as const;

/** One of the built-in action names. */
export type BuiltinAction = (typeof Action)[keyof typeof Action];

/** What an actuator sees besides the knob. */
export interface ActuatorContext {
  /** The subsystem owning the knob. */
  readonly subsystem: string;
  /** The rule's factor. */
  readonly factor: number;
  /** A metric's current value, read as the subsystem's own first (`<subsystem>.<name>`). */
  metric(name: string): number | undefined;
}

/**
 * Computes knob values for one action.
 *
 * @example
 * ```ts
 * governor.addActuator('cap_prefetch', {
 *   kinds: ['prefetch'],
 *   apply: (knob, { factor }) => knob.value - factor,
 *   restore: (knob, { factor }) => knob.value + factor,
 * });
 * ```
 */
export interface Actuator {
  /** The knob kinds this action turns. */
  readonly kinds: readonly KnobKind[];
  /** The value wanted under pressure (the governor rounds and clamps it). */
  apply(knob: ResolvedKnob, context: ActuatorContext): number;
  /**
   * One step back toward the baseline once pressure is gone (the governor never lets it cross
   * the baseline). Without it the action is not restored.
   */
  restore?(knob: ResolvedKnob, context: ActuatorContext): number;
}

/** A rate limit this far above the observed throughput no longer binds, so restoring ends. */
const kUnbindingRatio = 2;

/**
 * The built-in actuators, keyed by action name (a fresh table each call).
 *
 * @example
 * ```ts
 * const table = createBuiltinActuators();
 * table.reduce_batch.apply(knob, context); // knob.value * factor
 * ```
 */
export function createBuiltinActuators(): Record<BuiltinAction, Actuator> {
  return {
    [Action.ReduceBatch]: {
      kinds: [KnobKinds.DispatchBatch, KnobKinds.BatchSize],
      apply: (knob, { factor }) => knob.value * factor,
      restore: (knob, { factor }) => knob.value / factor,
    },
    [Action.Throttle]: {
      kinds: [KnobKinds.AdmissionRate],
      apply(knob, { factor, metric }) {
        // A limit far above the flow would be cut for nothing: start from what actually flows.
        const throughput = metric('throughput');
        const base = throughput !== undefined && throughput > 0 ? Math.min(knob.value, throughput) : knob.value;
        return base * factor;
      },
      restore(knob, { factor, metric }) {
        const next = knob.value / factor;
        const throughput = metric('throughput');
        return throughput !== undefined && next >= kUnbindingRatio * throughput ? knob.baseline : next;
      },
    },
    [Action.ShedLoad]: {
      kinds: [KnobKinds.ShedLevel],
      apply: (knob, { factor }) => knob.value + factor,
      restore: (knob, { factor }) => knob.value - factor,
    },
    [Action.ScaleUp]: {
      kinds: [KnobKinds.PoolSize],
      apply: (knob, { factor }) => knob.value + factor,
      restore: (knob, { factor }) => knob.value - factor,
    },
    [Action.ScaleDown]: {
      kinds: [KnobKinds.PoolSize],
      apply: (knob, { factor }) => knob.value - factor,
      restore: (knob, { factor }) => knob.value + factor,
    },
  };
}

/**
 * Rounds (integer knobs: down when lowering, up when raising, so every change is a whole step
 * in the wanted direction) and clamps `wanted` to the knob's bounds.
 *
 * @example
 * ```ts
 * settleKnobValue({ ...knob, value: 5, min: 1, max: 64, step: 'integer' }, 2.5); // 2
 * ```
 */
export function settleKnobValue(knob: ResolvedKnob, wanted: number): number {
  if (!Number.isFinite(wanted)) return knob.value;
  let value = wanted;
  if (knob.step === 'integer') {
    // Strip float noise first (6.4 / 0.8 is 8.000000000000002, which must not round up to 9).
    const clean = Math.round(wanted * 1e9) / 1e9;
    value = clean < knob.value ? Math.floor(clean) : Math.ceil(clean);
  }
  return Math.min(knob.max, Math.max(knob.min, value));
}

/**
 * Keeps a restoring step on the baseline's side of the knob: never past the baseline, never
 * away from it (the knob's current value when the step would do either).
 *
 * @example
 * ```ts
 * towardBaseline({ ...knob, value: 4, baseline: 6 }, 8); // 6
 * ```
 */
export function towardBaseline(knob: ResolvedKnob, requested: number): number {
  if (knob.value < knob.baseline) return requested > knob.value ? Math.min(requested, knob.baseline) : knob.value;
  if (knob.value > knob.baseline) return requested < knob.value ? Math.max(requested, knob.baseline) : knob.value;
  return knob.value;
}

/**
 * One knob change: call the subsystem's validated setter and describe what happened as a
 * {@link Decision}. A setter that throws, returns something other than a finite number, or leaves
 * the knob where it was gives a `'rejected'` decision; nothing is thrown into the control loop.
 * @module
 */
import type { Decision } from './decision.ts';
import type { Governable, ResolvedKnob } from './governable.ts';

/** The parts of a decision known before the setter runs. */
export type DecisionContext = Pick<Decision, 'at' | 'tick' | 'rule' | 'action' | 'phase' | 'subsystem' | 'metrics' | 'reason'>;

/**
 * Asks `governable` to set `knob` to `requested` and records the outcome.
 *
 * @example
 * ```ts
 * const decision = applyKnobChange(runtime, poolKnob, 3, context);
 * decision.outcome; // 'applied' when the pool now has 3 threads
 * ```
 */
export function applyKnobChange(governable: Governable, knob: ResolvedKnob, requested: number, context: DecisionContext): Decision {
  let after = knob.value;
  let error: Decision['error'];
  try {
    const applied = governable.setKnob(knob.name, requested);
    if (typeof applied === 'number' && Number.isFinite(applied)) after = applied;
    else error = { message: `setKnob returned ${String(applied)} instead of the value in effect` };
  } catch (thrown) {
    const code = (thrown as { code?: unknown } | null)?.code;
    error = { ...(typeof code === 'string' ? { code } : {}), message: thrown instanceof Error ? thrown.message : String(thrown) };
  }
  return {
    ...context,
    knob: knob.name,
    before: knob.value,
    after,
    requested,
    metrics: { ...context.metrics },
    outcome: error === undefined && after !== knob.value ? 'applied' : 'rejected',
    ...(error === undefined ? {} : { error }),
  };
}

/**
 * The contract between the governor and a subsystem it governs. A subsystem describes its knobs
 * (what can be turned, within which bounds, and where it rests when there is no pressure) and
 * applies changes through a validated setter; the governor never touches its fields.
 * @module
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { describeValue } from '../core/errors.ts';

/**
 * What a knob controls; the built-in actuators pick knobs by kind. Custom kinds are allowed
 * for custom actuators.
 *
 * - `pool_size`: threads (in-flight activations) of the pool; `scale_up` / `scale_down`.
 * - `dispatch_batch`: activations packed into one pool task; `reduce_batch`.
 * - `batch_size`: items a routine takes per activation; `reduce_batch`.
 * - `admission_rate`: items per second admitted at `post()`; `throttle`.
 * - `shed_level`: priorities below this level are rejected at `post()`; `shed_load`.
 * - `wait_limit`: the longest wait behind admitted work a post of the highest priority may
 *   expect, ms, checked on every `post()`; no built-in action turns it (a custom actuator may).
 */
export type KnobKind = 'pool_size' | 'dispatch_batch' | 'batch_size' | 'admission_rate' | 'shed_level' | 'wait_limit' | (string & {});

/** The built-in knob kinds, as constants. */
export const KnobKinds = {
  PoolSize: 'pool_size',
  DispatchBatch: 'dispatch_batch',
  BatchSize: 'batch_size',
  AdmissionRate: 'admission_rate',
  ShedLevel: 'shed_level',
  WaitLimit: 'wait_limit',
} as const satisfies Record<string, KnobKind>;

/**
 * One knob as its subsystem reports it: a snapshot, read fresh on every tick.
 *
 * @example
 * ```ts
 * const poolKnob: KnobDescriptor = { name: 'pool', kind: 'pool_size', value: 2, min: 1, max: 8, baseline: 2, step: 'integer' };
 * ```
 */
export interface KnobDescriptor {
  /** Unique within its subsystem, e.g. `'pool'` or `'batch:tokenize'`. */
  readonly name: string;
  /** What the knob controls; see {@link KnobKind}. */
  readonly kind: KnobKind;
  /** The value in effect now. */
  readonly value: number;
  /** The lowest value the subsystem accepts. */
  readonly min: number;
  /** The highest value the subsystem accepts (finite: express "unlimited" as a large ceiling). */
  readonly max: number;
  /** Where the knob rests without pressure; restoring moves it back here step by step. */
  readonly baseline: number;
  /**
   * `'integer'` knobs are rounded (down when reducing, up when raising) so every change is a
   * whole step; `'continuous'` knobs take any value in range.
   * @default 'integer' for every kind but `admission_rate`, which defaults to `'continuous'`
   */
  readonly step?: 'integer' | 'continuous';
}

/**
 * A subsystem the governor may act on. The Runtime implements it for its pool size, dispatch
 * batch, per-routine batch sizes, admission rate and shed level.
 *
 * @example
 * ```ts
 * let size = 2;
 * const pool: Governable = {
 *   name: 'runtime',
 *   knobs: () => [{ name: 'pool', kind: 'pool_size', value: size, min: 1, max: 8, baseline: 2 }],
 *   setKnob: (name, value) => (size = Math.max(1, Math.min(8, Math.round(value)))),
 *   metrics: () => ({ pool_util: 0.5, queue_depth: 10 }),
 * };
 * governor.register(pool);
 * ```
 */
export interface Governable {
  /** Unique among registered subsystems; metrics are reported as `<name>.<metric>`. */
  readonly name: string;
  /** The knobs as they are now (a fresh snapshot on every call). */
  knobs(): readonly KnobDescriptor[];
  /**
   * Applies `value` to knob `name` after the subsystem's own validation and returns the value
   * actually in effect (which may differ, e.g. after rounding or clamping).
   */
  setKnob(name: string, value: number): number;
  /** Runtime metrics of this subsystem (queue depths, latency p95, pool utilisation, …). */
  metrics?(): Readonly<Record<string, number | undefined>>;
}

/** A knob snapshot with every default filled in. */
export type ResolvedKnob = Readonly<Required<KnobDescriptor>>;

/**
 * Validates a knob descriptor reported by subsystem `owner` and fills in its defaults; throws
 * `SLUICE_ERR_INVALID_KNOB` naming the subsystem, the knob and the value.
 *
 * @example
 * ```ts
 * resolveKnob('runtime', { name: 'pool', kind: 'pool_size', value: 2, min: 1, max: 8, baseline: 2 }).step; // 'integer'
 * ```
 */
export function resolveKnob(owner: string, knob: KnobDescriptor): ResolvedKnob {
  const bad = (what: string, value: unknown): never => {
    throw new SluiceError(
      ErrorCode.InvalidKnob,
      `Knob \`${String(knob?.name)}\` of subsystem \`${owner}\`: expected ${what}, got ${describeValue(value)}`,
      { details: { subsystem: owner, knob: knob?.name } },
    );
  };
  if (typeof knob !== 'object' || knob === null) bad('a knob descriptor object', knob);
  if (typeof knob.name !== 'string' || knob.name.length === 0) bad('`name` to be a non-empty string', knob.name);
  if (typeof knob.kind !== 'string' || knob.kind.length === 0) bad('`kind` to be a non-empty string', knob.kind);
  for (const field of ['value', 'min', 'max', 'baseline'] as const) {
    if (typeof knob[field] !== 'number' || !Number.isFinite(knob[field])) bad(`\`${field}\` to be a finite number`, knob[field]);
  }
  if (knob.min > knob.max) bad(`\`min\` <= \`max\` (${knob.max})`, knob.min);
  if (knob.baseline < knob.min || knob.baseline > knob.max) bad(`\`baseline\` in [${knob.min}, ${knob.max}]`, knob.baseline);
  const step = knob.step ?? (knob.kind === KnobKinds.AdmissionRate ? 'continuous' : 'integer');
  if (step !== 'integer' && step !== 'continuous') bad('`step` to be "integer" or "continuous"', knob.step);
  return Object.freeze({
    name: knob.name,
    kind: knob.kind,
    value: knob.value,
    min: knob.min,
    max: knob.max,
    baseline: knob.baseline,
    step,
  });
}

/** True when `value` has the shape of a {@link Governable}. */
export function isGovernable(value: unknown): value is Governable {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Governable>;
  return (
    typeof v.name === 'string' &&
    typeof v.knobs === 'function' &&
    typeof v.setKnob === 'function' &&
    (v.metrics === undefined || typeof v.metrics === 'function')
  );
}

/**
 * Builds a {@link Governable} from a table of knobs, each with a getter and a setter. The
 * returned object validates, rounds and clamps before calling the setter, so a subsystem only
 * writes what applying a value means to it.
 * @module
 */
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { resolveKnob, type Governable, type KnobKind, type KnobDescriptor } from './governable.ts';
import { checkFunction, checkName, checkObject } from './option-checks.ts';

/** One knob of {@link createGovernable}. */
export interface KnobSpec {
  /** What the knob controls. */
  kind: KnobKind;
  /** Lowest accepted value. */
  min: number;
  /** Highest accepted value. */
  max: number;
  /**
   * Where the knob rests without pressure.
   * @default the value `get()` returns when the governable is created
   */
  baseline?: number;
  /**
   * Rounding of applied values.
   * @default 'integer' ('continuous' for `admission_rate`)
   */
  step?: 'integer' | 'continuous';
  /** Reads the value in effect. */
  get(): number;
  /** Applies an already rounded and clamped value; may return the value it really applied. */
  set(value: number): number | void;
}

/** Options of {@link createGovernable}. */
export interface CreateGovernableOptions {
  /** The subsystem's unique name. */
  name: string;
  /** Knobs by name. */
  knobs: Readonly<Record<string, KnobSpec>>;
  /** Runtime metrics of the subsystem, read once a tick. */
  metrics?: () => Readonly<Record<string, number | undefined>>;
}

/**
 * Creates a {@link Governable} over getter/setter pairs.
 *
 * @example
 * ```ts
 * const runtime = createGovernable({
 *   name: 'runtime',
 *   knobs: {
 *     pool: { kind: 'pool_size', min: 1, max: 8, get: () => pool.size, set: (n) => pool.resize(n) },
 *     dispatch: { kind: 'dispatch_batch', min: 1, max: 256, get: () => dispatchBatch, set: (n) => { dispatchBatch = n; } },
 *   },
 *   metrics: () => ({ pool_util: pool.utilisation, queue_depth: queued() }),
 * });
 * governor.register(runtime);
 * ```
 */
export function createGovernable(options: CreateGovernableOptions): Governable {
  checkObject('createGovernable options', options);
  checkName('name', options.name);
  checkObject('knobs', options.knobs);
  if (options.metrics !== undefined) checkFunction('metrics', options.metrics);
  const name = options.name;
  const specs = new Map<string, KnobSpec & { baseline: number }>();
  for (const [knobName, spec] of Object.entries(options.knobs)) {
    checkObject(`knobs.${knobName}`, spec);
    checkFunction(`knobs.${knobName}.get`, spec.get);
    checkFunction(`knobs.${knobName}.set`, spec.set);
    const resolved = { ...spec, baseline: spec.baseline ?? spec.get() };
    // Validate once now so a bad table fails at creation, not on the governor's first tick.
    resolveKnob(name, describe(knobName, resolved));
    specs.set(knobName, resolved);
  }
  const metrics = options.metrics;
  return {
    name,
    knobs: () => [...specs].map(([knobName, spec]) => describe(knobName, spec)),
    setKnob(knobName: string, value: number): number {
      const spec = specs.get(knobName);
      if (spec === undefined) {
        throw new SluiceError(ErrorCode.UnknownKnob, `Subsystem \`${name}\` has no knob ${describeValue(knobName)}`, {
          details: { subsystem: name, knob: knobName },
        });
      }
      if (typeof value !== 'number' || Number.isNaN(value)) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Expected the value of knob \`${name}.${knobName}\` to be a number, got ${describeValue(value)}`,
          {
            details: { subsystem: name, knob: knobName },
          },
        );
      }
      const step = spec.step ?? (spec.kind === 'admission_rate' ? 'continuous' : 'integer');
      const rounded = step === 'integer' ? Math.round(value) : value;
      const clamped = Math.min(spec.max, Math.max(spec.min, rounded));
      const applied = spec.set(clamped);
      return typeof applied === 'number' ? applied : spec.get();
    },
    ...(metrics === undefined ? {} : { metrics: () => metrics() }),
  };
}

function describe(name: string, spec: KnobSpec & { baseline: number }): KnobDescriptor {
  return {
    name,
    kind: spec.kind,
    value: spec.get(),
    min: spec.min,
    max: spec.max,
    baseline: spec.baseline,
    ...(spec.step === undefined ? {} : { step: spec.step }),
  };
}

/**
 * The Dynamic Resource Governor: a closed control loop that keeps a running flow inside its
 * limits by turning registered subsystems' knobs under pressure and giving them back when the
 * pressure passes. A thin facade: it validates and forwards to the engine.
 * @module
 */
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import type { Actuator } from './actuator.ts';
import type { Decision } from './decision.ts';
import { isGovernable, resolveKnob, type Governable } from './governable.ts';
import { GovernorEngine } from './governor-engine.ts';
import { checkActuator, resolveGovernorOptions, toRule, type GovernorBus, type GovernorOptions } from './governor-options.ts';
import type { MetricProfile } from './metric-profiler.ts';
import { checkFunction, checkKnownKeys, checkName, checkNumber, checkObject, failOption } from './option-checks.ts';
import { PolicyRule, type PolicyRuleOptions } from './policy-rule.ts';
import type { GovernorStats, SubsystemSnapshot, TickReport } from './tick-report.ts';

/** Undoes a registration or a subscription: the engine's one disposable shape. */
export type GovernorDisposable = DisposableHandle;

/** Options of {@link Governor.register}. */
export interface RegisterOptions {
  /** Rules for this subsystem only (their `subsystem` is set to its name). */
  rules?: readonly (PolicyRule | PolicyRuleOptions)[];
}

/**
 * The governor.
 *
 * @example
 * ```ts
 * const governor = new Governor({ sensor: createSystemSensor(), bus });
 * const registration = governor.register(runtimeGovernable);
 * governor.start();
 * // … later
 * await governor.stop();
 * registration.dispose();
 * ```
 */
export class Governor {
  readonly #engine: GovernorEngine;
  readonly #intervalMs: number;
  readonly #bus: GovernorBus | undefined;
  readonly #latencyTargetMs: number;

  constructor(options?: GovernorOptions) {
    const resolved = resolveGovernorOptions(options);
    const engine = new GovernorEngine(resolved);
    for (const rule of resolved.rules) {
      if (!engine.hasActuator(rule.action)) throw unknownAction(rule);
    }
    this.#engine = engine;
    this.#intervalMs = resolved.intervalMs;
    this.#bus = resolved.bus;
    this.#latencyTargetMs = resolved.latencyTargetMs;
  }

  /** The job latency the governor holds, ms (the `latencyTargetMs` option). */
  get latencyTargetMs(): number {
    return this.#latencyTargetMs;
  }

  /** The bus decisions and telemetry are published on (the `bus` option), if any. */
  get bus(): GovernorBus | undefined {
    return this.#bus;
  }

  /** The control interval in milliseconds. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Whether the control timer runs. */
  get isRunning(): boolean {
    return this.#engine.isRunning;
  }

  /**
   * Starts the loop: a tick every `intervalMs` on the injected clock (re-armed after each tick,
   * so ticks never overlap), and the managed sensor if there is one. Idempotent.
   *
   * @example
   * ```ts
   * governor.start(); governor.start(); // one timer
   * ```
   */
  start(): void {
    this.#engine.start();
  }

  /**
   * Stops the loop and the managed sensor; resolves once a tick in flight has settled. Idempotent;
   * the governor may be started again. Knobs stay where they are.
   *
   * @example
   * ```ts
   * await governor.stop();
   * ```
   */
  stop(): Promise<void> {
    return this.#engine.stop();
  }

  /** Calls {@link Governor.stop}, so `await using governor = new Governor()` works. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Runs one control tick now (after any tick in flight) and reports what it saw and did.
   * Tests drive the loop with it; it works whether or not the loop is started.
   *
   * @example
   * ```ts
   * const { decisions } = await governor.tick();
   * ```
   */
  tick(): Promise<TickReport> {
    return this.#engine.tick();
  }

  /**
   * Registers a subsystem. Its knobs are read and validated now, so a broken descriptor fails
   * here; its name must be unused. Returns a disposable that unregisters it.
   *
   * @example
   * ```ts
   * using registration = governor.register(runtimeGovernable, {
   *   rules: [{ name: 'runtime-queue', metric: 'queue_pressure', threshold: 0.9, action: 'throttle' }],
   * });
   * ```
   */
  register(governable: Governable, options: RegisterOptions = {}): GovernorDisposable {
    if (!isGovernable(governable)) failOption('governable', 'a Governable (name, knobs(), setKnob(), optional metrics())', governable);
    checkName('governable.name', governable.name);
    checkObject('register options', options);
    checkKnownKeys('register options', options, ['rules']);
    const name = governable.name;
    if (this.#engine.hasSubsystem(name)) {
      throw new SluiceError(ErrorCode.DuplicateName, `A subsystem named ${describeValue(name)} is already registered`, {
        details: { subsystem: name },
      });
    }
    const knobs = governable.knobs();
    if (!Array.isArray(knobs)) failOption(`${name}.knobs()`, 'an array of knob descriptors', knobs);
    const seen = new Set<string>();
    for (const knob of knobs) {
      resolveKnob(name, knob);
      if (seen.has(knob.name)) {
        throw new SluiceError(ErrorCode.DuplicateName, `Subsystem \`${name}\` reports knob ${describeValue(knob.name)} twice`, {
          details: { subsystem: name, knob: knob.name },
        });
      }
      seen.add(knob.name);
    }
    const rulesOption = options.rules ?? [];
    if (!Array.isArray(rulesOption)) failOption('register options.rules', 'an array of PolicyRule or PolicyRuleOptions', rulesOption);
    const taken = this.#engine.ruleNames();
    const rules = rulesOption.map((given: PolicyRule | PolicyRuleOptions) => {
      const rule = toRule(given);
      if (rule.subsystem !== undefined && rule.subsystem !== name) {
        failOption(`rules[${rule.name}].subsystem`, `\`${name}\` (the subsystem registering it) or unset`, rule.subsystem);
      }
      const bound = rule.subsystem === name ? rule : new PolicyRule({ ...rule.toJSON(), subsystem: name });
      this.#checkNewRule(bound, taken);
      taken.add(bound.name);
      return bound;
    });
    this.#engine.register(governable, rules);
    return createDisposable(() => {
      this.#engine.unregister(name);
    });
  }

  /**
   * Unregisters a subsystem: its rules and engagements are dropped, its knobs left as they are.
   * Returns false when no subsystem has that name.
   *
   * @example
   * ```ts
   * governor.unregister('runtime'); // true
   * ```
   */
  unregister(name: string): boolean {
    return this.#engine.unregister(name);
  }

  /**
   * Snapshots of the registered subsystems: knobs, own rules, engaged rules.
   *
   * @example
   * ```ts
   * governor.subsystems()[0]?.knobs; // [{ name: 'pool', kind: 'pool_size', value: 2, … }]
   * ```
   */
  subsystems(): SubsystemSnapshot[] {
    return this.#engine.subsystems();
  }

  /**
   * Adds a machine-wide rule (or one bound to `subsystem`). Its name must be unused and its
   * action known.
   *
   * @example
   * ```ts
   * governor.addRule({ name: 'heap', metric: 'heap_util', threshold: 0.8, clearThreshold: 0.6, action: 'reduce_batch' });
   * ```
   */
  addRule(rule: PolicyRule | PolicyRuleOptions): PolicyRule {
    const resolved = toRule(rule);
    this.#checkNewRule(resolved, this.#engine.ruleNames());
    this.#engine.addRule(resolved);
    return resolved;
  }

  /**
   * Removes a rule by name (and its engagements; knobs stay where they are).
   *
   * @example
   * ```ts
   * governor.removeRule('latency-slo'); // true
   * ```
   */
  removeRule(name: string): boolean {
    return this.#engine.removeRule(name);
  }

  /**
   * Every rule: machine-wide ones, then each subsystem's own. Rules are immutable.
   *
   * @example
   * ```ts
   * governor.rules().map((r) => r.name); // ['vram-pressure', 'memory-pressure', …]
   * ```
   */
  rules(): PolicyRule[] {
    return this.#engine.rules();
  }

  /**
   * Adds an actuator for a new action name.
   *
   * @example
   * ```ts
   * governor.addActuator('cap_prefetch', { kinds: ['prefetch'], apply: (k, { factor }) => k.value * factor });
   * ```
   */
  addActuator(name: string, actuator: Actuator): void {
    checkName('actuator name', name);
    checkActuator(name, actuator);
    if (this.#engine.hasActuator(name)) {
      throw new SluiceError(ErrorCode.DuplicateName, `An actuator named ${describeValue(name)} already exists`, {
        details: { actuator: name },
      });
    }
    this.#engine.addActuator(name, actuator);
  }

  /**
   * Names of the known actions.
   *
   * @example
   * ```ts
   * governor.actions(); // ['reduce_batch', 'throttle', 'shed_load', 'scale_up', 'scale_down']
   * ```
   */
  actions(): string[] {
    return this.#engine.actuatorNames();
  }

  /**
   * Runs an action on a subsystem now, outside any rule — the seed's
   * `actuators.execute("inference_engine", "reduce_batch", 0.5)`. Every knob of the action's
   * kinds on that subsystem (or only `options.knob`) is turned once; each change is a
   * {@link Decision} with rule `'manual'`, recorded in `decisions()`, published on
   * `drg.signal.<action>` and passed to `onDecision` listeners, like a rule's. Returns copies.
   * Throws `SLUICE_ERR_INVALID_ARGUMENT` for an unknown subsystem or knob or a bad factor, and
   * `SLUICE_ERR_UNKNOWN_ACTION` for an action no actuator implements.
   *
   * @example
   * ```ts
   * governor.execute('inference_engine', 'reduce_batch', 0.5); // halve its batch size now
   * ```
   */
  execute(subsystem: string, action: string, factor: number, options: { knob?: string } = {}): Decision[] {
    if (!this.#engine.hasSubsystem(subsystem)) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Governor has no subsystem ${describeValue(subsystem)} (registered: ${
          this.subsystems()
            .map((s) => `"${s.name}"`)
            .join(', ') || 'none'
        })`,
        {
          details: { subsystem },
        },
      );
    }
    if (!this.#engine.hasActuator(action)) {
      throw new SluiceError(
        ErrorCode.UnknownAction,
        `Governor has no actuator for action ${describeValue(action)} (known: ${this.actions().join(', ')})`,
        { details: { action } },
      );
    }
    checkNumber('factor', factor, 0, Number.POSITIVE_INFINITY, true);
    if (options.knob !== undefined && !this.#engine.knobNames(subsystem).includes(options.knob)) {
      throw new SluiceError(
        ErrorCode.UnknownKnob,
        `Subsystem "${subsystem}" has no knob ${describeValue(options.knob)} (knobs: ${this.#engine.knobNames(subsystem).join(', ')})`,
        {
          details: { subsystem, knob: options.knob },
        },
      );
    }
    return this.#engine.execute(subsystem, action, factor, options.knob).map((d) => ({ ...d, metrics: { ...d.metrics } }));
  }

  /**
   * Copies of the latest decisions, oldest first (capped by `historyLimit`).
   *
   * @example
   * ```ts
   * governor.decisions().filter((d) => d.action === 'scale_up').length;
   * ```
   */
  decisions(): Decision[] {
    return this.#engine.decisions();
  }

  /**
   * The profile of one metric (`'cpu_util'`, `'runtime.latency_ms'`), or undefined if never
   * sampled.
   *
   * @example
   * ```ts
   * governor.profile('runtime.queue_depth')?.forecast;
   * ```
   */
  profile(metric: string): MetricProfile | undefined {
    return this.#engine.profile(metric);
  }

  /**
   * Every metric's profile.
   *
   * @example
   * ```ts
   * Object.keys(governor.profiles()); // ['cpu_util', 'runtime.pool_util', …]
   * ```
   */
  profiles(): Record<string, MetricProfile> {
    return this.#engine.profiles();
  }

  /**
   * Calls `listener` with a copy of every decision, as it is made.
   *
   * @example
   * ```ts
   * using sub = governor.onDecision((d) => log.info(d.reason));
   * ```
   */
  onDecision(listener: (decision: Decision) => void): GovernorDisposable {
    checkFunction('listener', listener);
    return createDisposable(this.#engine.onDecision(listener));
  }

  /**
   * Calls `listener` with a report of every tick.
   *
   * @example
   * ```ts
   * governor.onTick((report) => console.log(report.tick, report.metrics));
   * ```
   */
  onTick(listener: (report: TickReport) => void): GovernorDisposable {
    checkFunction('listener', listener);
    return createDisposable(this.#engine.onTick(listener));
  }

  /**
   * The counters.
   *
   * @example
   * ```ts
   * governor.stats().decisions;
   * ```
   */
  stats(): GovernorStats {
    return this.#engine.stats();
  }

  #checkNewRule(rule: PolicyRule, taken: ReadonlySet<string>): void {
    if (taken.has(rule.name)) {
      throw new SluiceError(ErrorCode.DuplicateName, `A rule named ${describeValue(rule.name)} already exists`, {
        details: { rule: rule.name },
      });
    }
    if (!this.#engine.hasActuator(rule.action)) throw unknownAction(rule);
  }
}

function unknownAction(rule: PolicyRule): SluiceError {
  return new SluiceError(
    ErrorCode.UnknownAction,
    `Rule \`${rule.name}\` names action ${describeValue(rule.action)}, which has no actuator`,
    {
      details: { rule: rule.name, action: rule.action },
    },
  );
}

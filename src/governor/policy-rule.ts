/**
 * A policy rule: "when `metric` (its value, EMA, forecast or trend) goes `above` / `below`
 * `threshold`, apply `action` with `factor`", with a hysteresis band (`clearThreshold`), a
 * cooldown, debouncing and optional guard conditions. Rules are immutable; the governor keeps
 * each rule's engagement state per subsystem.
 * @module
 */
import { Action } from './actuator.ts';
import type { MetricProfile } from './metric-profiler.ts';
import { checkInteger, checkKnownKeys, checkName, checkNumber, checkObject, checkOneOf, failOption } from './option-checks.ts';

/** Which side of the threshold is pressure. */
export type RuleDirection = 'above' | 'below';

/** Which view of a metric a rule reads; see {@link MetricProfile}. */
export type RuleInput = 'value' | 'ema' | 'forecast' | 'trend';

/**
 * A guard that must also hold for a rule to fire (e.g. "and CPU is not saturated").
 *
 * @example
 * ```ts
 * const cpuNotSaturated: RuleCondition = { metric: 'cpu_util', direction: 'below', threshold: 0.9, whenMissing: true };
 * ```
 */
export interface RuleCondition {
  /** The metric read. */
  metric: string;
  /** The bound. */
  threshold: number;
  /**
   * Holds when the input is strictly above (or below) the threshold.
   * @default 'above'
   */
  direction?: RuleDirection;
  /**
   * The view read.
   * @default 'value'
   */
  use?: RuleInput;
  /**
   * The result when the metric is not measured.
   * @default false
   */
  whenMissing?: boolean;
}

/** Options of {@link PolicyRule}. */
export interface PolicyRuleOptions {
  /**
   * Unique among the governor's rules; names the rule in decisions.
   * @default `${metric}-${direction}-${action}`
   */
  name?: string;
  /** The metric watched, e.g. `'vram_util'`. */
  metric: string;
  /** The pressure bound. */
  threshold: number;
  /** The actuator applied, e.g. `'reduce_batch'`. */
  action: string;
  /**
   * The strength of one step: a multiplier in (0, 1) for `reduce_batch` and `throttle`, a step
   * (> 0) for `shed_load`, `scale_up` and `scale_down`.
   * @default 0.5 for reduce_batch, 0.8 for throttle, 1 otherwise
   */
  factor?: number;
  /**
   * Pressure is a value `above` or `below` the threshold.
   * @default 'above'
   */
  direction?: RuleDirection;
  /**
   * The view of the metric compared: `'forecast'` acts on where the metric is heading.
   * @default 'value'
   */
  use?: RuleInput;
  /**
   * Hysteresis: pressure counts as gone only past this bound (below it for `above` rules,
   * above it for `below` rules). Between the two bounds the rule holds what it did.
   * @default threshold (no band)
   */
  clearThreshold?: number;
  /**
   * Least time between two actions of this rule on one subsystem, milliseconds. Pressure must
   * also persist through a whole cooldown before the rule steps again.
   * @default 2000
   */
  cooldownMs?: number;
  /**
   * Consecutive triggered samples needed before the first action.
   * @default 1
   */
  fireAfter?: number;
  /**
   * Consecutive cleared samples needed before restoring starts.
   * @default 3
   */
  clearAfter?: number;
  /**
   * Whether knobs are moved back toward their baseline once pressure is gone.
   * @default true
   */
  restore?: boolean;
  /** Acts on this subsystem only; by default on every subsystem with a matching knob. */
  subsystem?: string;
  /** Acts on this knob only; by default on every knob of the actuator's kinds. */
  knob?: string;
  /** Guards that must all hold too. */
  requires?: readonly RuleCondition[];
}

const kRuleKeys = [
  'name',
  'metric',
  'threshold',
  'action',
  'factor',
  'direction',
  'use',
  'clearThreshold',
  'cooldownMs',
  'fireAfter',
  'clearAfter',
  'restore',
  'subsystem',
  'knob',
  'requires',
] as const;
const kDirections = ['above', 'below'] as const;
const kInputs = ['value', 'ema', 'forecast', 'trend'] as const;
const kMultipliers: readonly string[] = [Action.ReduceBatch, Action.Throttle];
const kDefaultFactor: Readonly<Record<string, number>> = { [Action.ReduceBatch]: 0.5, [Action.Throttle]: 0.8 };

/** Reads the view `use` of a profile. */
export function readInput(profile: MetricProfile | undefined, use: RuleInput): number | undefined {
  if (profile === undefined) return undefined;
  switch (use) {
    case 'value':
      return profile.current;
    case 'ema':
      return profile.ema;
    case 'forecast':
      return profile.forecast;
    case 'trend':
      return profile.trend;
  }
}

/**
 * One policy rule.
 *
 * @example
 * ```ts
 * const vram = new PolicyRule({
 *   metric: 'vram_util', threshold: 0.85, clearThreshold: 0.7, use: 'forecast',
 *   action: 'reduce_batch', factor: 0.5, cooldownMs: 2000,
 * });
 * vram.triggered(0.9); // true
 * vram.cleared(0.8);   // false: inside the hysteresis band
 * ```
 */
export class PolicyRule {
  readonly name: string;
  readonly metric: string;
  readonly threshold: number;
  readonly action: string;
  readonly factor: number;
  readonly direction: RuleDirection;
  readonly use: RuleInput;
  readonly clearThreshold: number;
  readonly cooldownMs: number;
  readonly fireAfter: number;
  readonly clearAfter: number;
  readonly restore: boolean;
  readonly subsystem: string | undefined;
  readonly knob: string | undefined;
  readonly requires: readonly Readonly<Required<RuleCondition>>[];

  constructor(options: PolicyRuleOptions) {
    checkObject('PolicyRule options', options);
    checkKnownKeys('PolicyRule options', options, kRuleKeys);
    checkName('metric', options.metric);
    checkNumber('threshold', options.threshold);
    checkName('action', options.action);
    this.metric = options.metric;
    this.threshold = options.threshold;
    this.action = options.action;
    this.direction = options.direction ?? 'above';
    checkOneOf('direction', this.direction, kDirections);
    this.use = options.use ?? 'value';
    checkOneOf('use', this.use, kInputs);
    this.name = options.name ?? `${this.metric}-${this.direction}-${this.action}`;
    checkName('name', this.name);

    this.factor = options.factor ?? kDefaultFactor[this.action] ?? 1;
    if (kMultipliers.includes(this.action)) {
      if (typeof this.factor !== 'number' || !(this.factor > 0 && this.factor < 1))
        failOption('factor', `a number in (0, 1) for \`${this.action}\``, this.factor);
    } else {
      checkNumber('factor', this.factor, 0, Number.POSITIVE_INFINITY, true);
    }

    this.clearThreshold = options.clearThreshold ?? this.threshold;
    checkNumber('clearThreshold', this.clearThreshold);
    if (this.direction === 'above' && this.clearThreshold > this.threshold) {
      throw new RangeError(
        `Expected \`clearThreshold\` <= \`threshold\` (${this.threshold}) for an 'above' rule, got \`${this.clearThreshold}\``,
      );
    }
    if (this.direction === 'below' && this.clearThreshold < this.threshold) {
      throw new RangeError(
        `Expected \`clearThreshold\` >= \`threshold\` (${this.threshold}) for a 'below' rule, got \`${this.clearThreshold}\``,
      );
    }
    this.cooldownMs = options.cooldownMs ?? 2000;
    checkNumber('cooldownMs', this.cooldownMs, 0);
    this.fireAfter = options.fireAfter ?? 1;
    checkInteger('fireAfter', this.fireAfter, 1);
    this.clearAfter = options.clearAfter ?? 3;
    checkInteger('clearAfter', this.clearAfter, 1);
    this.restore = options.restore ?? true;
    if (typeof this.restore !== 'boolean') failOption('restore', 'a boolean', this.restore);
    if (options.subsystem !== undefined) checkName('subsystem', options.subsystem);
    this.subsystem = options.subsystem;
    if (options.knob !== undefined) checkName('knob', options.knob);
    this.knob = options.knob;

    const requires = options.requires ?? [];
    if (!Array.isArray(requires)) failOption('requires', 'an array of conditions', requires);
    this.requires = Object.freeze(
      requires.map((c: RuleCondition, i: number) => {
        checkObject(`requires[${i}]`, c);
        checkKnownKeys(`requires[${i}]`, c, ['metric', 'threshold', 'direction', 'use', 'whenMissing']);
        checkName(`requires[${i}].metric`, c.metric);
        checkNumber(`requires[${i}].threshold`, c.threshold);
        const condition = {
          metric: c.metric,
          threshold: c.threshold,
          direction: c.direction ?? 'above',
          use: c.use ?? 'value',
          whenMissing: c.whenMissing ?? false,
        };
        checkOneOf(`requires[${i}].direction`, condition.direction, kDirections);
        checkOneOf(`requires[${i}].use`, condition.use, kInputs);
        if (typeof condition.whenMissing !== 'boolean') failOption(`requires[${i}].whenMissing`, 'a boolean', condition.whenMissing);
        return Object.freeze(condition);
      }),
    );
    Object.freeze(this);
  }

  /** True when `value` is pressure: strictly past the threshold on the rule's side. */
  triggered(value: number): boolean {
    return this.direction === 'above' ? value > this.threshold : value < this.threshold;
  }

  /** True when `value` is strictly past the clear bound, so pressure counts as gone. */
  cleared(value: number): boolean {
    return this.direction === 'above' ? value < this.clearThreshold : value > this.clearThreshold;
  }

  /** The rule's options, as a plain object (for decisions, logs and the bus). */
  toJSON(): PolicyRuleOptions {
    return {
      name: this.name,
      metric: this.metric,
      threshold: this.threshold,
      action: this.action,
      factor: this.factor,
      direction: this.direction,
      use: this.use,
      clearThreshold: this.clearThreshold,
      cooldownMs: this.cooldownMs,
      fireAfter: this.fireAfter,
      clearAfter: this.clearAfter,
      restore: this.restore,
      ...(this.subsystem === undefined ? {} : { subsystem: this.subsystem }),
      ...(this.knob === undefined ? {} : { knob: this.knob }),
      requires: this.requires.map((c) => ({ ...c })),
    };
  }
}

/**
 * True when a guard holds for `profile` (the profile of `condition.metric`).
 *
 * @example
 * ```ts
 * conditionHolds({ metric: 'cpu_util', threshold: 0.9, direction: 'below', use: 'value', whenMissing: true }, undefined); // true
 * ```
 */
export function conditionHolds(condition: Readonly<Required<RuleCondition>>, profile: MetricProfile | undefined): boolean {
  const value = readInput(profile, condition.use);
  if (value === undefined) return condition.whenMissing;
  return condition.direction === 'above' ? value > condition.threshold : value < condition.threshold;
}

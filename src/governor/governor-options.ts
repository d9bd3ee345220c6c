/**
 * The governor's options, declared once, defaulted once and validated at the edge.
 * @module
 */
import { realClock, type Clock } from '../core/clock.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import type { Actuator } from './actuator.ts';
import { createDefaultRules } from './default-rules.ts';
import { resolveProfilerOptions, type ProfilerOptions, type ResolvedProfilerOptions } from './metric-profiler.ts';
import { checkFunction, checkInteger, checkKnownKeys, checkNumber, checkObject, failOption } from './option-checks.ts';
import { PolicyRule, type PolicyRuleOptions } from './policy-rule.ts';
import type { SensorSource } from './sensor-source.ts';
import type { ManagedSensor } from './system-sensor.ts';

/**
 * The bus the governor publishes on: any object with `publish`, such as sluice's `EventBus`.
 * When `hasSubscribers` exists, payloads nobody listens to are not even built.
 *
 * @example
 * ```ts
 * const events: unknown[] = [];
 * const bus: GovernorBus = { publish: (topic, payload) => events.push({ topic, payload }) };
 * ```
 */
export interface GovernorBus {
  /** Publishes `payload` on `topic`; must not block. */
  publish(topic: string, payload: unknown): unknown;
  /** True when publishing on `topic` reaches anyone. */
  hasSubscribers?(topic: string): boolean;
}

/** Options of `new Governor(options)`. */
export interface GovernorOptions {
  /**
   * The control interval: time between two ticks, milliseconds; at least 250.
   * @default 500
   */
  intervalMs?: number;
  /**
   * The clock of the control timer, cooldowns and decision times; tests pass a `ManualClock`.
   * @default realClock
   */
  clock?: Clock;
  /**
   * Machine readings, read once a tick: a function, or a managed sensor (such as
   * `createSystemSensor()`) that the governor starts and stops with itself. Registered
   * subsystems' `metrics()` are read besides.
   * @default none (only subsystem metrics)
   */
  sensor?: SensorSource | ManagedSensor;
  /**
   * Where decisions (`drg.signal.<action>`, `drg.signal.restore`) and per-tick telemetry
   * (`drg.telemetry`) are published.
   * @default none
   */
  bus?: GovernorBus;
  /**
   * The machine-wide rules (subsystems may bring their own at `register()`).
   * @default createDefaultRules({ latencyTargetMs })
   */
  rules?: readonly (PolicyRule | PolicyRuleOptions)[];
  /** EMA and Kalman settings of the profiler. */
  profiler?: ProfilerOptions;
  /**
   * Decisions kept for `decisions()`; older ones are dropped and counted.
   * @default 1000
   */
  historyLimit?: number;
  /** Extra actuators by action name, besides the built-in ones. */
  actuators?: Readonly<Record<string, Actuator>>;
  /**
   * The job latency the governor holds, milliseconds: the default `latency-slo` rule acts above
   * it, and a governed Runtime's admission refuses a post when the unfinished jobs would take
   * longer than half of it to drain at the measured completion rate (a quarter for priority 0;
   * see `AdmissionGate`'s `waitLimitMs`).
   * @default 500
   */
  latencyTargetMs?: number;
}

/** Options with every default filled in. */
export interface ResolvedGovernorOptions {
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly sensor: ManagedSensor | { read: SensorSource; start?: undefined; stop?: undefined } | undefined;
  readonly bus: GovernorBus | undefined;
  readonly rules: readonly PolicyRule[];
  readonly profiler: ResolvedProfilerOptions;
  readonly historyLimit: number;
  readonly actuators: Readonly<Record<string, Actuator>>;
  readonly latencyTargetMs: number;
}

const kKeys = ['intervalMs', 'clock', 'sensor', 'bus', 'rules', 'profiler', 'historyLimit', 'actuators', 'latencyTargetMs'] as const;

/**
 * Validates governor options and fills in defaults.
 *
 * @example
 * ```ts
 * resolveGovernorOptions({ intervalMs: 100 }); // throws: Expected `intervalMs` to be a number >= 250, got `100` (number)
 * ```
 */
export function resolveGovernorOptions(options: GovernorOptions | undefined): ResolvedGovernorOptions {
  checkObject('Governor options', options, true);
  const o = options ?? {};
  checkKnownKeys('Governor options', o, kKeys);
  const intervalMs = o.intervalMs ?? 500;
  checkNumber('intervalMs', intervalMs, 250);
  const clock = o.clock ?? realClock;
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') {
    failOption('clock', 'a Clock (with now() and setTimeout())', clock);
  }
  const historyLimit = o.historyLimit ?? 1000;
  checkInteger('historyLimit', historyLimit, 0);
  const latencyTargetMs = o.latencyTargetMs ?? 500;
  checkNumber('latencyTargetMs', latencyTargetMs, 0, Number.POSITIVE_INFINITY, true);
  return Object.freeze({
    intervalMs,
    clock,
    sensor: resolveSensor(o.sensor),
    bus: resolveBus(o.bus),
    rules: Object.freeze(resolveRules(o.rules, latencyTargetMs)),
    profiler: resolveProfilerOptions(o.profiler),
    historyLimit,
    actuators: Object.freeze(resolveActuators(o.actuators)),
    latencyTargetMs,
  });
}

function resolveSensor(sensor: GovernorOptions['sensor']): ResolvedGovernorOptions['sensor'] {
  if (sensor === undefined) return undefined;
  if (typeof sensor === 'function') return { read: sensor };
  if (typeof sensor === 'object' && sensor !== null && typeof sensor.read === 'function') {
    checkFunction('sensor.start', sensor.start);
    checkFunction('sensor.stop', sensor.stop);
    return sensor;
  }
  return failOption('sensor', 'a function or a sensor with read(), start() and stop()', sensor);
}

function resolveBus(bus: GovernorBus | undefined): GovernorBus | undefined {
  if (bus === undefined) return undefined;
  if (typeof bus !== 'object' || bus === null || typeof bus.publish !== 'function')
    failOption('bus', 'an object with publish(topic, payload)', bus);
  if (bus.hasSubscribers !== undefined) checkFunction('bus.hasSubscribers', bus.hasSubscribers);
  return bus;
}

/** Turns rule options into rules; a rule given twice by name is an error. */
export function resolveRules(rules: GovernorOptions['rules'], latencyTargetMs?: number): PolicyRule[] {
  if (rules === undefined) return createDefaultRules(latencyTargetMs === undefined ? {} : { latencyTargetMs });
  if (!Array.isArray(rules)) failOption('rules', 'an array of PolicyRule or PolicyRuleOptions', rules);
  const resolved = rules.map((rule: PolicyRule | PolicyRuleOptions) => toRule(rule));
  const seen = new Set<string>();
  for (const rule of resolved) {
    if (seen.has(rule.name)) {
      throw new SluiceError(ErrorCode.DuplicateName, `Rule name ${describeValue(rule.name)} is used twice`, {
        details: { rule: rule.name },
      });
    }
    seen.add(rule.name);
  }
  return resolved;
}

/** A rule from a rule or its options. */
export function toRule(rule: PolicyRule | PolicyRuleOptions): PolicyRule {
  return rule instanceof PolicyRule ? rule : new PolicyRule(rule);
}

function resolveActuators(actuators: GovernorOptions['actuators']): Record<string, Actuator> {
  checkObject('actuators', actuators, true);
  const out: Record<string, Actuator> = {};
  for (const [name, actuator] of Object.entries(actuators ?? {})) {
    checkActuator(name, actuator);
    out[name] = actuator;
  }
  return out;
}

/** Asserts `actuator` has the shape of an {@link Actuator}. */
export function checkActuator(name: string, actuator: unknown): asserts actuator is Actuator {
  checkObject(`actuators.${name}`, actuator);
  const a = actuator as Partial<Actuator>;
  if (!Array.isArray(a.kinds) || a.kinds.length === 0 || !a.kinds.every((k) => typeof k === 'string' && k.length > 0)) {
    failOption(`actuators.${name}.kinds`, 'a non-empty array of knob kinds', a.kinds);
  }
  checkFunction(`actuators.${name}.apply`, a.apply);
  if (a.restore !== undefined) checkFunction(`actuators.${name}.restore`, a.restore);
}

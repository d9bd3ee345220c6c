/**
 * The governor's engine: the control loop behind the {@link Governor} facade. It trusts its
 * inputs (the facade validated them). One tick: read sensors and subsystem metrics, feed the
 * profiler, walk every rule over every subsystem it targets, act through the subsystems'
 * setters, record and publish decisions, publish telemetry, re-arm the timer.
 * @module
 */
import type { TimerHandle } from '../core/clock.ts';
import { createBuiltinActuators, settleKnobValue, towardBaseline, type Actuator, type ActuatorContext } from './actuator.ts';
import type { Decision } from './decision.ts';
import { resolveKnob, type Governable, type ResolvedKnob } from './governable.ts';
import type { ResolvedGovernorOptions } from './governor-options.ts';
import { copyReport, GovernorMonitor } from './governor-monitor.ts';
import { MetricProfiler, type MetricProfile } from './metric-profiler.ts';
import { conditionHolds, readInput, type PolicyRule } from './policy-rule.ts';
import { RuleEngagement } from './rule-engagement.ts';
import { applyKnobChange } from './knob-change.ts';
import { cleanReadings } from './sensor-source.ts';
import type { GovernorStats, SubsystemSnapshot, TelemetryPayload, TickReport } from './tick-report.ts';

interface Entry {
  readonly governable: Governable;
  readonly rules: PolicyRule[];
}

const kSep = '\u0000';

/** The control loop. Internal: use {@link Governor}. */
export class GovernorEngine {
  readonly #o: ResolvedGovernorOptions;
  readonly #profiler: MetricProfiler;
  readonly #monitor: GovernorMonitor;
  readonly #rules: PolicyRule[];
  readonly #actuators = new Map<string, Actuator>();
  readonly #subsystems = new Map<string, Entry>();
  readonly #engagements = new Map<string, RuleEngagement>();
  #running = false;
  #generation = 0;
  #timer: TimerHandle | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #ticks = 0;
  #decisions = 0;
  #rejected = 0;
  #sensorErrors = 0;
  #subsystemErrors = 0;

  constructor(options: ResolvedGovernorOptions) {
    this.#o = options;
    this.#profiler = new MetricProfiler(options.profiler);
    this.#monitor = new GovernorMonitor(options.bus, options.historyLimit);
    for (const [name, actuator] of Object.entries(createBuiltinActuators())) this.#actuators.set(name, actuator);
    for (const [name, actuator] of Object.entries(options.actuators)) this.#actuators.set(name, actuator);
    this.#rules = [...options.rules];
  }

  get isRunning(): boolean {
    return this.#running;
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation += 1;
    this.#o.sensor?.start?.();
    this.#arm(this.#generation);
  }

  stop(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      this.#generation += 1;
      this.#timer?.cancel();
      this.#timer = undefined;
      this.#o.sensor?.stop?.();
    }
    return this.#chain.then(() => undefined);
  }

  #arm(generation: number): void {
    this.#timer = this.#o.clock.setTimeout(
      () => {
        this.#timer = undefined;
        void this.tick()
          .catch(() => undefined)
          .finally(() => {
            if (this.#running && this.#generation === generation) this.#arm(generation);
          });
      },
      this.#o.intervalMs,
      { ref: false },
    );
  }

  /** Runs one tick after any tick in flight (ticks never overlap). */
  tick(): Promise<TickReport> {
    const run = this.#chain.then(() => this.#runTick());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  // ── registry ─────────────────────────────────────────────────────────────────────────────

  hasSubsystem(name: string): boolean {
    return this.#subsystems.has(name);
  }

  register(governable: Governable, rules: readonly PolicyRule[]): void {
    this.#subsystems.set(governable.name, { governable, rules: [...rules] });
  }

  unregister(name: string): boolean {
    if (!this.#subsystems.delete(name)) return false;
    for (const key of [...this.#engagements.keys()]) if (key.endsWith(`${kSep}${name}`)) this.#engagements.delete(key);
    this.#profiler.forget(`${name}.`);
    return true;
  }

  ruleNames(): Set<string> {
    const names = new Set(this.#rules.map((r) => r.name));
    for (const entry of this.#subsystems.values()) for (const rule of entry.rules) names.add(rule.name);
    return names;
  }

  rules(): PolicyRule[] {
    return [...this.#rules, ...[...this.#subsystems.values()].flatMap((entry) => entry.rules)];
  }

  addRule(rule: PolicyRule): void {
    this.#rules.push(rule);
  }

  removeRule(name: string): boolean {
    let removed = false;
    for (const list of [this.#rules, ...[...this.#subsystems.values()].map((entry) => entry.rules)]) {
      const index = list.findIndex((rule) => rule.name === name);
      if (index >= 0) {
        list.splice(index, 1);
        removed = true;
      }
    }
    for (const key of [...this.#engagements.keys()]) if (key.startsWith(`${name}${kSep}`)) this.#engagements.delete(key);
    return removed;
  }

  hasActuator(name: string): boolean {
    return this.#actuators.has(name);
  }

  addActuator(name: string, actuator: Actuator): void {
    this.#actuators.set(name, actuator);
  }

  actuatorNames(): string[] {
    return [...this.#actuators.keys()];
  }

  /**
   * Runs `action` on `subsystem` now, outside any rule (the facade validated the names and
   * `factor`): every knob of the actuator's kinds (or the one named) is turned once, and each
   * change is recorded and published as a rule's decision is (rule `'manual'`).
   */
  execute(subsystem: string, action: string, factor: number, knobName: string | undefined): Decision[] {
    const entry = this.#subsystems.get(subsystem) as Entry;
    const actuator = this.#actuators.get(action) as Actuator;
    const at = this.#o.clock.now();
    let readings: Record<string, number> = {};
    try {
      if (entry.governable.metrics !== undefined) readings = cleanReadings(entry.governable.metrics());
    } catch {
      // A direct action needs no metrics; a failing reader does not stop it.
    }
    const knobs = entry.governable.knobs().map((k) => resolveKnob(subsystem, k));
    const targets = knobs.filter((k) => actuator.kinds.includes(k.kind) && (knobName === undefined || k.name === knobName));
    const context: ActuatorContext = { subsystem, factor, metric: (name) => readings[name] };
    const decisions: Decision[] = [];
    for (const knob of targets) {
      const requested = settleKnobValue(knob, actuator.apply(knob, context));
      const reason = `executed directly: ${action} with factor ${factor}`;
      const decision = applyKnobChange(entry.governable, knob, requested, {
        at,
        tick: this.#ticks,
        rule: 'manual',
        action,
        phase: 'apply',
        subsystem,
        metrics: {},
        reason,
      });
      this.#decisions += 1;
      if (decision.outcome === 'rejected') this.#rejected += 1;
      this.#monitor.record(decision);
      decisions.push(decision);
    }
    return decisions;
  }

  /** The knobs `subsystem` offers now (for the facade's checks). */
  knobNames(subsystem: string): string[] {
    const entry = this.#subsystems.get(subsystem);
    return entry === undefined ? [] : entry.governable.knobs().map((k) => k.name);
  }

  // ── readers ──────────────────────────────────────────────────────────────────────────────

  subsystems(): SubsystemSnapshot[] {
    return [...this.#subsystems].map(([name, entry]) => {
      let knobs: ResolvedKnob[] = [];
      try {
        knobs = entry.governable.knobs().map((k) => resolveKnob(name, k));
      } catch {
        this.#subsystemErrors += 1;
      }
      const engaged = [...this.#engagements]
        .filter(([key, engagement]) => key.endsWith(`${kSep}${name}`) && engagement.isEngaged)
        .map(([, engagement]) => engagement.rule.name);
      return { name, knobs, rules: entry.rules.map((r) => r.name), engaged };
    });
  }

  decisions(): Decision[] {
    return this.#monitor.decisions();
  }

  profile(name: string): MetricProfile | undefined {
    return this.#profiler.profile(name);
  }

  profiles(): Record<string, MetricProfile> {
    return this.#profiler.profiles();
  }

  onDecision(listener: (decision: Decision) => void): () => void {
    return this.#monitor.onDecision(listener);
  }

  onTick(listener: (report: TickReport) => void): () => void {
    return this.#monitor.onTick(listener);
  }

  stats(): GovernorStats {
    return {
      isRunning: this.#running,
      ticks: this.#ticks,
      decisions: this.#decisions,
      rejected: this.#rejected,
      dropped: this.#monitor.dropped,
      sensorErrors: this.#sensorErrors,
      subsystemErrors: this.#subsystemErrors,
      publishErrors: this.#monitor.publishErrors,
      listenerErrors: this.#monitor.listenerErrors,
    };
  }

  // ── one tick ─────────────────────────────────────────────────────────────────────────────

  async #runTick(): Promise<TickReport> {
    const tick = ++this.#ticks;
    const errors: string[] = [];
    let readings: Record<string, number> = {};
    const sensor = this.#o.sensor;
    if (sensor !== undefined) {
      try {
        readings = cleanReadings(await sensor.read());
      } catch (error) {
        this.#sensorErrors += 1;
        errors.push(`sensor: ${messageOf(error)}`);
      }
    }
    const at = this.#o.clock.now();
    const knobs = new Map<string, ResolvedKnob[]>();
    for (const [name, entry] of this.#subsystems) {
      try {
        if (entry.governable.metrics !== undefined) Object.assign(readings, cleanReadings(entry.governable.metrics(), `${name}.`));
      } catch (error) {
        this.#subsystemErrors += 1;
        errors.push(`${name}.metrics(): ${messageOf(error)}`);
      }
      try {
        knobs.set(
          name,
          entry.governable.knobs().map((k) => resolveKnob(name, k)),
        );
      } catch (error) {
        this.#subsystemErrors += 1;
        errors.push(`${name}.knobs(): ${messageOf(error)}`);
      }
    }
    this.#profiler.update(readings);

    const decisions: Decision[] = [];
    const locked = new Set<string>();
    for (const [name, entry] of this.#subsystems) {
      const subsystemKnobs = knobs.get(name);
      if (subsystemKnobs === undefined) continue;
      for (const rule of [...this.#rules, ...entry.rules]) {
        if (rule.subsystem !== undefined && rule.subsystem !== name) continue;
        this.#evaluate(rule, name, entry.governable, subsystemKnobs, readings, at, tick, locked, decisions);
      }
    }

    for (const decision of decisions) this.#monitor.record(decision);
    const report: TickReport = { tick, at, metrics: readings, decisions, errors };
    this.#monitor.publishTick(
      report,
      (): TelemetryPayload => ({
        ...copyReport(report),
        profiles: this.#profiler.profiles(),
        knobs: Object.fromEntries([...knobs].map(([name, list]) => [name, list.map((k) => ({ ...k }))])),
      }),
    );
    return copyReport(report);
  }

  #evaluate(
    rule: PolicyRule,
    subsystem: string,
    governable: Governable,
    knobs: ResolvedKnob[],
    readings: Readonly<Record<string, number>>,
    at: number,
    tick: number,
    locked: Set<string>,
    decisions: Decision[],
  ): void {
    const actuator = this.#actuators.get(rule.action);
    if (actuator === undefined) return;
    const targets = knobs.filter((k) => actuator.kinds.includes(k.kind) && (rule.knob === undefined || k.name === rule.knob));
    if (targets.length === 0) return;
    const key = `${rule.name}${kSep}${subsystem}`;
    let engagement = this.#engagements.get(key);
    if (engagement === undefined) {
      engagement = new RuleEngagement(rule);
      this.#engagements.set(key, engagement);
    }

    // A subsystem's own metric wins over the machine-wide one; only this tick's readings count.
    const keyOf = (metric: string): string | undefined =>
      readings[`${subsystem}.${metric}`] !== undefined ? `${subsystem}.${metric}` : readings[metric] !== undefined ? metric : undefined;
    const profileOf = (metric: string): MetricProfile | undefined => {
      const k = keyOf(metric);
      return k === undefined ? undefined : this.#profiler.profile(k);
    };
    const metricKey = keyOf(rule.metric);
    const profile = profileOf(rule.metric);
    const input = readInput(profile, rule.use);
    const guardsHold = rule.requires.every((c) => conditionHolds(c, profileOf(c.metric)));
    const step = engagement.observe(input, guardsHold, at);
    if (step === 'hold' || input === undefined || metricKey === undefined || profile === undefined) return;

    const used: Record<string, number> = {
      [metricKey]: profile.current,
      [`${metricKey}.ema`]: profile.ema,
      [`${metricKey}.forecast`]: profile.forecast,
      [`${metricKey}.trend`]: profile.trend,
    };
    for (const condition of rule.requires) {
      const k = keyOf(condition.metric);
      const v = readInput(profileOf(condition.metric), condition.use);
      if (k !== undefined && v !== undefined) used[condition.use === 'value' ? k : `${k}.${condition.use}`] = v;
    }
    const context: ActuatorContext = {
      subsystem,
      factor: rule.factor,
      metric: (name) => readings[`${subsystem}.${name}`] ?? readings[name],
    };
    const shown = `\`${metricKey}\` ${rule.use} ${round(input)}`;
    const record = (knob: ResolvedKnob, requested: number, phase: 'apply' | 'restore', reason: string): Decision => {
      const decision = applyKnobChange(governable, knob, requested, {
        at,
        tick,
        rule: rule.name,
        action: rule.action,
        phase,
        subsystem,
        metrics: used,
        reason,
      });
      this.#decisions += 1;
      if (decision.outcome === 'rejected') this.#rejected += 1;
      decisions.push(decision);
      locked.add(`${subsystem}${kSep}${knob.name}`);
      // Later rules this tick see the knob where it now is.
      const index = knobs.indexOf(knob);
      if (index >= 0) knobs[index] = { ...knob, value: decision.after };
      return decision;
    };

    if (step === 'apply') {
      const reason = `${shown} ${rule.direction === 'above' ? '>' : '<'} ${rule.threshold}${
        rule.requires.length > 0 ? ' and its ' + 'guards hold' : ''
      }`;
      const changed: string[] = [];
      let attempted = false;
      for (const knob of targets) {
        if (locked.has(`${subsystem}${kSep}${knob.name}`)) {
          // Another rule already turned this knob this tick; the pressure is real all the same,
          // so this rule claims the knob and holds it until its own pressure clears.
          attempted = true;
          changed.push(knob.name);
          continue;
        }
        const requested = settleKnobValue(knob, actuator.apply(knob, context));
        if (requested === knob.value) continue;
        attempted = true;
        if (record(knob, requested, 'apply', reason).outcome === 'applied') changed.push(knob.name);
      }
      if (attempted) engagement.acted('apply', at, changed);
      return;
    }

    // Restore: one step back toward the baseline on every knob this rule moved.
    let attempted = false;
    for (const name of engagement.knobs) {
      const knob = targets.find((k) => k.name === name);
      if (knob === undefined || knob.value === knob.baseline || actuator.restore === undefined) {
        engagement.restored(name);
        continue;
      }
      if (locked.has(`${subsystem}${kSep}${name}`) || this.#heldByOther(engagement, subsystem, name)) continue;
      const requested = towardBaseline(knob, settleKnobValue(knob, actuator.restore(knob, context)));
      if (requested === knob.value) {
        engagement.restored(name);
        continue;
      }
      attempted = true;
      const reason =
        `${shown} past the clear bound ${rule.clearThreshold} for ${engagement.clearStreak} samples; restoring toward ` +
        `baseline ${knob.baseline}`;
      const decision = record(knob, requested, 'restore', reason);
      if (decision.outcome === 'applied' && decision.after === knob.baseline) engagement.restored(name);
    }
    if (attempted) engagement.acted('restore', at, []);
  }

  /** True when another rule still under pressure holds `knob` of `subsystem`. */
  #heldByOther(self: RuleEngagement, subsystem: string, knob: string): boolean {
    for (const [key, engagement] of this.#engagements) {
      if (engagement === self || !key.endsWith(`${kSep}${subsystem}`)) continue;
      if (engagement.isHolding && engagement.knobs.includes(knob)) return true;
    }
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

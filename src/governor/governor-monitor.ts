/**
 * The governor's monitor: keeps the decision history, publishes decisions and telemetry on the
 * bus, and calls the decision and tick hooks. Publishing never throws into the control loop;
 * failures are counted.
 * @module
 */
import { copyDecision, DecisionHistory, GovernorTopic, signalTopic, type Decision } from './decision.ts';
import type { GovernorBus } from './governor-options.ts';
import type { TelemetryPayload, TickReport } from './tick-report.ts';

/**
 * Records and publishes what the governor decides.
 *
 * @example
 * ```ts
 * const monitor = new GovernorMonitor(bus, 1000);
 * monitor.record(decision);             // history + drg.signal.<action> + onDecision hooks
 * monitor.publishTick(report, () => payload); // drg.telemetry (built only if someone listens)
 * ```
 */
export class GovernorMonitor {
  readonly #bus: GovernorBus | undefined;
  readonly #history: DecisionHistory;
  readonly #decisionListeners = new Set<(decision: Decision) => void>();
  readonly #tickListeners = new Set<(report: TickReport) => void>();
  #publishErrors = 0;
  #listenerErrors = 0;

  constructor(bus: GovernorBus | undefined, historyLimit: number) {
    this.#bus = bus;
    this.#history = new DecisionHistory(historyLimit);
  }

  /** Bus publishes that threw or rejected. */
  get publishErrors(): number {
    return this.#publishErrors;
  }

  /** Hooks that threw. */
  get listenerErrors(): number {
    return this.#listenerErrors;
  }

  /** Decisions evicted from the history. */
  get dropped(): number {
    return this.#history.dropped;
  }

  /** Copies of the kept decisions, oldest first. */
  decisions(): Decision[] {
    return this.#history.toArray();
  }

  /** Calls `listener` with a copy of every decision; returns the unsubscribe function. */
  onDecision(listener: (decision: Decision) => void): () => void {
    this.#decisionListeners.add(listener);
    return () => this.#decisionListeners.delete(listener);
  }

  /** Calls `listener` with a copy of every tick report; returns the unsubscribe function. */
  onTick(listener: (report: TickReport) => void): () => void {
    this.#tickListeners.add(listener);
    return () => this.#tickListeners.delete(listener);
  }

  /** Keeps `decision`, publishes it on its signal topic and calls the decision hooks. */
  record(decision: Decision): void {
    this.#history.push(decision);
    const topic = signalTopic(decision);
    if (this.#listens(topic)) this.#publish(topic, copyDecision(decision));
    for (const listener of this.#decisionListeners) {
      try {
        listener(copyDecision(decision));
      } catch {
        this.#listenerErrors += 1;
      }
    }
  }

  /** Publishes `drg.telemetry` (building it only when someone listens) and calls the tick hooks. */
  publishTick(report: TickReport, buildPayload: () => TelemetryPayload): void {
    if (this.#listens(GovernorTopic.Telemetry)) this.#publish(GovernorTopic.Telemetry, buildPayload());
    for (const listener of this.#tickListeners) {
      try {
        listener(copyReport(report));
      } catch {
        this.#listenerErrors += 1;
      }
    }
  }

  #listens(topic: string): boolean {
    const bus = this.#bus;
    return bus !== undefined && (bus.hasSubscribers?.(topic) ?? true);
  }

  #publish(topic: string, payload: unknown): void {
    try {
      const result = this.#bus?.publish(topic, payload);
      if (result instanceof Promise) result.catch(() => (this.#publishErrors += 1));
    } catch {
      this.#publishErrors += 1;
    }
  }
}

/** A deep copy of a tick report. */
export function copyReport(report: TickReport): TickReport {
  return { ...report, metrics: { ...report.metrics }, decisions: report.decisions.map(copyDecision), errors: [...report.errors] };
}

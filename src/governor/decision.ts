/**
 * The governor's decision records, the bus topics they are published on, and the capped
 * history that keeps the latest of them.
 * @module
 */

/** The bus topics of the governor. */
export const GovernorTopic = {
  /** One per tick: the metric snapshot, profiles and the tick's decisions. */
  Telemetry: 'drg.telemetry',
  /** One per restoring step, whatever action it undoes. */
  Restore: 'drg.signal.restore',
  /** Prefix of the per-action topics: `drg.signal.reduce_batch`, `drg.signal.scale_up`, … */
  SignalPrefix: 'drg.signal.',
} as const;

/** A topic the governor publishes on. */
export type GovernorTopicName = typeof GovernorTopic.Telemetry | `drg.signal.${string}`;

/**
 * The topic a decision is published on: `drg.signal.<action>` when applying, `drg.signal.restore`
 * when restoring.
 *
 * @example
 * ```ts
 * signalTopic({ action: 'reduce_batch', phase: 'apply' }); // 'drg.signal.reduce_batch'
 * ```
 */
export function signalTopic(decision: Pick<Decision, 'action' | 'phase'>): GovernorTopicName {
  return decision.phase === 'restore' ? GovernorTopic.Restore : `${GovernorTopic.SignalPrefix}${decision.action}`;
}

/**
 * One change the governor made (or tried to make) to one knob.
 *
 * @example
 * ```ts
 * governor.onDecision((d) => console.log(`${d.rule}: ${d.subsystem}.${d.knob} ${d.before} -> ${d.after}`));
 * ```
 */
export interface Decision {
  /** Clock time of the tick. */
  readonly at: number;
  /** The tick number (from 1). */
  readonly tick: number;
  /** The rule's name. */
  readonly rule: string;
  /** The rule's action. */
  readonly action: string;
  /** `'apply'` under pressure; `'restore'` when stepping back toward the baseline. */
  readonly phase: 'apply' | 'restore';
  /** The subsystem acted on. */
  readonly subsystem: string;
  /** The knob turned. */
  readonly knob: string;
  /** The knob's value before. */
  readonly before: number;
  /** The value the subsystem reports in effect after its setter ran. */
  readonly after: number;
  /** The value the governor asked for (rounded and clamped to the knob's bounds). */
  readonly requested: number;
  /** The metric views the rule read, e.g. `{ vram_util: 0.9, 'vram_util.forecast': 0.93 }`. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Why, in words. */
  readonly reason: string;
  /** `'rejected'` when the setter threw or left the knob where it was. */
  readonly outcome: 'applied' | 'rejected';
  /** The setter's error, when it threw. */
  readonly error?: { readonly code?: string; readonly message: string };
}

/**
 * The latest `limit` decisions, oldest first; older ones are dropped and counted.
 *
 * @example
 * ```ts
 * const history = new DecisionHistory(2);
 * history.push(a); history.push(b); history.push(c);
 * history.toArray(); // [b, c]; history.dropped === 1
 * ```
 */
export class DecisionHistory {
  readonly limit: number;
  #items: Decision[] = [];
  #start = 0;
  #dropped = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Decisions evicted so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Number of decisions kept. */
  get size(): number {
    return this.#items.length - this.#start;
  }

  /** Keeps `decision`, evicting the oldest past the limit. */
  push(decision: Decision): void {
    if (this.limit === 0) {
      this.#dropped += 1;
      return;
    }
    this.#items.push(decision);
    if (this.size > this.limit) {
      this.#start += 1;
      this.#dropped += 1;
      // Compact now and then so eviction stays O(1) amortised without an unbounded array.
      if (this.#start >= this.limit) {
        this.#items = this.#items.slice(this.#start);
        this.#start = 0;
      }
    }
  }

  /** Copies of the kept decisions, oldest first. */
  toArray(): Decision[] {
    return this.#items.slice(this.#start).map(copyDecision);
  }
}

/** A deep copy of a decision (so readers never hold the history's objects). */
export function copyDecision(decision: Decision): Decision {
  return {
    ...decision,
    metrics: { ...decision.metrics },
    ...(decision.error === undefined ? {} : { error: { ...decision.error } }),
  };
}

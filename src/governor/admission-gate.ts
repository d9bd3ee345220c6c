/**
 * The admission gate a Runtime puts in front of `post()`: a token bucket for the `throttle`
 * action, a shed level for `shed_load`, and a wait limit checked on every post — the work already
 * admitted, drained at the measured completion rate, must finish within it (Little's law), so a
 * backlog never builds past what the latency target allows, whatever the load. It is a
 * {@link Governable}. Refusals are never silent: each is counted and reported to the poster as a
 * coded error.
 * @module
 */
import { realClock, type Clock } from '../core/clock.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { KnobKinds, type Governable, type KnobDescriptor } from './governable.ts';
import { checkInteger, checkKnownKeys, checkName, checkNumber, checkObject, failOption } from './option-checks.ts';

/** Options of {@link AdmissionGate}. */
export interface AdmissionGateOptions {
  /**
   * The subsystem name the gate registers under.
   * @default 'admission'
   */
  name?: string;
  /**
   * The clock the bucket refills on.
   * @default realClock
   */
  clock?: Clock;
  /**
   * The ceiling (and baseline) of the admission rate, items per second. At the ceiling the gate
   * does not limit at all.
   * @default 1_000_000
   */
  maxRate?: number;
  /**
   * The floor of the admission rate, items per second.
   * @default 1
   */
  minRate?: number;
  /**
   * Items a full bucket admits at once, as seconds of the current rate (at least one item).
   * @default 0.1
   */
  burstSeconds?: number;
  /**
   * The highest shed level; posts with `priority < shedLevel` are refused.
   * @default 3
   */
  maxShedLevel?: number;
  /**
   * The longest a new post may expect to wait behind the work already admitted, milliseconds:
   * the bound for the highest priority (`maxShedLevel` and above); priority 0 gets half of it and
   * the levels between a share in proportion, so the lowest priorities are refused first as the
   * backlog grows. Needs `expectedWaitMs`.
   * @default Infinity (no limit)
   */
  waitLimitMs?: number;
  /**
   * How long the work admitted and not yet finished takes to drain, milliseconds, or undefined
   * while unknown (nothing finished yet): the Runtime passes unfinished jobs over the jobs
   * finished per second.
   */
  expectedWaitMs?: () => number | undefined;
}

/** The answer of {@link AdmissionGate.tryAdmit}. */
export type AdmissionVerdict =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly reason: 'shed' | 'throttled' | 'overloaded'; readonly retryAfterMs: number };

/** Counters of the gate: a snapshot. */
export interface AdmissionStats {
  readonly admitted: number;
  readonly throttled: number;
  readonly shed: number;
  /** Posts refused because the expected wait was over the wait limit. */
  readonly overloaded: number;
  /** Refusals by the priority of the refused post. */
  readonly shedByPriority: Readonly<Record<number, number>>;
  readonly rate: number;
  readonly shedLevel: number;
  /** The wait limit for the highest priority, ms (Infinity: none). */
  readonly waitLimitMs: number;
}

/**
 * A token bucket, a shed level and a wait limit, governable through the `admission_rate`,
 * `shed_level` and (when limited) `wait_limit` knobs.
 *
 * @example
 * ```ts
 * const gate = new AdmissionGate({ clock });
 * governor.register(gate);
 * // in post():
 * gate.admit(priority); // throws SLUICE_ERR_THROTTLED, SLUICE_ERR_LOAD_SHED or SLUICE_ERR_OVERLOADED, counted
 * ```
 */
export class AdmissionGate implements Governable {
  readonly name: string;
  readonly #clock: Clock;
  readonly #maxRate: number;
  readonly #minRate: number;
  readonly #burstSeconds: number;
  readonly #maxShedLevel: number;
  readonly #expectedWaitMs: (() => number | undefined) | undefined;
  readonly #waitBaseline: number;
  #waitLimitMs: number;
  #rate: number;
  #shedLevel = 0;
  #tokens: number;
  #refilledAt: number;
  #admitted = 0;
  #throttled = 0;
  #shed = 0;
  #overloaded = 0;
  readonly #shedByPriority = new Map<number, number>();

  constructor(options: AdmissionGateOptions = {}) {
    checkObject('AdmissionGate options', options);
    checkKnownKeys('AdmissionGate options', options, [
      'name',
      'clock',
      'maxRate',
      'minRate',
      'burstSeconds',
      'maxShedLevel',
      'waitLimitMs',
      'expectedWaitMs',
    ]);
    this.name = options.name ?? 'admission';
    checkName('name', this.name);
    this.#clock = options.clock ?? realClock;
    if (typeof this.#clock?.now !== 'function') failOption('clock', 'a Clock', this.#clock);
    this.#maxRate = options.maxRate ?? 1_000_000;
    checkNumber('maxRate', this.#maxRate, 0, Number.POSITIVE_INFINITY, true);
    this.#minRate = options.minRate ?? 1;
    checkNumber('minRate', this.#minRate, 0, this.#maxRate, true);
    this.#burstSeconds = options.burstSeconds ?? 0.1;
    checkNumber('burstSeconds', this.#burstSeconds, 0, Number.POSITIVE_INFINITY, true);
    this.#maxShedLevel = options.maxShedLevel ?? 3;
    checkInteger('maxShedLevel', this.#maxShedLevel, 0);
    this.#waitLimitMs = options.waitLimitMs ?? Number.POSITIVE_INFINITY;
    if (this.#waitLimitMs !== Number.POSITIVE_INFINITY) checkNumber('waitLimitMs', this.#waitLimitMs, 0, Number.POSITIVE_INFINITY, true);
    this.#waitBaseline = this.#waitLimitMs;
    this.#expectedWaitMs = options.expectedWaitMs;
    if (this.#expectedWaitMs !== undefined && typeof this.#expectedWaitMs !== 'function')
      failOption('expectedWaitMs', 'a function', this.#expectedWaitMs);
    if (this.#waitLimitMs !== Number.POSITIVE_INFINITY && this.#expectedWaitMs === undefined)
      failOption('expectedWaitMs', 'a function (waitLimitMs needs it)', this.#expectedWaitMs);
    this.#rate = this.#maxRate;
    this.#tokens = this.#capacity();
    this.#refilledAt = this.#clock.now();
  }

  /** The admission rate in effect, items per second. */
  get rate(): number {
    return this.#rate;
  }

  /** The shed level in effect. */
  get shedLevel(): number {
    return this.#shedLevel;
  }

  /** The wait limit in effect for the highest priority, ms (Infinity: none). */
  get waitLimitMs(): number {
    return this.#waitLimitMs;
  }

  /**
   * The wait limit for a post of `priority`: half the limit at priority 0, rising in equal steps
   * to the whole limit at `maxShedLevel`.
   */
  waitLimitFor(priority: number): number {
    const levels = this.#maxShedLevel;
    if (levels === 0) return this.#waitLimitMs;
    return (this.#waitLimitMs * (1 + Math.min(levels, Math.max(0, priority)) / levels)) / 2;
  }

  /** Decides on one post of `priority` (0 = lowest) and counts the outcome. */
  tryAdmit(priority = 0): AdmissionVerdict {
    if (priority < this.#shedLevel) return this.#refuseShed(priority);
    if (this.#waitLimitMs !== Number.POSITIVE_INFINITY) {
      const expected = (this.#expectedWaitMs as () => number | undefined)();
      if (expected !== undefined) {
        const limit = this.waitLimitFor(priority);
        if (expected > limit) {
          this.#overloaded += 1;
          this.#shedByPriority.set(priority, (this.#shedByPriority.get(priority) ?? 0) + 1);
          return { admitted: false, reason: 'overloaded', retryAfterMs: expected - limit };
        }
      }
    }
    if (this.#rate < this.#maxRate) {
      this.#refill();
      if (this.#tokens < 1) {
        this.#throttled += 1;
        return { admitted: false, reason: 'throttled', retryAfterMs: ((1 - this.#tokens) / this.#rate) * 1000 };
      }
      this.#tokens -= 1;
    }
    this.#admitted += 1;
    return { admitted: true };
  }

  #refuseShed(priority: number): AdmissionVerdict {
    this.#shed += 1;
    this.#shedByPriority.set(priority, (this.#shedByPriority.get(priority) ?? 0) + 1);
    return { admitted: false, reason: 'shed', retryAfterMs: 0 };
  }

  /** Like {@link AdmissionGate.tryAdmit}, but a refusal throws a coded {@link SluiceError}. */
  admit(priority = 0): void {
    const verdict = this.tryAdmit(priority);
    if (verdict.admitted) return;
    if (verdict.reason === 'shed') {
      throw new SluiceError(
        ErrorCode.LoadShed,
        `Post refused: priority ${priority} is below the shed level ${this.#shedLevel} under load`,
        {
          details: { priority, shedLevel: this.#shedLevel },
        },
      );
    }
    if (verdict.reason === 'overloaded') {
      const limit = this.waitLimitFor(priority);
      const expected = limit + verdict.retryAfterMs;
      throw new SluiceError(
        ErrorCode.Overloaded,
        `Post refused: the work already admitted takes about ${Math.round(expected)} ms to finish at the measured rate, over the ` +
          `wait limit of ${round(limit)} ms for priority ${priority}; retry in ${Math.ceil(verdict.retryAfterMs)} ms`,
        { details: { priority, expectedWaitMs: expected, waitLimitMs: limit, retryAfterMs: verdict.retryAfterMs } },
      );
    }
    throw new SluiceError(
      ErrorCode.Throttled,
      `Post refused: admission is throttled to ${round(this.#rate)} items/s; retry in ${Math.ceil(verdict.retryAfterMs)} ms`,
      {
        details: { rate: this.#rate, retryAfterMs: verdict.retryAfterMs },
      },
    );
  }

  /** The counters. */
  stats(): AdmissionStats {
    return {
      admitted: this.#admitted,
      throttled: this.#throttled,
      shed: this.#shed,
      overloaded: this.#overloaded,
      shedByPriority: Object.fromEntries(this.#shedByPriority),
      rate: this.#rate,
      shedLevel: this.#shedLevel,
      waitLimitMs: this.#waitLimitMs,
    };
  }

  knobs(): KnobDescriptor[] {
    const knobs: KnobDescriptor[] = [
      {
        name: 'admission_rate',
        kind: KnobKinds.AdmissionRate,
        value: this.#rate,
        min: this.#minRate,
        max: this.#maxRate,
        baseline: this.#maxRate,
        step: 'continuous',
      },
      {
        name: 'shed_level',
        kind: KnobKinds.ShedLevel,
        value: this.#shedLevel,
        min: 0,
        max: this.#maxShedLevel,
        baseline: 0,
        step: 'integer',
      },
    ];
    if (this.#waitBaseline !== Number.POSITIVE_INFINITY) {
      knobs.push({
        name: 'wait_limit',
        kind: KnobKinds.WaitLimit,
        value: this.#waitLimitMs,
        min: Math.min(1, this.#waitBaseline),
        max: this.#waitBaseline,
        baseline: this.#waitBaseline,
        step: 'continuous',
      });
    }
    return knobs;
  }

  setKnob(name: string, value: number): number {
    checkNumber(`${this.name}.${name}`, value);
    if (name === 'admission_rate') {
      this.#refill();
      this.#rate = Math.min(this.#maxRate, Math.max(this.#minRate, value));
      this.#tokens = Math.min(this.#tokens, this.#capacity());
      return this.#rate;
    }
    if (name === 'shed_level') {
      this.#shedLevel = Math.min(this.#maxShedLevel, Math.max(0, Math.round(value)));
      return this.#shedLevel;
    }
    if (name === 'wait_limit' && this.#waitBaseline !== Number.POSITIVE_INFINITY) {
      this.#waitLimitMs = Math.min(this.#waitBaseline, Math.max(Math.min(1, this.#waitBaseline), value));
      return this.#waitLimitMs;
    }
    throw new SluiceError(ErrorCode.UnknownKnob, `Subsystem \`${this.name}\` has no knob \`${name}\``, {
      details: { subsystem: this.name, knob: name },
    });
  }

  #capacity(): number {
    return Math.max(1, this.#rate * this.#burstSeconds);
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#capacity(), this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * The admission gate a Runtime puts in front of `post()`: a token bucket for the `throttle`
 * action and a shed level for `shed_load`. It is a {@link Governable} with two knobs. Refusals
 * are never silent: each is counted and reported to the poster as a coded error.
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
}

/** The answer of {@link AdmissionGate.tryAdmit}. */
export type AdmissionVerdict =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly reason: 'shed' | 'throttled'; readonly retryAfterMs: number };

/** Counters of the gate: a snapshot. */
export interface AdmissionStats {
  readonly admitted: number;
  readonly throttled: number;
  readonly shed: number;
  /** Refusals by the priority of the refused post. */
  readonly shedByPriority: Readonly<Record<number, number>>;
  readonly rate: number;
  readonly shedLevel: number;
}

/**
 * A token bucket plus a shed level, governable through `admission_rate` and `shed_level` knobs.
 *
 * @example
 * ```ts
 * const gate = new AdmissionGate({ clock });
 * governor.register(gate);
 * // in post():
 * gate.admit(priority); // throws SLUICE_ERR_THROTTLED or SLUICE_ERR_LOAD_SHED, counted
 * ```
 */
export class AdmissionGate implements Governable {
  readonly name: string;
  readonly #clock: Clock;
  readonly #maxRate: number;
  readonly #minRate: number;
  readonly #burstSeconds: number;
  readonly #maxShedLevel: number;
  #rate: number;
  #shedLevel = 0;
  #tokens: number;
  #refilledAt: number;
  #admitted = 0;
  #throttled = 0;
  #shed = 0;
  readonly #shedByPriority = new Map<number, number>();

  constructor(options: AdmissionGateOptions = {}) {
    checkObject('AdmissionGate options', options);
    checkKnownKeys('AdmissionGate options', options, ['name', 'clock', 'maxRate', 'minRate', 'burstSeconds', 'maxShedLevel']);
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

  /** Decides on one post of `priority` (0 = lowest) and counts the outcome. */
  tryAdmit(priority = 0): AdmissionVerdict {
    if (priority < this.#shedLevel) {
      this.#shed += 1;
      this.#shedByPriority.set(priority, (this.#shedByPriority.get(priority) ?? 0) + 1);
      return { admitted: false, reason: 'shed', retryAfterMs: 0 };
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
      shedByPriority: Object.fromEntries(this.#shedByPriority),
      rate: this.#rate,
      shedLevel: this.#shedLevel,
    };
  }

  knobs(): KnobDescriptor[] {
    return [
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

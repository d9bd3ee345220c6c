/**
 * The state of one rule on one subsystem: whether it has acted and not yet given back, its
 * streaks of triggered and cleared samples, and when it last acted. This is where hysteresis
 * and the cooldown live.
 * @module
 */
import type { PolicyRule } from './policy-rule.ts';

/** What a rule should do this tick. */
export type EngagementStep = 'apply' | 'restore' | 'hold';

/**
 * One rule's engagement with one subsystem.
 *
 * - Idle: the first sample past the threshold (after `fireAfter` in a row, guards holding,
 *   cooldown elapsed) applies the action.
 * - Engaged: it applies again only when pressure held through a whole cooldown (so a signal
 *   hopping across the threshold acts once); inside the hysteresis band it holds; after
 *   `clearAfter` samples past the clear bound it restores one step per cooldown until every
 *   knob it moved is back at its baseline, then it is idle again.
 *
 * @example
 * ```ts
 * const engagement = new RuleEngagement(rule);
 * if (engagement.observe(0.9, true, clock.now()) === 'apply') { act(); engagement.acted('apply', clock.now(), ['batch']); }
 * ```
 */
export class RuleEngagement {
  readonly rule: PolicyRule;
  #engaged = false;
  #lastActionAt = Number.NEGATIVE_INFINITY;
  #triggerStreak = 0;
  #triggerSince: number | undefined;
  #clearStreak = 0;
  readonly #knobs = new Set<string>();

  constructor(rule: PolicyRule) {
    this.rule = rule;
  }

  /** True between the first action and the end of restoring. */
  get isEngaged(): boolean {
    return this.#engaged;
  }

  /** True while engaged and pressure is not (yet) confirmed gone: its knobs are held. */
  get isHolding(): boolean {
    return this.#engaged && this.#clearStreak < this.rule.clearAfter;
  }

  /** Consecutive cleared samples so far. */
  get clearStreak(): number {
    return this.#clearStreak;
  }

  /** The knobs this engagement moved and has not given back. */
  get knobs(): readonly string[] {
    return [...this.#knobs];
  }

  /**
   * Folds in this tick's input (`undefined` when the metric was not measured) and whether the
   * rule's guards hold; returns the step to take.
   */
  observe(input: number | undefined, guardsHold: boolean, now: number): EngagementStep {
    const rule = this.rule;
    if (input === undefined) {
      // No reading breaks both streaks: neither pressure nor relief is confirmed.
      this.#triggerStreak = 0;
      this.#triggerSince = undefined;
      this.#clearStreak = 0;
      return 'hold';
    }
    const triggered = rule.triggered(input) && guardsHold;
    if (triggered) {
      this.#triggerStreak += 1;
      this.#triggerSince ??= now;
      this.#clearStreak = 0;
    } else {
      this.#triggerStreak = 0;
      this.#triggerSince = undefined;
      this.#clearStreak = rule.cleared(input) ? this.#clearStreak + 1 : 0;
    }
    const cooled = now - this.#lastActionAt >= rule.cooldownMs;
    if (triggered && this.#triggerStreak >= rule.fireAfter && cooled) {
      if (!this.#engaged) return 'apply';
      // Stepping again needs pressure that lasted a whole cooldown, not a blip across the line.
      if (now - (this.#triggerSince ?? now) >= rule.cooldownMs) return 'apply';
      return 'hold';
    }
    if (this.#engaged && this.#clearStreak >= rule.clearAfter) {
      if (!rule.restore) {
        this.release();
        return 'hold';
      }
      if (cooled) return 'restore';
    }
    return 'hold';
  }

  /** Records that a step changed `knobs` at `now`. */
  acted(step: 'apply' | 'restore', now: number, knobs: readonly string[]): void {
    this.#lastActionAt = now;
    if (step === 'apply') {
      this.#engaged = true;
      for (const knob of knobs) this.#knobs.add(knob);
    }
  }

  /** Marks `knob` as given back. */
  restored(knob: string): void {
    this.#knobs.delete(knob);
    if (this.#knobs.size === 0) this.release();
  }

  /** Ends the engagement: nothing left to give back. */
  release(): void {
    this.#engaged = false;
    this.#knobs.clear();
  }
}

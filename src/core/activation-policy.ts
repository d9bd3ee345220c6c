/**
 * Activation policies decide when a routine's logic runs and which queued items it consumes.
 * A policy is evaluated when data arrives, when an activation of its routine settles, and when
 * a timer it asked for fires — never by polling. Per-worker, per-routine memory lives in the
 * `state` object the engine passes in, so one policy object serves every worker.
 */
import { ErrorCode, SluiceError, describeValue } from './errors.ts';
import { assertFunction, assertInteger, assertKnownKeys, assertMs, assertObject, assertOneOf } from './validate.ts';

/**
 * A read-only view of one routine's slots in one worker.
 *
 * @category Activation policies
 */
export interface SlotsView {
  /** Slot names in declaration order. */
  readonly names: readonly string[];
  /** Items queued in `slot`. */
  count(slot: string): number;
  /** The data of the item at `index` from the head of `slot`, without removing it. */
  peek(slot: string, index?: number): unknown;
  /** Items queued in all slots together. */
  total(): number;
}

/**
 * Why a policy is being evaluated.
 *
 * @category Activation policies
 */
export type EvaluationReason = 'data' | 'timer' | 'settled';

/**
 * What a policy sees besides the slots.
 *
 * @category Activation policies
 */
export interface PolicyContext {
  /** The engine clock's time in milliseconds. */
  readonly now: number;
  /** Memory of this policy for one (worker, routine) pair; the policy may mutate it. */
  readonly state: Record<string, unknown>;
  /** The worker's id. */
  readonly workerId: string;
  /** The routine's id in its flow. */
  readonly routineId: string;
  /** Why this evaluation happens. */
  readonly reason: EvaluationReason;
  /**
   * A cap on batch sizes set at run time (by the governor or `runtime.setBatchLimit()`);
   * batching policies never take more than this. Undefined when no cap is set.
   */
  readonly batchLimit: number | undefined;
}

/**
 * Run the logic now over the items named by `take`.
 *
 * @category Activation policies
 */
export interface Activate {
  readonly activate: true;
  /** Items to consume per slot, from the head; slots not named give none. At least one item in all. */
  readonly take: Readonly<Record<string, number>>;
  /** Passed to the logic as `ctx.message`. */
  readonly message?: unknown;
}

/**
 * Do not run now.
 *
 * @category Activation policies
 */
export interface Wait {
  readonly activate: false;
  /** Evaluate again after this many milliseconds (a real timer), even if no data arrives. */
  readonly wakeAfterMs?: number;
  /**
   * Give up on these items (from the head of each named slot): their jobs fail with
   * `SLUICE_ERR_JOIN_TIMEOUT`. Used by joins whose partners never came.
   */
  readonly expire?: Readonly<Record<string, number>>;
  /** Why the items expire; recorded in the error. */
  readonly reason?: string;
}

/**
 * A policy's answer.
 *
 * @category Activation policies
 */
export type ActivationDecision = Activate | Wait;

/**
 * Marks the built-in policies, whose decisions the engine trusts without re-checking (the
 * decisions of custom policies are checked by {@link checkDecision}).
 */
export const kBuiltinPolicy = Symbol('sluice.policy.builtin');

/**
 * Decides when a routine runs; the built-ins are immediate, allSlotsReady, batchSize, timeInterval and custom.
 *
 * @category Activation policies
 */
export interface ActivationPolicy {
  /** Set by the built-in factories only. */
  readonly [kBuiltinPolicy]?: true;
  /** Short name, e.g. `batchSize`. */
  readonly type: string;
  /** The options the policy was made with. */
  readonly config: Readonly<Record<string, unknown>>;
  /** One line for people: `batches of 32 items, flushing a partial batch after 50 ms`. */
  readonly description: string;
  /** Decides from the slots and the policy state. */
  evaluate(slots: SlotsView, ctx: PolicyContext): ActivationDecision;
}

const kWait: Wait = Object.freeze({ activate: false });

/** True for a policy made by one of the built-in factories (except `custom`). */
export function isBuiltinPolicy(policy: ActivationPolicy): boolean {
  return policy[kBuiltinPolicy] === true;
}

function takeOneFromEach(slots: SlotsView, onlyNonEmpty: boolean): Record<string, number> {
  const take: Record<string, number> = {};
  for (const name of slots.names) if (!onlyNonEmpty || slots.count(name) > 0) take[name] = 1;
  return take;
}

function takeAll(slots: SlotsView): Record<string, number> {
  const take: Record<string, number> = {};
  for (const name of slots.names) {
    const n = slots.count(name);
    if (n > 0) take[name] = n;
  }
  return take;
}

function takeUpTo(slots: SlotsView, limit: number): Record<string, number> {
  const take: Record<string, number> = {};
  let left = limit;
  for (const name of slots.names) {
    if (left === 0) break;
    const n = Math.min(slots.count(name), left);
    if (n > 0) {
      take[name] = n;
      left -= n;
    }
  }
  return take;
}

/**
 * Runs once per item as soon as it arrives: each activation takes one item from the first
 * non-empty slot, so each activation belongs to exactly one job.
 *
 * @example
 * ```ts
 * routine.setActivationPolicy(immediate());
 * ```
 * @category Activation policies
 */
export function immediate(): ActivationPolicy {
  return {
    [kBuiltinPolicy]: true,
    type: 'immediate',
    config: Object.freeze({}),
    description: 'one activation per item, as soon as it arrives',
    evaluate(slots) {
      for (const name of slots.names) {
        if (slots.count(name) > 0) return { activate: true, take: { [name]: 1 } };
      }
      return kWait;
    },
  };
}

/**
 * Options of {@link allSlotsReady}.
 *
 * @category Activation policies
 */
export interface AllSlotsReadyOptions {
  /**
   * How long an item may wait for its partners in the other slots.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * What happens when the oldest waiting item times out: `fail` expires the waiting items (their
   * jobs fail with `SLUICE_ERR_JOIN_TIMEOUT`); `flush` runs the logic with the slots that have
   * data (the empty ones give empty arrays).
   * @default 'fail'
   */
  onTimeout?: 'fail' | 'flush';
}

/**
 * A join: runs when every slot holds at least one item and takes one from each. Items whose
 * partners do not come within `timeoutMs` are expired or flushed, never kept forever.
 *
 * @example
 * ```ts
 * join.setActivationPolicy(allSlotsReady({ timeoutMs: 5_000, onTimeout: 'flush' }));
 * ```
 * @category Activation policies
 */
export function allSlotsReady(options: AllSlotsReadyOptions = {}): ActivationPolicy {
  assertObject('allSlotsReady options', options);
  assertKnownKeys('allSlotsReady options', options as Record<string, unknown>, ['timeoutMs', 'onTimeout']);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const onTimeout = options.onTimeout ?? 'fail';
  assertMs('allSlotsReady timeoutMs', timeoutMs, 1);
  assertOneOf('allSlotsReady onTimeout', onTimeout, ['fail', 'flush'] as const);
  return {
    [kBuiltinPolicy]: true,
    type: 'allSlotsReady',
    config: Object.freeze({ timeoutMs, onTimeout }),
    description:
      `one item from every slot once all have data; partial sets ${onTimeout === 'fail' ? 'fail' : 'flush'} after ` + `${timeoutMs} ms`,
    evaluate(slots, ctx) {
      const total = slots.total();
      if (total === 0) {
        ctx.state.waitingSince = undefined;
        return kWait;
      }
      let ready = true;
      for (const name of slots.names) if (slots.count(name) === 0) ready = false;
      if (ready) {
        // The remaining items (if any) start a fresh wait: their partners may still come.
        ctx.state.waitingSince = slots.total() > slots.names.length ? ctx.now : undefined;
        return { activate: true, take: takeOneFromEach(slots, false) };
      }
      const since = (ctx.state.waitingSince as number | undefined) ?? ctx.now;
      ctx.state.waitingSince = since;
      const waited = ctx.now - since;
      if (waited < timeoutMs) return { activate: false, wakeAfterMs: timeoutMs - waited };
      ctx.state.waitingSince = slots.total() > 0 ? ctx.now : undefined;
      if (onTimeout === 'flush') return { activate: true, take: takeOneFromEach(slots, true), message: { partial: true } };
      return {
        activate: false,
        expire: takeOneFromEach(slots, true),
        reason: `no partner arrived within ${timeoutMs} ms`,
        wakeAfterMs: timeoutMs,
      };
    },
  };
}

/**
 * Options of {@link batchSize}.
 *
 * @category Activation policies
 */
export interface BatchSizeOptions {
  /**
   * How long a partial batch may wait before it runs anyway, so it is never stranded.
   * @default 50
   */
  timeoutMs?: number;
}

/**
 * Runs over `n` items at a time (counted over all slots); a partial batch runs when its oldest
 * item has waited `timeoutMs`.
 *
 * @example
 * ```ts
 * embed.setActivationPolicy(batchSize(32, { timeoutMs: 20 }));
 * ```
 * @category Activation policies
 */
export function batchSize(n: number, options: BatchSizeOptions = {}): ActivationPolicy {
  assertInteger('batchSize n', n, 1);
  assertObject('batchSize options', options);
  assertKnownKeys('batchSize options', options as Record<string, unknown>, ['timeoutMs']);
  const timeoutMs = options.timeoutMs ?? 50;
  assertMs('batchSize timeoutMs', timeoutMs, 0);
  return {
    [kBuiltinPolicy]: true,
    type: 'batchSize',
    config: Object.freeze({ n, timeoutMs }),
    description: `batches of ${n} items, flushing a partial batch after ${timeoutMs} ms`,
    evaluate(slots, ctx) {
      // The governor may lower the effective size at run time (never raise it past `n`).
      const size = Math.max(1, Math.min(n, ctx.batchLimit ?? n));
      const total = slots.total();
      if (total === 0) {
        ctx.state.firstAt = undefined;
        return kWait;
      }
      if (total >= size) {
        ctx.state.firstAt = total > size ? ctx.now : undefined;
        return { activate: true, take: takeUpTo(slots, size), message: { batchSize: size, partial: false } };
      }
      const firstAt = (ctx.state.firstAt as number | undefined) ?? ctx.now;
      ctx.state.firstAt = firstAt;
      const waited = ctx.now - firstAt;
      if (waited >= timeoutMs) {
        ctx.state.firstAt = undefined;
        return { activate: true, take: takeAll(slots), message: { batchSize: size, partial: true } };
      }
      return { activate: false, wakeAfterMs: timeoutMs - waited };
    },
  };
}

/**
 * Runs at most once every `ms` milliseconds over everything queued, on a real timer: items that
 * arrive between runs wait for the next tick, which fires without any new arrival.
 *
 * @example
 * ```ts
 * flush.setActivationPolicy(timeInterval(1_000));
 * ```
 * @category Activation policies
 */
export function timeInterval(ms: number): ActivationPolicy {
  assertMs('timeInterval ms', ms, 1);
  return {
    [kBuiltinPolicy]: true,
    type: 'timeInterval',
    config: Object.freeze({ ms }),
    description: `everything queued, at most once every ${ms} ms`,
    evaluate(slots, ctx) {
      if (slots.total() === 0) return kWait;
      const last = ctx.state.lastRunAt as number | undefined;
      if (last === undefined || ctx.now - last >= ms) {
        ctx.state.lastRunAt = ctx.now;
        return { activate: true, take: takeAll(slots), message: { intervalMs: ms } };
      }
      return { activate: false, wakeAfterMs: ms - (ctx.now - last) };
    },
  };
}

/**
 * A check written by the user. Returning `true` runs the logic over everything queued; `false`
 * waits for more data; an {@link ActivationDecision} says exactly what to take.
 * @category Activation policies
 */
export type CustomCheck = (slots: SlotsView, ctx: PolicyContext) => boolean | ActivationDecision;

/**
 * A policy from a check function.
 *
 * @example
 * ```ts
 * // Run when the "a" slot holds an even number of items.
 * r.setActivationPolicy(custom((slots) => slots.count('a') > 0 && slots.count('a') % 2 === 0, 'even counts'));
 * ```
 * @category Activation policies
 */
export function custom(check: CustomCheck, description = 'custom check'): ActivationPolicy {
  assertFunction('custom check', check);
  return {
    type: 'custom',
    config: Object.freeze({ check: check.name || 'anonymous' }),
    description,
    evaluate(slots, ctx) {
      const result = check(slots, ctx);
      if (result === true) return slots.total() > 0 ? { activate: true, take: takeAll(slots) } : kWait;
      if (result === false) return kWait;
      return result;
    },
  };
}

/** The built-in policies under one name. */
export const policies = { immediate, allSlotsReady, batchSize, timeInterval, custom } as const;

/**
 * Checks a decision against the slots it speaks of; a malformed one is a coded error naming the
 * routine and the value, so a broken custom policy is loud.
 */
export function checkDecision(routineId: string, decision: unknown, slots: SlotsView): ActivationDecision {
  const bad = (why: string): never => {
    throw new SluiceError(
      ErrorCode.InvalidPolicyDecision,
      `Activation policy of routine "${routineId}" returned an invalid decision (${why}): ${describeValue(decision)}`,
      { details: { routineId } },
    );
  };
  if (typeof decision !== 'object' || decision === null) return bad('expected an object');
  const d = decision as Record<string, unknown>;
  if (d.activate === true) {
    const take = d.take;
    if (typeof take !== 'object' || take === null) return bad('`take` must be an object of slot counts');
    let total = 0;
    for (const [slot, count] of Object.entries(take)) {
      if (!slots.names.includes(slot)) bad(`unknown slot "${slot}" in \`take\``);
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) bad(`take.${slot} must be an integer >= 0`);
      if ((count as number) > slots.count(slot)) bad(`take.${slot} = ${count as number} but only ${slots.count(slot)} queued`);
      total += count as number;
    }
    if (total === 0) bad('an activation must take at least one item');
    return decision as Activate;
  }
  if (d.activate === false) {
    if (d.wakeAfterMs !== undefined && (typeof d.wakeAfterMs !== 'number' || !(d.wakeAfterMs >= 0)))
      bad('`wakeAfterMs` must be a number >= 0');
    if (d.expire !== undefined) {
      if (typeof d.expire !== 'object' || d.expire === null) bad('`expire` must be an object of slot counts');
      for (const [slot, count] of Object.entries(d.expire as object)) {
        if (!slots.names.includes(slot)) bad(`unknown slot "${slot}" in \`expire\``);
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > slots.count(slot))
          bad(`expire.${slot} out of range`);
      }
    }
    return decision as Wait;
  }
  return bad('`activate` must be true or false');
}

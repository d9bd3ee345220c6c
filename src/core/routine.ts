/**
 * A routine: input slots, output events, an activation policy and logic. A routine object is a
 * template shared by every worker of its flow (and rebuilt in pool threads), so it is frozen when
 * its flow is registered: logic reads config and keeps per-worker state through
 * `ctx.setState()`, never in instance fields.
 */
import { immediate, type ActivationPolicy } from './activation-policy.ts';
import { currentScope, type ActivationContext, type EmitOptions } from './context.ts';
import { ErrorCode, SluiceError, describeValue } from './errors.ts';
import { resolveSlotOptions, type SlotOptions, type SlotSpec } from './slot.ts';
import { assertFunction, assertName, assertObject } from './validate.ts';

/**
 * Items a policy took, by slot name (every declared slot is present, maybe empty). Name the item
 * type of each slot to read them typed, without casts:
 *
 * @example
 * ```ts
 * logic({ in: readings }: SlotItems<{ in: Reading }>) {
 *   for (const r of readings) total += r.celsius; // r: Reading
 * }
 * ```
 * @category Routines and slots
 */
export type SlotItems<T extends Record<string, unknown> = Record<string, unknown>> = { [K in keyof T]: T[K][] };

/**
 * A routine's logic: sync or async; what it returns is ignored.
 *
 * @category Routines and slots
 */
export type Logic = (items: SlotItems, ctx: ActivationContext) => void | Promise<void>;

/**
 * A declared output event.
 *
 * @category Routines and slots
 */
export interface EventSpec {
  readonly name: string;
  /** Field names the event's data carries (documentation and inspection only). */
  readonly fields: readonly string[];
}

/**
 * The base class of every routine. Declare slots, events and the policy in the constructor;
 * write the logic as a `logic(items, ctx)` method or pass it to `setLogic()`.
 *
 * @example
 * ```ts
 * class Double extends Routine {
 *   constructor() {
 *     super();
 *     this.addSlot('in');
 *     this.addEvent('out', ['value']);
 *   }
 *   logic({ in: items }: SlotItems) {
 *     for (const value of items as number[]) this.emit('out', value * 2);
 *   }
 * }
 * ```
 * @category Routines and slots
 */
export class Routine {
  readonly #slots = new Map<string, SlotSpec>();
  readonly #events = new Map<string, EventSpec>();
  #policy: ActivationPolicy = immediate();
  #logic: Logic | undefined;
  #config: Record<string, unknown> = {};
  #frozen = false;

  /** A name for messages: the class name. */
  get kind(): string {
    return this.constructor.name || 'Routine';
  }

  /** Declares an input slot. Names are unique per routine. */
  addSlot(name: string, options?: SlotOptions): this {
    this.#assertMutable('addSlot');
    assertName(`${this.kind}.addSlot name`, name);
    if (this.#slots.has(name)) throw this.#duplicate('slot', name);
    this.#slots.set(name, resolveSlotOptions(this.kind, name, options));
    return this;
  }

  /** Declares an output event, optionally listing the fields its data carries. */
  addEvent(name: string, fields: readonly string[] = []): this {
    this.#assertMutable('addEvent');
    assertName(`${this.kind}.addEvent name`, name);
    if (this.#events.has(name)) throw this.#duplicate('event', name);
    if (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`${this.kind}.addEvent("${name}") fields\` to be an array of strings, got ${describeValue(fields)}`,
      );
    }
    this.#events.set(name, Object.freeze({ name, fields: Object.freeze([...fields]) }));
    return this;
  }

  /** Sets when the logic runs; the default is `immediate()`. */
  setActivationPolicy(policy: ActivationPolicy): this {
    this.#assertMutable('setActivationPolicy');
    if (typeof policy !== 'object' || policy === null || typeof policy.evaluate !== 'function' || typeof policy.type !== 'string') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`${this.kind}.setActivationPolicy\` to get an ActivationPolicy (with type and evaluate), got ${describeValue(policy)}`,
      );
    }
    this.#policy = policy;
    return this;
  }

  /** Sets the logic; takes precedence over a `logic` method. */
  setLogic(fn: Logic): this {
    this.#assertMutable('setLogic');
    assertFunction(`${this.kind}.setLogic fn`, fn);
    this.#logic = fn;
    return this;
  }

  /** Merges configuration (structured-clonable values, so pool threads can rebuild it). */
  setConfig(patch: Record<string, unknown>): this {
    this.#assertMutable('setConfig');
    assertObject(`${this.kind}.setConfig patch`, patch);
    this.#config = { ...this.#config, ...patch };
    return this;
  }

  /** The whole configuration (a copy), or one key. */
  getConfig(): Record<string, unknown>;
  getConfig(key: string): unknown;
  getConfig(key?: string): unknown {
    return key === undefined ? { ...this.#config } : this.#config[key];
  }

  /**
   * Emits `data` on one of this routine's events. Only valid while this routine's logic runs
   * (also after `await`); an undeclared event is a coded error naming the routine and event.
   */
  emit(event: string, data: unknown, options?: EmitOptions): void {
    const scope = currentScope();
    if (scope === undefined || scope.routine !== this) {
      throw new SluiceError(
        ErrorCode.NotInActivation,
        `${this.kind}.emit("${event}") was called outside this routine's logic; emit only while an activation of it runs`,
      );
    }
    scope.emit(event, data, options);
  }

  /** Declared slots in order. */
  get slots(): readonly SlotSpec[] {
    return [...this.#slots.values()];
  }

  /** Declared events in order. */
  get events(): readonly EventSpec[] {
    return [...this.#events.values()];
  }

  /** The activation policy. */
  get activationPolicy(): ActivationPolicy {
    return this.#policy;
  }

  /** True once the routine's flow was registered. */
  get isFrozen(): boolean {
    return this.#frozen;
  }

  /** The slot spec called `name`, if declared. */
  getSlot(name: string): SlotSpec | undefined {
    return this.#slots.get(name);
  }

  /** True when an event called `name` is declared. */
  hasEvent(name: string): boolean {
    return this.#events.has(name);
  }

  /** The logic function bound to this routine, or undefined when none was given. */
  resolveLogic(): Logic | undefined {
    if (this.#logic !== undefined) return this.#logic;
    const method = (this as unknown as { logic?: unknown }).logic;
    return typeof method === 'function' ? (method.bind(this) as Logic) : undefined;
  }

  /** Freezes declarations and instance fields. Called when the flow is registered. */
  freeze(): void {
    if (this.#frozen) return;
    this.#frozen = true;
    Object.freeze(this.#config);
    Object.freeze(this);
  }

  #assertMutable(method: string): void {
    if (this.#frozen) {
      throw new SluiceError(
        ErrorCode.FlowFrozen,
        `${this.kind}.${method}() was called after the routine's flow was registered; routines are frozen then`,
      );
    }
  }

  #duplicate(what: string, name: string): SluiceError {
    return new SluiceError(ErrorCode.DuplicateName, `${this.kind} already declares a ${what} named "${name}"`, {
      details: { routine: this.kind, [what]: name },
    });
  }
}

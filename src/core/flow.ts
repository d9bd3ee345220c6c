/**
 * A flow: routines and the connections between them. A flow is a template; `runtime.exec()`
 * makes workers (instances) of it. It is frozen once registered. Define flows in modules with
 * {@link defineFlow} so any thread can rebuild the same flow from its module path.
 */
import { resolveErrorHandler, type ErrorHandler, type ErrorHandlerOptions } from './error-handler.ts';
import { ErrorCode, SluiceError, describeValue } from './errors.ts';
import type { BreakerOptions } from '../resilience/index.ts';
import type { Routine } from './routine.ts';
import { assertInteger, assertKnownKeys, assertMs, assertName, assertObject, assertOneOf } from './validate.ts';

/**
 * Where a routine's logic runs: the main thread, the thread pool, or decided by measured cost.
 *
 * @category Flows
 */
export type Placement = 'inline' | 'pool' | 'auto';

/**
 * Options of `flow.addRoutine(routine, id, options)`.
 *
 * @category Flows
 */
export interface RoutineOptions {
  /**
   * Where the logic runs.
   * @default 'inline'
   */
  placement?: Placement;
  /** Overrides the flow's error handler for this routine. */
  errorHandler?: ErrorHandlerOptions;
  /**
   * Activations of this routine that may run at once in one worker (async logic only; sync
   * logic runs one at a time anyway).
   * @default 1
   */
  concurrency?: number;
  /**
   * For pool placement: longest one activation may run on a thread, in milliseconds. Past it
   * the thread is terminated and replaced, and the activation fails with
   * `SLUICE_ERR_ACTIVATION_TIMEOUT` into the routine's error handler. `0` means the pool's
   * `activationTimeoutMs`.
   * Inline: for async logic, the activation fails with `SLUICE_ERR_ACTIVATION_TIMEOUT` after
   * this long and its `ctx.signal` aborts (synchronous logic cannot be interrupted on the main
   * thread: put it on the pool).
   * @default 0
   */
  timeoutMs?: number;
  /**
   * A circuit breaker for this routine (`true` for the runtime's defaults, or breaker options).
   * While it is open, activations fail fast with `SLUICE_ERR_CIRCUIT_OPEN` into the error
   * handler, or go to the `fallback` when one is declared.
   * @default undefined (no breaker)
   */
  breaker?: boolean | BreakerOptions;
  /**
   * Names of external dependencies this routine calls; each has one breaker shared by every
   * routine that declares it (options per name in the runtime's `breakers.dependencies`).
   * @default []
   */
  dependencies?: readonly string[];
  /**
   * Where the items go while a breaker of this routine is open, instead of failing: another
   * routine's slot of the same flow, or one of this routine's events (routed like an emit).
   * @default undefined (fail fast into the error handler)
   */
  fallback?: Fallback;
  /**
   * Runs this routine across processes when the runtime has a transport (`RuntimeOptions.transport`,
   * e.g. `redis()` from `sluice/redis`): its slots are fed from the transport and any process
   * running the flow may take an item; everything else stays in-process. `{ partitionKey }` keeps
   * items with the same key in order (they go to one partition, taken by one process at a time).
   * Without a transport the routine runs in-process like any other. See docs/distributed.md.
   * @default false
   */
  distributed?: boolean | Distribution;
}

/**
 * How a distributed routine's items are spread: `partitionKey` names an item's partition key (a
 * string, or undefined for none); items with the same key are handled in the order they were sent.
 *
 * @category Flows
 */
export interface Distribution {
  readonly partitionKey?: (data: unknown) => string | undefined;
}

/**
 * A routine's fallback: another routine's slot, or one of its own events.
 *
 * @category Flows
 */
export type Fallback = { readonly routine: string; readonly slot: string } | { readonly event: string };

/**
 * A routine in a flow, with its resolved options.
 *
 * @category Flows
 */
export interface RoutineEntry {
  readonly id: string;
  readonly routine: Routine;
  readonly placement: Placement;
  readonly errorHandler: ErrorHandler;
  readonly concurrency: number;
  /** Activation timeout in ms; 0 = none inline, the pool's default on the pool. */
  readonly timeoutMs: number;
  /** Breaker options, when the routine has a breaker of its own. */
  readonly breaker: BreakerOptions | undefined;
  /** External dependencies, each with a shared breaker. */
  readonly dependencies: readonly string[];
  /** Where items go while a breaker is open. */
  readonly fallback: Fallback | undefined;
  /** Set when the routine runs across processes under a transport. */
  readonly distributed: Distribution | undefined;
}

/**
 * An edge: `source.event` delivers to `target.slot`.
 *
 * @category Flows
 */
export interface Connection {
  readonly source: string;
  readonly event: string;
  readonly target: string;
  readonly slot: string;
}

/**
 * A problem `validate()` found that does not stop the flow from running.
 *
 * @category Flows
 */
export interface FlowWarning {
  readonly kind: 'unconnected-slot' | 'unconnected-event' | 'cycle' | 'no-routines';
  readonly routineId?: string;
  readonly name?: string;
  readonly message: string;
}

/**
 * Options of `new Flow(id, options)`.
 *
 * @category Flows
 */
export interface FlowOptions {
  /** The default error handler of every routine. */
  errorHandler?: ErrorHandlerOptions;
}

/**
 * How to rebuild a flow in another thread: its module and the params it was built with.
 *
 * @inline
 */
export interface FlowSource {
  readonly moduleUrl: string;
  readonly params: unknown;
}

/**
 * A step of {@link Flow.pipe}: a routine id, or an id with the event/slot to use.
 *
 * @category Flows
 */
export type PipeStep = string | { readonly id: string; readonly event?: string; readonly slot?: string };

/**
 * A set of routines and connections.
 *
 * @example
 * ```ts
 * const flow = new Flow('pipeline')
 *   .addRoutine(new Source(), 'source')
 *   .addRoutine(new Double(), 'double')
 *   .addRoutine(new Sink(), 'sink')
 *   .pipe('source', 'double', 'sink');
 * ```
 * @category Flows
 */
export class Flow {
  readonly id: string;
  readonly #routines = new Map<string, RoutineEntry>();
  readonly #connections: Connection[] = [];
  readonly #connectionKeys = new Set<string>();
  readonly #errorHandler: ErrorHandler;
  #frozen = false;
  #source: FlowSource | undefined;

  constructor(id: string, options: FlowOptions = {}) {
    assertName('Flow id', id);
    assertObject(`Flow "${id}" options`, options);
    assertKnownKeys(`Flow "${id}" options`, options as Record<string, unknown>, ['errorHandler']);
    this.id = id;
    this.#errorHandler = resolveErrorHandler(`Flow "${id}"`, options.errorHandler);
  }

  /** Adds `routine` under `id` (unique in the flow). */
  addRoutine(routine: Routine, id: string, options: RoutineOptions = {}): this {
    this.#assertMutable('addRoutine');
    assertName(`Flow "${this.id}" routine id`, id);
    if (typeof routine !== 'object' || routine === null || typeof (routine as Routine).resolveLogic !== 'function') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected flow "${this.id}" addRoutine("${id}") to get a Routine, got ${describeValue(routine)}`,
      );
    }
    if (this.#routines.has(id)) {
      throw new SluiceError(ErrorCode.DuplicateName, `Flow "${this.id}" already has a routine with id "${id}"`, {
        details: { flowId: this.id, routineId: id },
      });
    }
    for (const entry of this.#routines.values()) {
      if (entry.routine === routine) {
        throw new SluiceError(
          ErrorCode.DuplicateName,
          `Flow "${this.id}": the same routine object is already added as "${entry.id}"; create a new instance for "${id}"`,
        );
      }
    }
    if (routine.resolveLogic() === undefined) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Routine "${id}" (${routine.kind}) in flow "${this.id}" has no logic: define a logic(items, ctx) method or call setLogic()`,
      );
    }
    assertObject(`Flow "${this.id}" addRoutine("${id}") options`, options);
    assertKnownKeys(`Flow "${this.id}" addRoutine("${id}") options`, options as Record<string, unknown>, [
      'placement',
      'errorHandler',
      'concurrency',
      'timeoutMs',
      'breaker',
      'dependencies',
      'fallback',
      'distributed',
    ]);
    const placement = options.placement ?? 'inline';
    assertOneOf(`routine "${id}" placement`, placement, ['inline', 'pool', 'auto'] as const);
    const concurrency = options.concurrency ?? 1;
    assertInteger(`routine "${id}" concurrency`, concurrency, 1);
    const timeoutMs = options.timeoutMs ?? 0;
    assertMs(`routine "${id}" timeoutMs`, timeoutMs, 0);
    const errorHandler = resolveErrorHandler(`routine "${id}"`, options.errorHandler, this.#errorHandler);
    const breaker = options.breaker === true ? {} : options.breaker === false ? undefined : options.breaker;
    if (breaker !== undefined) assertObject(`routine "${id}" breaker`, breaker);
    const dependencies = options.dependencies ?? [];
    if (!Array.isArray(dependencies)) assertObject(`routine "${id}" dependencies`, dependencies);
    for (const name of dependencies) assertName(`routine "${id}" dependency`, name);
    const fallback = options.fallback;
    if (fallback !== undefined) {
      assertObject(`routine "${id}" fallback`, fallback);
      if ('event' in fallback) assertName(`routine "${id}" fallback.event`, fallback.event);
      else {
        assertName(`routine "${id}" fallback.routine`, (fallback as { routine: unknown }).routine);
        assertName(`routine "${id}" fallback.slot`, (fallback as { slot: unknown }).slot);
      }
    }
    const distributed = resolveDistribution(id, options.distributed);
    this.#routines.set(
      id,
      Object.freeze({
        id,
        routine,
        placement,
        errorHandler,
        concurrency,
        timeoutMs,
        breaker,
        dependencies: Object.freeze([...dependencies]),
        fallback,
        distributed,
      }),
    );
    return this;
  }

  /** Connects `source`'s `event` to `target`'s `slot`. The same edge twice is an error. */
  connect(source: string, event: string, target: string, slot: string): this {
    this.#assertMutable('connect');
    const src = this.#require(source);
    const dst = this.#require(target);
    if (!src.routine.hasEvent(event)) {
      throw new SluiceError(
        ErrorCode.UnknownEvent,
        `Routine "${source}" in flow "${this.id}" has no event "${event}" (declared: ${this.#list(src.routine.events)})`,
        {
          details: { flowId: this.id, routineId: source, event },
        },
      );
    }
    if (dst.routine.getSlot(slot) === undefined) {
      throw new SluiceError(
        ErrorCode.UnknownSlot,
        `Routine "${target}" in flow "${this.id}" has no slot "${slot}" (declared: ${this.#list(dst.routine.slots)})`,
        {
          details: { flowId: this.id, routineId: target, slot },
        },
      );
    }
    const key = `${source}\u0000${event}\u0000${target}\u0000${slot}`;
    if (this.#connectionKeys.has(key)) {
      throw new SluiceError(ErrorCode.DuplicateConnection, `Flow "${this.id}" already connects ${source}.${event} -> ${target}.${slot}`, {
        details: { flowId: this.id, source, event, target, slot },
      });
    }
    this.#connectionKeys.add(key);
    this.#connections.push(Object.freeze({ source, event, target, slot }));
    return this;
  }

  /**
   * Connects routines in a line. A bare id uses the routine's only event (as a source) or only
   * slot (as a target); name them when a routine has several.
   */
  pipe(...steps: PipeStep[]): this {
    if (steps.length < 2) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected flow "${this.id}" pipe() to get at least 2 steps, got ${describeValue(steps)}`,
      );
    }
    for (let i = 0; i + 1 < steps.length; i++) {
      const from = typeof steps[i] === 'string' ? { id: steps[i] as string } : (steps[i] as Exclude<PipeStep, string>);
      const to = typeof steps[i + 1] === 'string' ? { id: steps[i + 1] as string } : (steps[i + 1] as Exclude<PipeStep, string>);
      const event = from.event ?? this.#only(from.id, 'event');
      const slot = to.slot ?? this.#only(to.id, 'slot');
      this.connect(from.id, event, to.id, slot);
    }
    return this;
  }

  /** Warnings about a flow that runs but may not do what was meant. */
  validate(): FlowWarning[] {
    const warnings: FlowWarning[] = [];
    if (this.#routines.size === 0) warnings.push({ kind: 'no-routines', message: `Flow "${this.id}" has no routines` });
    for (const entry of this.#routines.values()) {
      for (const slot of entry.routine.slots) {
        if (!this.#connections.some((c) => c.target === entry.id && c.slot === slot.name)) {
          warnings.push({
            kind: 'unconnected-slot',
            routineId: entry.id,
            name: slot.name,
            message: `Slot ${entry.id}.${slot.name} has no incoming connection; it receives data only from post()`,
          });
        }
      }
      for (const event of entry.routine.events) {
        if (!this.#connections.some((c) => c.source === entry.id && c.event === event.name)) {
          warnings.push({
            kind: 'unconnected-event',
            routineId: entry.id,
            name: event.name,
            message: `Event ${entry.id}.${event.name} has no connection; what is emitted on it goes nowhere`,
          });
        }
      }
    }
    const cycle = this.#findCycle();
    if (cycle !== undefined)
      warnings.push({
        kind: 'cycle',
        message: `Flow "${this.id}" has a cycle: ${cycle.join(' -> ')}; jobs on it end only if the loop stops emitting`,
      });
    return warnings;
  }

  /** The routines in the order they were added. */
  get routines(): readonly RoutineEntry[] {
    return [...this.#routines.values()];
  }

  /** The connections in the order they were made. */
  get connections(): readonly Connection[] {
    return [...this.#connections];
  }

  /** The routine entry with `id`, if any. */
  getRoutine(id: string): RoutineEntry | undefined {
    return this.#routines.get(id);
  }

  /** True once registered. */
  get isFrozen(): boolean {
    return this.#frozen;
  }

  /** Where the flow was built from, when it came from a module (see {@link defineFlow}). */
  get source(): FlowSource | undefined {
    return this.#source;
  }

  /** Records the module a flow came from. Set once, by the module loader, before freezing. */
  setSource(source: FlowSource): this {
    this.#assertMutable('setSource');
    this.#source = Object.freeze({ ...source });
    return this;
  }

  /** Freezes the flow and its routines; `runtime.register()` calls it. */
  freeze(): this {
    if (this.#frozen) return this;
    this.#checkFallbacks();
    this.#frozen = true;
    for (const entry of this.#routines.values()) entry.routine.freeze();
    return this;
  }

  /** Fallbacks name routines and events that must exist once the flow is complete. */
  #checkFallbacks(): void {
    for (const entry of this.#routines.values()) {
      const fallback = entry.fallback;
      if (fallback === undefined) continue;
      if ('event' in fallback) {
        if (!entry.routine.hasEvent(fallback.event)) {
          throw new SluiceError(
            ErrorCode.UnknownEvent,
            `Routine "${entry.id}" in flow "${this.id}" falls back to event "${fallback.event}", which it does not declare`,
            {
              details: { flowId: this.id, routineId: entry.id, event: fallback.event },
            },
          );
        }
      } else {
        const target = this.#require(fallback.routine);
        if (target.routine.getSlot(fallback.slot) === undefined) {
          throw new SluiceError(
            ErrorCode.UnknownSlot,
            `Routine "${entry.id}" in flow "${this.id}" falls back to ${fallback.routine}.${fallback.slot}, which is not a slot`,
            {
              details: { flowId: this.id, routineId: entry.id, slot: fallback.slot },
            },
          );
        }
      }
    }
  }

  #assertMutable(method: string): void {
    if (this.#frozen)
      throw new SluiceError(
        ErrorCode.FlowFrozen,
        `Flow "${this.id}".${method}() was called after the flow was registered; flows are frozen then`,
      );
  }

  #require(id: string): RoutineEntry {
    const entry = this.#routines.get(id);
    if (entry === undefined) {
      throw new SluiceError(
        ErrorCode.RoutineNotFound,
        `Flow "${this.id}" has no routine "${id}" (routines: ${[...this.#routines.keys()].join(', ') || 'none'})`,
        {
          details: { flowId: this.id, routineId: id },
        },
      );
    }
    return entry;
  }

  #only(id: string, what: 'event' | 'slot'): string {
    const entry = this.#require(id);
    const names = what === 'event' ? entry.routine.events : entry.routine.slots;
    if (names.length !== 1) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `pipe(): routine "${id}" has ${names.length} ${what}s (${this.#list(names)}); name the ${what} as { id: "${id}", ${what}: "…" }`,
      );
    }
    return (names[0] as { name: string }).name;
  }

  #list(items: readonly { name: string }[]): string {
    return items.length === 0 ? 'none' : items.map((i) => `"${i.name}"`).join(', ');
  }

  #findCycle(): string[] | undefined {
    const edges = new Map<string, string[]>();
    for (const c of this.#connections) edges.set(c.source, [...(edges.get(c.source) ?? []), c.target]);
    const state = new Map<string, 1 | 2>();
    const path: string[] = [];
    const visit = (id: string): string[] | undefined => {
      state.set(id, 1);
      path.push(id);
      for (const next of edges.get(id) ?? []) {
        if (state.get(next) === 1) return [...path.slice(path.indexOf(next)), next];
        if (state.get(next) === undefined) {
          const found = visit(next);
          if (found !== undefined) return found;
        }
      }
      path.pop();
      state.set(id, 2);
      return undefined;
    };
    for (const id of this.#routines.keys()) {
      if (state.get(id) === undefined) {
        const found = visit(id);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }
}

function resolveDistribution(id: string, value: boolean | Distribution | undefined): Distribution | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return Object.freeze({});
  assertObject(`routine "${id}" distributed`, value);
  assertKnownKeys(`routine "${id}" distributed`, value as Record<string, unknown>, ['partitionKey']);
  if (value.partitionKey !== undefined && typeof value.partitionKey !== 'function') {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected routine "${id}" distributed.partitionKey to be a function (data) => string | undefined, got ` +
        describeValue(value.partitionKey),
      { details: { routineId: id } },
    );
  }
  return Object.freeze({ ...value });
}

/**
 * Where a routine's emits go: the slots its events are connected to. An emit is delivered to
 * every connected slot or to none (a `reject` slot that is full refuses the whole fan-out); a
 * `block` slot that is full parks the item and holds the emitting routine until it is admitted;
 * an event with no connection is counted, not an error.
 */
import type { EmitOptions } from '../core/context.ts';
import { ErrorCode, SlotQueueFullError, SluiceError } from '../core/errors.ts';
import type { RoutineEntry } from '../core/flow.ts';
import { OfferResult, type Slot } from '../core/slot.ts';
import { kCounters, type WorkerState } from '../core/worker-state.ts';
import type { Activation, Item } from './activation-scope.ts';
import { allTerminal, hasJob, type Jobs } from './jobs.ts';
import type { EngineEvents } from './runtime-events.ts';

/** A routine that takes routed items into its slots. */
export interface RouteTarget {
  /** Offers `item` to `slot` (one of its own). */
  offer(slot: Slot<Jobs>, item: Item): OfferResult;
  /** Parks `item` until `slot` has room; `admitted` runs when it enters. */
  park(slot: Slot<Jobs>, item: Item, admitted: () => void): void;
  /**
   * Offers items of one job to `slot` in order, parking each that finds it full (`admitted` per
   * parked item); the accepted ones hold the job once, by their count. Returns how many parked.
   */
  offerRun(slot: Slot<Jobs>, items: readonly Item[], job: Jobs, admitted: () => void): number;
}

/** The emitting routine, as the router sees it. */
export interface RouteSource {
  readonly id: string;
  readonly entry: RoutineEntry;
  readonly worker: WorkerState;
  readonly events: EngineEvents;
  /** Called when the last of its parked items is admitted: it may run again. */
  unparked(): void;
}

/** Routes the emits of one routine of one worker. */
export class EmitRouter {
  readonly #source: RouteSource;
  readonly #targets = new Map<string, Slot<Jobs>[]>();
  readonly #owners = new Map<Slot<Jobs>, RouteTarget>();
  /** Items emitted on events without connections (counted, not an error). */
  unrouted = 0;
  #parked = 0;
  /** Listeners of an event's data (a stream's output), by event. */
  #taps: Map<string, Set<(data: unknown, jobs: Jobs) => void>> | undefined;

  constructor(source: RouteSource) {
    this.#source = source;
  }

  /** Items this routine emitted that wait for room in a `block` slot. */
  /**
   * Routes what a stream's chunk emitted (flat: event, data, options, …) once its logic succeeded:
   * runs of one event go to each target slot together, waiting for room rather than failing.
   */
  routeHeld(activation: Activation, held: readonly unknown[]): void {
    let i = 0;
    while (i < held.length) {
      const event = held[i] as string;
      if (held[i + 2] !== undefined) {
        this.route(activation, event, held[i + 1], held[i + 2] as EmitOptions, true);
        i += 3;
        continue;
      }
      let end = i + 3;
      while (end < held.length && held[end] === event && held[end + 2] === undefined) end += 3;
      this.#routeRun(activation, event, held, i, end);
      i = end;
    }
  }

  #routeRun(activation: Activation, event: string, held: readonly unknown[], from: number, to: number): void {
    const source = this.#source;
    const jobs = activation.jobs;
    const taps = this.#taps?.get(event);
    if (taps !== undefined) for (let k = from; k < to; k += 3) for (const tap of taps) tap(held[k + 1], jobs);
    const targets = this.#targets.get(event);
    const count = (to - from) / 3;
    if (targets === undefined) {
      if (taps === undefined) this.unrouted += count;
      return;
    }
    if (allTerminal(jobs)) {
      source.worker[kCounters].itemsDiscarded += count;
      return;
    }
    for (const slot of targets) {
      const items: Item[] = new Array(count);
      for (let k = from, n = 0; k < to; k += 3, n++) items[n] = { data: held[k + 1], jobs };
      const target = this.#owners.get(slot) as RouteTarget;
      const parked = target.offerRun(slot, items, jobs, () => {
        this.#parked--;
        if (this.#parked === 0) source.unparked();
      });
      if (parked > 0) {
        this.#parked += parked;
        source.events.overflow(source.worker.workerId, slot.routineId, slot.spec.name, 'blocked', source.id);
      }
    }
  }

  /** Calls `listener` with the data of every `event` emitted from now on, before it is routed; returns the remover. */
  tap(event: string, listener: (data: unknown, jobs: Jobs) => void): () => void {
    this.#taps ??= new Map();
    let set = this.#taps.get(event);
    if (set === undefined) this.#taps.set(event, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#taps?.delete(event);
    };
  }

  get parked(): number {
    return this.#parked;
  }

  /** Wires `event` to `slot` of `target`. */
  connect(event: string, target: RouteTarget, slot: Slot<Jobs>): void {
    const list = this.#targets.get(event);
    if (list === undefined) this.#targets.set(event, [slot]);
    else list.push(slot);
    this.#owners.set(slot, target);
  }

  /** Delivers `data` emitted on `event` by `activation` (for `options.job` alone, when given). */
  route(activation: Activation, event: string, data: unknown, options: EmitOptions | undefined, parkWhenFull = false): void {
    const source = this.#source;
    let jobs: Jobs = activation.jobs;
    if (options?.job !== undefined) {
      if (!hasJob(activation.jobs, options.job)) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Routine "${source.id}" emitted "${event}" for job "${options.job.jobId}", which is not a job of this activation`,
        );
      }
      jobs = options.job;
    }
    const taps = this.#taps?.get(event);
    if (taps !== undefined) for (const tap of taps) tap(data, jobs);
    const targets = this.#targets.get(event);
    if (targets === undefined) {
      if (taps !== undefined) return;
      const routine = source.entry.routine;
      if (!routine.hasEvent(event)) {
        throw new SluiceError(
          ErrorCode.UnknownEvent,
          `Routine "${source.id}" emitted on undeclared event "${event}" (declared: ` +
            `${routine.events.map((e) => `"${e.name}"`).join(', ') || 'none'})`,
          { details: { routineId: source.id, event } },
        );
      }
      this.unrouted++;
      return;
    }
    if (allTerminal(jobs)) {
      source.worker[kCounters].itemsDiscarded++;
      return;
    }
    // Refuse before delivering anywhere, so a fan-out is all or nothing. (A stream's chunk, routed
    // after its logic returned, waits for room instead: backpressure, not a failure.)
    for (const slot of targets) {
      if (!parkWhenFull && slot.spec.overflow === 'reject' && (slot.isFull || slot.waiting > 0)) {
        slot.counters.rejected++;
        source.events.overflow(source.worker.workerId, slot.routineId, slot.spec.name, 'rejected', source.id);
        throw new SlotQueueFullError(
          `Slot ${slot.routineId}.${slot.spec.name} is full (${slot.spec.maxQueueLength} items) and refused an item emitted by ` +
            `"${source.id}" on "${event}"`,
          { details: { routineId: slot.routineId, slot: slot.spec.name, source: source.id, event } },
        );
      }
    }
    for (const slot of targets) {
      const item: Item = { data, jobs };
      const target = this.#owners.get(slot) as RouteTarget;
      const full = parkWhenFull && (slot.isFull || slot.waiting > 0);
      if (full || target.offer(slot, item) === OfferResult.MustWait) {
        this.#parked++;
        source.events.overflow(source.worker.workerId, slot.routineId, slot.spec.name, 'blocked', source.id);
        target.park(slot, item, () => {
          this.#parked--;
          if (this.#parked === 0) source.unparked();
        });
      }
    }
  }
}

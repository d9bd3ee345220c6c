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

  constructor(source: RouteSource) {
    this.#source = source;
  }

  /** Items this routine emitted that wait for room in a `block` slot. */
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
  route(activation: Activation, event: string, data: unknown, options: EmitOptions | undefined): void {
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
    const targets = this.#targets.get(event);
    if (targets === undefined) {
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
    // Refuse before delivering anywhere, so a fan-out is all or nothing.
    for (const slot of targets) {
      if (slot.spec.overflow === 'reject' && (slot.isFull || slot.waiting > 0)) {
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
      if (target.offer(slot, item) === OfferResult.MustWait) {
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

/**
 * The breakers guarding a routine (its own and its dependencies') and its fallback. Before an
 * activation runs it takes a permit from every breaker; when one refuses, the permits taken are
 * handed back and the activation goes to the fallback (an event of the routine, or a slot of
 * another routine of the worker) or settles with the breaker's error. When it settles, every
 * permit is released with its outcome.
 */
import { SlotQueueFullError } from '../core/errors.ts';
import type { Fallback } from '../core/flow.ts';
import { JobContext } from '../core/job-context.ts';
import { OfferResult, type Slot } from '../core/slot.ts';
import type { BreakerPermit, SluiceBreaker } from '../resilience/index.ts';
import type { Activation } from './activation-scope.ts';
import type { EmitRouter, RouteTarget } from './emit-router.ts';
import type { Jobs } from './jobs.ts';

/** Another routine of the worker, as a fallback target. */
export interface FallbackTarget extends RouteTarget {
  slot(name: string): Slot<Jobs> | undefined;
}

/** What the guard needs of its routine. */
export interface GuardedRoutine {
  readonly id: string;
  readonly router: EmitRouter;
  /** Another routine of the same worker. */
  runnerOf(routineId: string): FallbackTarget;
}

/** Guards one routine of one worker. */
export class BreakerGuard {
  readonly #routine: GuardedRoutine;
  readonly #breakers: readonly SluiceBreaker[];
  readonly #fallback: Fallback | undefined;

  constructor(routine: GuardedRoutine, breakers: readonly SluiceBreaker[], fallback: Fallback | undefined) {
    this.#routine = routine;
    this.#breakers = breakers;
    this.#fallback = fallback;
  }

  /** True when no breaker guards the routine (nothing to take or release). */
  get isOpenRoad(): boolean {
    return this.#breakers.length === 0;
  }

  /**
   * Takes a permit from every breaker; true when all gave one (kept on the activation). When one
   * refuses, runs the fallback and calls `refused` with the error the activation settles with:
   * the breaker's without a fallback, the fallback's own failure, or undefined.
   */
  acquire(activation: Activation, refused: (activation: Activation, error: unknown) => void): boolean {
    const permits: BreakerPermit[] = [];
    for (const breaker of this.#breakers) {
      const lease = breaker.tryAcquire();
      if (lease.allowed) {
        permits.push(lease);
        continue;
      }
      for (const permit of permits) permit.cancel();
      if (this.#fallback === undefined) refused(activation, lease.error);
      else {
        let error: unknown;
        try {
          this.#fallBack(activation, this.#fallback);
        } catch (failure) {
          error = failure;
        }
        refused(activation, error);
      }
      return false;
    }
    activation.permits = permits;
    return true;
  }

  /** Releases the activation's permits with its outcome. */
  release(activation: Activation, error: unknown): void {
    if (activation.permits !== undefined) for (const permit of activation.permits) permit.release(error === undefined, error);
  }

  #fallBack(activation: Activation, fallback: Fallback): void {
    const routine = this.#routine;
    activation.fellBack = true;
    if ('event' in fallback) {
      for (const item of activation.items) {
        routine.router.route(activation, fallback.event, item.data, item.jobs instanceof JobContext ? { job: item.jobs } : undefined);
      }
      return;
    }
    const target = routine.runnerOf(fallback.routine);
    const slot = target.slot(fallback.slot) as Slot<Jobs>;
    for (const item of activation.items) {
      const result = target.offer(slot, { data: item.data, jobs: item.jobs });
      if (result === OfferResult.Rejected || result === OfferResult.MustWait) {
        throw new SlotQueueFullError(`Fallback slot ${fallback.routine}.${fallback.slot} of routine "${routine.id}" is full`, {
          details: { routineId: routine.id, fallback: `${fallback.routine}.${fallback.slot}` },
        });
      }
    }
  }
}

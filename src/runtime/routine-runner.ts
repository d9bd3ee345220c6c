/**
 * One routine in one worker: its slots, its policy state and timer, and the activations it
 * runs. Evaluating a runner asks the policy once and starts at most one activation; the
 * scheduler calls it again while it stays ready. Activations carry their items (and so their
 * jobs' holds) until they settle, which is what lets a job complete by itself.
 */
import {
  checkDecision,
  isBuiltinPolicy,
  type ActivationDecision,
  type EvaluationReason,
  type SlotsView,
} from '../core/activation-policy.ts';
import type { TimerHandle } from '../core/clock.ts';
import type { EmitOptions, ItemEntry } from '../core/context.ts';
import { runInScope } from '../core/context.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { RoutineEntry } from '../core/flow.ts';
import { JobContext, kEnd, kRelease, kRetain, kStart, kStream, kTrace, type TraceEntry } from '../core/job-context.ts';
import type { Logic, SlotItems } from '../core/routine.ts';
import { OfferResult, Slot } from '../core/slot.ts';
import { createSlotsView } from '../core/slots-view.ts';
import { isThenable } from '../core/validate.ts';
import { kCounters, kRecord, type WorkerState } from '../core/worker-state.ts';
import { withTimeout, type SluiceBreaker } from '../resilience/index.ts';
import { Scope, newActivation, type Activation, type Item } from './activation-scope.ts';
import { BreakerGuard } from './breaker-guard.ts';
import { DurationStats } from './duration-stats.ts';
import { EmitRouter } from './emit-router.ts';
import { FailureHandling } from './failure-handling.ts';
import { allTerminal, distinctJobs, jobIdsOf, jobList, releaseJobs, retainJobs, type Jobs } from './jobs.ts';
import type { PlacementProbe } from './placement.ts';
import { RuntimeTopic, type EngineEvents } from './runtime-events.ts';
import type { Schedulable } from './scheduler.ts';

/** What a runner needs from its worker engine. */
export interface RunnerHost {
  readonly worker: WorkerState;
  readonly clock: { now(): number; setTimeout(fn: () => void, ms: number): TimerHandle };
  readonly random: () => number;
  readonly workerSignal: AbortSignal;
  /** Epoch milliseconds of a time on the clock. */
  wallTime(mono: number): number;
  markReady(runner: RoutineRunner): void;
  /** The placement state of a routine. */
  placementFor(entry: RoutineEntry): PlacementProbe;
  /** Runs an activation on the thread pool; `done` is called once with its error, if any. */
  runOnPool(runner: RoutineRunner, activation: Activation, done: (activation: Activation, error: unknown) => void): void;
  /** Activations a pool routine may keep in flight (the dispatcher batches them). */
  poolWindow(): number;
  /** Where the runner reports what happens (published on the runtime's bus when anyone listens). */
  readonly events: EngineEvents;
  /** The breakers guarding a routine: its own and its dependencies' (empty: none). */
  breakersFor(entry: RoutineEntry): readonly SluiceBreaker[];
  /** Another routine of the same worker (for fallbacks). */
  runnerOf(routineId: string): RoutineRunner;
  /** True while a checkpoint holds the worker: no activation starts. */
  readonly paused: boolean;
  /** Told when an activation settles while paused (the checkpoint waits for none to run). */
  activationSettled(): void;
  /** The scheduler's reading of the clock at the last settle, reused once by the next evaluation (see `Scheduler.lastNow`). */
  readonly stamp: { lastNow: number | undefined };
}

/** Runs one routine of one worker. */
export class RoutineRunner implements Schedulable {
  queued = false;
  readonly id: string;
  readonly entry: RoutineEntry;
  readonly slots: Slot<Jobs>[];
  readonly #slotIndex = new Map<string, number>();
  /** Where its emits go. */
  readonly router: EmitRouter;
  readonly #guard: BreakerGuard;
  readonly #failures: FailureHandling;
  readonly #logic: Logic;
  readonly #host: RunnerHost;
  readonly #policyState: Record<string, unknown> = {};
  readonly #trustPolicy: boolean;
  readonly #immediate: boolean;
  readonly #policyContext: {
    now: number;
    state: Record<string, unknown>;
    workerId: string;
    routineId: string;
    reason: EvaluationReason;
    batchLimit: number | undefined;
  };
  readonly #view: SlotsView;
  readonly #config: Readonly<Record<string, unknown>>;
  #reason: EvaluationReason = 'data';
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #running = 0;
  /** A cap on batch sizes set at run time; see `PolicyContext.batchLimit`. */
  #batchLimit: number | undefined;
  /** Where this routine's logic runs (inline, pool, or auto measuring). */
  readonly placement: PlacementProbe;
  /** Durations of this routine's activations in this worker. */
  readonly durations = new DurationStats();

  constructor(entry: RoutineEntry, host: RunnerHost) {
    this.id = entry.id;
    this.entry = entry;
    this.#host = host;
    this.#logic = entry.routine.resolveLogic() as Logic;
    this.#trustPolicy = isBuiltinPolicy(entry.routine.activationPolicy);
    this.#immediate = this.#trustPolicy && entry.routine.activationPolicy.type === 'immediate';
    this.#policyContext = {
      now: 0,
      state: this.#policyState,
      workerId: host.worker.workerId,
      routineId: entry.id,
      reason: 'data',
      batchLimit: undefined,
    };
    this.#config = Object.freeze(entry.routine.getConfig());
    this.placement = host.placementFor(entry);
    this.slots = entry.routine.slots.map((spec, i) => {
      this.#slotIndex.set(spec.name, i);
      return new Slot<Jobs>(entry.id, spec);
    });
    this.#view = createSlotsView(
      entry.routine.slots.map((s) => s.name),
      this.slots,
      this.#slotIndex,
    );
    const { worker, events, clock, random } = host;
    this.router = new EmitRouter({ id: entry.id, entry, worker, events, unparked: () => this.wake('settled') });
    this.#guard = new BreakerGuard(
      { id: entry.id, router: this.router, runnerOf: (id) => host.runnerOf(id) },
      host.breakersFor(entry),
      entry.fallback,
    );
    this.#failures = new FailureHandling(
      { id: entry.id, worker, events, clock, random, retryDue: () => this.wake('timer') },
      entry.errorHandler,
    );
  }

  /** Wires `event` of this routine to `slot` of `target`. */
  connect(event: string, target: RoutineRunner, slot: string): void {
    this.router.connect(event, target, target.slot(slot) as Slot<Jobs>);
  }

  /** Items emitted on events without connections (counted, not an error). */
  get unrouted(): number {
    return this.router.unrouted;
  }

  /** Caps the batches its policy takes (`PolicyContext.batchLimit`); undefined lifts the cap. */
  setBatchLimit(limit: number | undefined): void {
    this.#batchLimit = limit;
  }

  /** The slot called `name`. */
  slot(name: string): Slot<Jobs> | undefined {
    const i = this.#slotIndex.get(name);
    return i === undefined ? undefined : this.slots[i];
  }

  /** Activations running now. */
  get running(): number {
    return this.#running;
  }

  /** Items this routine emitted that wait for room in a `block` slot. */
  get parked(): number {
    return this.router.parked;
  }

  /** Activations waiting for a retry. */
  get retrying(): number {
    return this.#failures.pending;
  }

  /** Marks the runner ready for the given reason. */
  wake(reason: EvaluationReason): void {
    this.#reason = reason;
    this.#host.markReady(this);
  }

  /** Evaluates the policy once and starts at most one activation. */
  evaluate(): void {
    if (this.#host.paused) return;
    const limit = this.placement.onPool ? Math.max(this.entry.concurrency, this.#host.poolWindow()) : this.entry.concurrency;
    if (this.#running >= limit || this.router.parked > 0) return;
    const retry = this.#failures.takeDue();
    if (retry !== undefined) {
      this.#start(retry, this.#now());
      if (this.#failures.hasDue || this.#view.total() > 0) this.wake('settled');
      return;
    }
    if (this.#view.total() === 0) return;
    const now = this.#now();
    if (this.#immediate) {
      // The built-in immediate policy inline: one item from the first non-empty slot, without
      // allocating a policy context and a decision per item.
      for (let i = 0; i < this.slots.length; i++) {
        if ((this.slots[i] as Slot<Jobs>).length > 0) {
          const activation = this.#takeOne(i);
          if (this.#view.total() > 0) this.wake('data');
          if (activation !== undefined) this.#start(activation, now);
          return;
        }
      }
      return;
    }
    let decision: ActivationDecision;
    try {
      // One context object per runner, updated in place: policies must not keep it.
      const ctx = this.#policyContext;
      ctx.now = now;
      ctx.reason = this.#reason;
      ctx.batchLimit = this.#batchLimit;
      const raw = this.entry.routine.activationPolicy.evaluate(this.#view, ctx);
      decision = this.#trustPolicy ? raw : checkDecision(this.id, raw, this.#view);
    } catch (error) {
      this.#policyFailed(error);
      return;
    }
    if (!decision.activate) {
      if (decision.expire !== undefined) this.#expire(decision.expire, decision.reason ?? 'expired by the activation policy');
      if (decision.wakeAfterMs !== undefined) this.#armTimer(now, decision.wakeAfterMs);
      return;
    }
    const activation = this.#take(decision.take, decision.message);
    // Ready again before the logic runs, so what the logic emits is evaluated first (depth-first).
    if (this.#view.total() > 0) this.wake('data');
    if (activation !== undefined) this.#start(activation, now);
  }

  /** The clock now: the last settle's reading when fresh (taken once), else read. */
  #now(): number {
    const stamp = this.#host.stamp;
    const last = stamp.lastNow;
    if (last === undefined) return this.#host.clock.now();
    stamp.lastNow = undefined;
    return last;
  }

  /** Offers one item to `slot`, one of this routine's (a post, or an emit routed here). */
  offer(slot: Slot<Jobs>, item: Item): OfferResult {
    const result = slot.offer(item);
    if (result === OfferResult.Accepted || result === OfferResult.Evicted) {
      retainJobs(item.jobs);
      if (result === OfferResult.Evicted) {
        this.#dropped(slot.lastEvicted as Item, slot);
        this.#host.events.overflow(this.#host.worker.workerId, this.id, slot.spec.name, 'dropped', undefined);
      }
      this.wake('data');
    }
    return result;
  }

  /** Puts back an item a checkpoint saved: into `slot` whatever its bound, its jobs held. */
  restore(slot: Slot<Jobs>, item: Item): void {
    slot.restore(item);
    retainJobs(item.jobs);
    this.wake('data');
  }

  /** See `RouteTarget.offerRun`: a stream chunk's emits of one event into `slot`; returns how many were parked. */
  offerRun(slot: Slot<Jobs>, items: readonly Item[], job: Jobs, admitted: () => void): number {
    if (slot.offerAll(items)) {
      if (job instanceof JobContext) job[kRetain](items.length);
      else for (let i = 0; i < items.length; i++) retainJobs(job);
      this.wake('data');
      return 0;
    }
    let accepted = 0;
    let parked = 0;
    for (const item of items) {
      const result = slot.isFull || slot.waiting > 0 ? OfferResult.MustWait : slot.offer(item);
      if (result === OfferResult.Accepted) accepted++;
      else if (result === OfferResult.Evicted) {
        accepted++;
        this.#dropped(slot.lastEvicted as Item, slot);
        this.#host.events.overflow(this.#host.worker.workerId, this.id, slot.spec.name, 'dropped', undefined);
      } else {
        parked++;
        this.park(slot, item, admitted);
      }
    }
    if (accepted > 0) {
      if (job instanceof JobContext) job[kRetain](accepted);
      else for (let i = 0; i < accepted; i++) retainJobs(job);
      this.wake('data');
    }
    return parked;
  }

  /** Parks an item until `slot` (one of this routine's) has room; `admitted` runs when it enters. */
  park(slot: Slot<Jobs>, item: Item, admitted: () => void): void {
    retainJobs(item.jobs);
    slot.wait(item, () => {
      this.wake('data');
      admitted();
    });
  }

  /** Removes queued items whose jobs have all ended (after a cancel); returns how many. */
  purgeEnded(): number {
    let removed = 0;
    for (const slot of this.slots) {
      for (const item of slot.removeWhere((it) => allTerminal(it.jobs))) {
        slot.counters.discarded++;
        this.#host.worker[kCounters].itemsDiscarded++;
        releaseJobs(item.jobs);
        removed++;
      }
    }
    return removed;
  }

  /** Cancels timers and drops every queued, parked and retrying item (worker stop, destroy). */
  shutdown(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#failures.shutdown();
    for (const slot of this.slots) {
      const { queued, parked } = slot.drain();
      for (const item of queued) releaseJobs(item.jobs);
      for (const { item, admit } of parked) {
        releaseJobs(item.jobs);
        admit();
      }
    }
  }

  #take(take: Readonly<Record<string, number>>, message: unknown): Activation | undefined {
    const names = this.#view.names;
    const slotCount = names.length;
    const bySlot = new Array<Item[]>(slotCount);
    let total = 0;
    let discarded = false;
    for (let i = 0; i < slotCount; i++) {
      const count = take[names[i] as string] ?? 0;
      const list = count > 0 ? (this.slots[i] as Slot<Jobs>).take(count) : kNoItems;
      for (let k = 0; k < list.length; k++) if (allTerminal((list[k] as Item).jobs)) discarded = true;
      bySlot[i] = list;
      total += list.length;
    }
    // Items whose jobs already ended (failed, cancelled) are discarded here, not run.
    if (discarded) total = this.#discardEnded(bySlot);
    if (total === 0) return undefined;
    let items: Item[];
    if (slotCount === 1) items = bySlot[0] as Item[];
    else {
      items = new Array<Item>(total);
      let k = 0;
      for (const list of bySlot) for (const item of list) items[k++] = item;
    }
    return newActivation(items, bySlot, distinctJobs(items), message, 1);
  }

  #takeOne(index: number): Activation | undefined {
    const slot = this.slots[index] as Slot<Jobs>;
    const head = slot.peek(0) as Item;
    // A stream job's items are not tracked one by one: consecutive ones run in one activation.
    let count = 1;
    if (head.jobs instanceof JobContext && head.jobs[kStream] !== undefined) {
      const job = head.jobs;
      while (count < kStreamChunk && slot.peek(count)?.jobs === job) count++;
    }
    const list = slot.take(count);
    const item = list[0] as Item;
    if (allTerminal(item.jobs)) {
      slot.counters.discarded += list.length;
      this.#host.worker[kCounters].itemsDiscarded += list.length;
      for (const taken of list) releaseJobs(taken.jobs);
      return undefined;
    }
    let bySlot: Item[][];
    if (this.slots.length === 1) bySlot = [list];
    else {
      bySlot = new Array<Item[]>(this.slots.length).fill(kNoItems);
      bySlot[index] = list;
    }
    return newActivation(list, bySlot, item.jobs, undefined, 1);
  }

  #discardEnded(bySlot: Item[][]): number {
    let total = 0;
    for (let i = 0; i < bySlot.length; i++) {
      const kept: Item[] = [];
      for (const item of bySlot[i] as Item[]) {
        if (allTerminal(item.jobs)) {
          (this.slots[i] as Slot<Jobs>).counters.discarded++;
          this.#host.worker[kCounters].itemsDiscarded++;
          releaseJobs(item.jobs);
        } else kept.push(item);
      }
      bySlot[i] = kept;
      total += kept.length;
    }
    return total;
  }

  #start(activation: Activation, now: number): void {
    const host = this.#host;
    this.#running++;
    host.worker[kCounters].activations++;
    const jobs = activation.jobs;
    const first = jobs instanceof JobContext ? jobs : (jobs[0] as JobContext);
    if (jobs instanceof JobContext) {
      if (jobs[kStart]()) host.events.jobStarted(jobs);
    } else for (const job of jobs) if (job[kStart]()) host.events.jobStarted(job);
    if (host.events.listens(RuntimeTopic.ActivationStarted)) {
      host.events.activationStarted(host.worker.workerId, this.id, activation.items.length, activation.attempt, () => jobIdsOf(jobs));
    }
    activation.startMono = now;
    if (!this.#guard.isOpenRoad && !this.#guard.acquire(activation, this.#refused)) return;
    if (this.placement.onPool) {
      // The pool bridge packs the items of whole batches itself, and settles them in one pass.
      host.runOnPool(this, activation, this.#poolSettled);
      return;
    }
    const slotItems: SlotItems = {};
    const names = this.#view.names;
    for (let i = 0; i < names.length; i++) {
      const list = activation.bySlot[i] as Item[];
      const data = new Array<unknown>(list.length);
      for (let k = 0; k < list.length; k++) data[k] = (list[k] as Item).data;
      slotItems[names[i] as string] = data;
    }
    // A stream's chunk holds its emits until its logic succeeds (see Activation.buffered).
    if (activation.items.length > 1 && jobs === first && first[kStream] !== undefined) activation.buffered = [];
    const scope = new Scope(this, activation, first);
    const probeStart = this.placement.measuring ? performance.now() : 0;
    let result: unknown;
    try {
      result = runInScope(scope, () => this.#logic(slotItems, scope));
    } catch (error) {
      if (probeStart !== 0) this.placement.record((performance.now() - probeStart) * 1000);
      this.#settle(activation, error);
      return;
    }
    if (probeStart !== 0) this.placement.record((performance.now() - probeStart) * 1000);
    if (isThenable(result)) {
      const timeoutMs = this.entry.timeoutMs;
      const pending =
        timeoutMs > 0
          ? withTimeout(result as Promise<void>, timeoutMs, {
              name: `routine "${this.id}"`,
              clock: host.clock,
              onTimeout: (e: unknown) => scope.abort(e),
            })
          : (result as Promise<void>);
      pending.then(
        () => this.#settle(activation, undefined),
        (error: unknown) => this.#settle(activation, error ?? new Error('logic rejected with no reason')),
      );
    } else {
      this.#settle(activation, undefined);
    }
  }

  /** @internal The items of `slot` in `activation`, with their jobs. */
  entriesOf(activation: Activation, slot: string): readonly ItemEntry[] {
    const index = this.#slotIndex.get(slot);
    if (index === undefined) {
      throw new SluiceError(ErrorCode.UnknownSlot, `Routine "${this.id}" has no slot "${slot}" (declared: ${this.#view.names.join(', ')})`);
    }
    const out: ItemEntry[] = [];
    for (const item of activation.bySlot[index] as Item[]) {
      for (const job of jobList(item.jobs)) out.push({ data: item.data, job });
    }
    return out;
  }

  /** @internal Routes what `activation` emits. */
  emitFrom(activation: Activation, event: string, data: unknown, options: EmitOptions | undefined): void {
    const buffered = activation.buffered;
    if (buffered === undefined) this.router.route(activation, event, data, options);
    else {
      // An undeclared event throws here, as when routed at once (checked once per run of one event).
      if (event !== buffered[buffered.length - 3] && !this.entry.routine.hasEvent(event))
        this.router.route(activation, event, data, options);
      buffered.push(event, data, options);
    }
  }

  /** @internal */
  get host(): RunnerHost {
    return this.#host;
  }

  /** @internal */
  get config(): Readonly<Record<string, unknown>> {
    return this.#config;
  }

  readonly #poolSettled = (activation: Activation, error: unknown): void => this.#settle(activation, error);
  /** An activation a breaker refused settles with the fallback's outcome or the breaker's error. */
  readonly #refused = (activation: Activation, error: unknown): void => this.#settle(activation, error);

  #settle(activation: Activation, error: unknown): void {
    const host = this.#host;
    const buffered = activation.buffered;
    if (buffered !== undefined) {
      activation.buffered = undefined;
      if (error === undefined) {
        try {
          this.router.routeHeld(activation, buffered);
        } catch (routeError) {
          error = routeError;
        }
      }
    }
    this.#running--;
    const now = host.clock.now();
    host.stamp.lastNow = now;
    const durationMs = now - activation.startMono;
    this.durations.record(durationMs);
    let status: TraceEntry['status'] = activation.fellBack === true ? 'fallback' : 'ok';
    let failure: SluiceError | undefined;
    this.#guard.release(activation, error);
    if (error !== undefined) {
      host.worker[kCounters].activationErrors++;
      failure = this.#failures.wrap(error);
      status = this.#failures.fail(activation, failure);
    }
    const errorInfo = failure === undefined ? undefined : { code: failure.code, message: failure.message };
    const items = activation.items.length;
    const jobs = activation.jobs;
    const single = jobs instanceof JobContext;
    const startMono = activation.startMono;
    const attempt = activation.attempt;
    if (single) jobs[kTrace](this.id, status, startMono, durationMs, items, attempt, errorInfo);
    else for (const job of jobs) job[kTrace](this.id, status, startMono, durationMs, items, attempt, errorInfo);
    if (host.worker.recordsHistory) {
      // Wall time only matters for the worker's history; derived from the clock, not read per activation.
      const jobIds = single ? jobs.jobId : jobs.map((j) => j.jobId);
      host.worker[kRecord](this.id, status, host.wallTime(startMono), durationMs, items, jobIds, errorInfo);
    }
    if (host.events.listens(RuntimeTopic.ActivationFinished))
      host.events.activationFinished(() => ({
        workerId: host.worker.workerId,
        routineId: this.id,
        status,
        durationMs,
        items,
        attempt: activation.attempt,
        jobIds: jobIdsOf(jobs),
        ...(errorInfo === undefined ? {} : { error: errorInfo }),
      }));
    if (failure !== undefined) host.events.error(host.worker.workerId, this.id, this.#failures.strategy, failure, () => jobIdsOf(jobs));
    // A retrying or split activation keeps its items (and their jobs' holds) until they run again.
    if (status !== 'retrying' && status !== 'split') releaseItems(activation, now);
    if (this.#view.total() > 0 || this.#failures.hasDue) this.wake('settled');
    if (host.paused) host.activationSettled();
  }

  /** Activations waiting to run again (a retry due or backing off), with their items. */
  waitingActivations(): Activation[] {
    return this.#failures.waitingActivations();
  }

  /** An item evicted by `dropOldest`: its data is gone, so its jobs fail (never complete). */
  #dropped(item: Item, slot: Slot<Jobs>): void {
    this.#host.worker[kCounters].itemsDropped++;
    const at = this.#host.clock.now();
    const error = new SluiceError(
      ErrorCode.ItemDropped,
      `An item of slot ${this.id}.${slot.spec.name} was evicted by its overflow policy "dropOldest" (${slot.spec.maxQueueLength} ` +
        `items) before it ran`,
      { details: { routineId: this.id, slot: slot.spec.name } },
    );
    const info = { code: error.code, message: error.message };
    for (const job of jobList(item.jobs)) {
      job[kTrace](this.id, 'dropped', at, 0, 1, 1, info);
      job[kEnd]('failed', error);
    }
    releaseJobs(item.jobs);
  }

  #expire(expire: Readonly<Record<string, number>>, reason: string): void {
    const at = this.#host.clock.now();
    for (const name in expire) {
      const slot = this.slot(name) as Slot<Jobs>;
      const items = slot.take(expire[name] as number);
      for (const item of items) {
        const error = new SluiceError(ErrorCode.JoinTimeout, `An item waiting in ${this.id}.${name} expired: ${reason}`, {
          details: { routineId: this.id, slot: name },
        });
        for (const job of jobList(item.jobs)) {
          job[kTrace](this.id, 'expired', at, 0, 1, 1, { code: error.code, message: error.message });
          job[kEnd]('failed', error);
        }
        releaseJobs(item.jobs);
      }
    }
  }

  #policyFailed(error: unknown): void {
    // A broken policy cannot decide anything: fail the jobs of everything queued, loudly.
    const failure =
      error instanceof SluiceError
        ? error
        : new SluiceError(
            ErrorCode.InvalidPolicyDecision,
            `Activation policy of routine "${this.id}" threw: ${(error as Error)?.message ?? String(error)}`,
            { cause: error },
          );
    this.#host.worker[kCounters].activationErrors++;
    for (const slot of this.slots) {
      const { queued, parked } = slot.drain();
      const fail = (item: Item): void => {
        for (const job of jobList(item.jobs)) job[kEnd]('failed', failure);
        releaseJobs(item.jobs);
      };
      for (const item of queued) fail(item);
      for (const { item, admit } of parked) {
        fail(item);
        admit();
      }
    }
  }

  #armTimer(now: number, wakeAfterMs: number): void {
    const at = now + wakeAfterMs;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.#host.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.wake('timer');
    }, wakeAfterMs);
  }
}

/** Releases the holds of an activation's items: one release for the items of its single job (a stream's chunk). */
function releaseItems(activation: Activation, now: number): void {
  const single = activation.jobs instanceof JobContext ? activation.jobs : undefined;
  let same = 0;
  for (const item of activation.items) {
    if (item.jobs === single) same++;
    else releaseJobs(item.jobs, now);
  }
  if (same > 0) (single as JobContext)[kRelease](same, now);
}

/** Items of one stream job an immediate routine takes per activation. */
const kStreamChunk = 512;
const kNoItems: Item[] = [];

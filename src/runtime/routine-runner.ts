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
import { retryDelay, type ErrorHandler } from '../core/error-handler.ts';
import { ErrorCode, RoutineError, SlotQueueFullError, SluiceError, describeValue } from '../core/errors.ts';
import { isThenable } from '../core/validate.ts';
import type { RoutineEntry } from '../core/flow.ts';
import { ActivationLog, JobContext, kAddError, kEnd, kStart, kTrace, type TraceEntry } from '../core/job-context.ts';
import type { Logic, SlotItems } from '../core/routine.ts';
import { OfferResult, Slot } from '../core/slot.ts';
import { kCounters, kRecord, type WorkerState } from '../core/worker-state.ts';
import { allTerminal, hasJob, jobList, releaseJobs, retainJobs, type Jobs } from './jobs.ts';
import { RuntimeTopic, type EngineEvents } from './runtime-events.ts';
import type { Schedulable } from './scheduler.ts';
import { withTimeout, type BreakerPermit, type SluiceBreaker } from '../resilience/index.ts';
import { Scope, type Activation, type Item } from './activation-scope.ts';
import { PlacementProbe } from './placement.ts';
import { DurationStats } from './duration-stats.ts';

/** What a runner needs from its worker engine. */
export interface RunnerHost {
  readonly worker: WorkerState;
  readonly clock: { now(): number; setTimeout(fn: () => void, ms: number): TimerHandle };
  readonly random: () => number;
  readonly workerSignal: AbortSignal;
  /** Epoch milliseconds of a time on the clock. */
  wallTime(mono: number): number;
  markReady(runner: RoutineRunner): void;
  /** The placement state of a routine (absent: always inline). */
  placementFor?(entry: RoutineEntry): PlacementProbe | undefined;
  /** Runs an activation on the thread pool; `done` is called once with its error, if any. */
  runOnPool?(runner: RoutineRunner, activation: Activation, done: (activation: Activation, error: unknown) => void): void;
  /** Activations a pool routine may keep in flight (the dispatcher batches them). */
  poolWindow?(): number;
  /** Where the runner reports what happens (published on the runtime's bus when anyone listens). */
  readonly events: EngineEvents;
  /** The breakers guarding a routine: its own and its dependencies' (empty: none). */
  breakersFor?(entry: RoutineEntry): readonly SluiceBreaker[];
  /** Another routine of the same worker (for fallbacks). */
  runnerOf?(routineId: string): RoutineRunner;
}

/** Runs one routine of one worker. */
export class RoutineRunner implements Schedulable {
  queued = false;
  readonly id: string;
  readonly entry: RoutineEntry;
  readonly slots: Slot<Jobs>[];
  readonly #slotIndex = new Map<string, number>();
  readonly #targets = new Map<string, Slot<Jobs>[]>();
  readonly #targetRunners = new Map<Slot<Jobs>, RoutineRunner>();
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
  readonly #errorHandler: ErrorHandler;
  readonly #retries: Activation[] = [];
  readonly #view: SlotsView;
  readonly #config: Readonly<Record<string, unknown>>;
  readonly #breakers: readonly SluiceBreaker[];
  #reason: EvaluationReason = 'data';
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #running = 0;
  #parked = 0;
  #retryTimers = new Set<TimerHandle>();
  /** Items emitted on events without connections (counted, not an error). */
  unrouted = 0;
  /** A cap on batch sizes set at run time; see `PolicyContext.batchLimit`. */
  batchLimit: number | undefined;
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
    this.#errorHandler = entry.errorHandler;
    this.#config = Object.freeze(entry.routine.getConfig());
    this.#breakers = host.breakersFor?.(entry) ?? [];
    this.placement = host.placementFor?.(entry) ?? new PlacementProbe('inline', { samples: 1, thresholdUs: 0, poolable: false });
    this.slots = entry.routine.slots.map((spec, i) => {
      this.#slotIndex.set(spec.name, i);
      return new Slot<Jobs>(entry.id, spec);
    });
    const names = entry.routine.slots.map((s) => s.name);
    const slots = this.slots;
    const index = this.#slotIndex;
    this.#view = {
      names,
      count: (slot) => {
        const i = index.get(slot);
        return i === undefined ? 0 : (slots[i] as Slot<Jobs>).length;
      },
      peek: (slot, i = 0) => {
        const s = index.get(slot);
        return s === undefined ? undefined : (slots[s] as Slot<Jobs>).peek(i)?.data;
      },
      total: () => {
        let n = 0;
        for (const slot of slots) n += slot.length;
        return n;
      },
    };
  }

  /** Wires `event` of this routine to `slot` of `target`. */
  connect(event: string, target: RoutineRunner, slot: string): void {
    const dst = target.slot(slot) as Slot<Jobs>;
    const list = this.#targets.get(event);
    if (list === undefined) this.#targets.set(event, [dst]);
    else list.push(dst);
    this.#targetRunners.set(dst, target);
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
    return this.#parked;
  }

  /** Activations waiting for a retry. */
  get retrying(): number {
    return this.#retries.length + this.#retryTimers.size;
  }

  /** Marks the runner ready for the given reason. */
  wake(reason: EvaluationReason): void {
    this.#reason = reason;
    this.#host.markReady(this);
  }

  /** Evaluates the policy once and starts at most one activation. */
  evaluate(): void {
    const limit = this.placement.onPool ? Math.max(this.entry.concurrency, this.#host.poolWindow?.() ?? 1) : this.entry.concurrency;
    if (this.#running >= limit || this.#parked > 0) return;
    const retry = this.#retries.shift();
    if (retry !== undefined) {
      this.#start(retry, this.#host.clock.now());
      if (this.#retries.length > 0 || this.#view.total() > 0) this.wake('settled');
      return;
    }
    if (this.#view.total() === 0) return;
    const now = this.#host.clock.now();
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
      ctx.batchLimit = this.batchLimit;
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

  /** Offers one item to `slot` from outside a routine (a post). */
  static offer(target: RoutineRunner, slot: Slot<Jobs>, item: Item): OfferResult {
    const result = slot.offer(item);
    if (result === OfferResult.Accepted || result === OfferResult.Evicted) {
      retainJobs(item.jobs);
      if (result === OfferResult.Evicted) {
        target.#dropped(slot.lastEvicted as Item, slot);
        target.#host.events.overflow(target.#host.worker.workerId, target.id, slot.spec.name, 'dropped', undefined);
      }
      target.wake('data');
    }
    return result;
  }

  /** Parks an item posted with `postAsync` until the slot has room. */
  static park(target: RoutineRunner, slot: Slot<Jobs>, item: Item, admitted: () => void): void {
    retainJobs(item.jobs);
    slot.wait(item, () => {
      target.wake('data');
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
    for (const timer of this.#retryTimers) timer.cancel();
    this.#retryTimers.clear();
    for (const activation of this.#retries.splice(0)) for (const item of activation.items) releaseJobs(item.jobs);
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
    return { items, bySlot, jobs: distinctJobs(items), message, attempt: 1, startMono: 0 };
  }

  #takeOne(index: number): Activation | undefined {
    const list = (this.slots[index] as Slot<Jobs>).take(1);
    const item = list[0] as Item;
    if (allTerminal(item.jobs)) {
      (this.slots[index] as Slot<Jobs>).counters.discarded++;
      this.#host.worker[kCounters].itemsDiscarded++;
      releaseJobs(item.jobs);
      return undefined;
    }
    let bySlot: Item[][];
    if (this.slots.length === 1) bySlot = [list];
    else {
      bySlot = new Array<Item[]>(this.slots.length).fill(kNoItems);
      bySlot[index] = list;
    }
    return { items: list, bySlot, jobs: item.jobs, message: undefined, attempt: 1, startMono: 0 };
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
    if (this.#breakers.length > 0 && !this.#acquire(activation)) return;
    if (this.placement.onPool && host.runOnPool !== undefined) {
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
    this.#emit(activation, event, data, options);
  }

  /** @internal */
  get host(): RunnerHost {
    return this.#host;
  }

  /** @internal */
  get config(): Readonly<Record<string, unknown>> {
    return this.#config;
  }

  #emit(activation: Activation, event: string, data: unknown, options: EmitOptions | undefined): void {
    let jobs: Jobs = activation.jobs;
    if (options?.job !== undefined) {
      if (!hasJob(activation.jobs, options.job)) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Routine "${this.id}" emitted "${event}" for job "${options.job.jobId}", which is not a job of this activation`,
        );
      }
      jobs = options.job;
    }
    const targets = this.#targets.get(event);
    if (targets === undefined) {
      if (!this.entry.routine.hasEvent(event)) {
        throw new SluiceError(
          ErrorCode.UnknownEvent,
          `Routine "${this.id}" emitted on undeclared event "${event}" (declared: ` +
            `${this.entry.routine.events.map((e) => `"${e.name}"`).join(', ') || 'none'})`,
          { details: { routineId: this.id, event } },
        );
      }
      this.unrouted++;
      return;
    }
    if (allTerminal(jobs)) {
      this.#host.worker[kCounters].itemsDiscarded++;
      return;
    }
    // Refuse before delivering anywhere, so a fan-out is all or nothing.
    for (const slot of targets) {
      if (slot.spec.overflow === 'reject' && (slot.isFull || slot.waiting > 0)) {
        slot.counters.rejected++;
        this.#host.events.overflow(this.#host.worker.workerId, slot.routineId, slot.spec.name, 'rejected', this.id);
        throw new SlotQueueFullError(
          `Slot ${slot.routineId}.${slot.spec.name} is full (${slot.spec.maxQueueLength} items) and refused an item emitted by ` +
            `"${this.id}" on "${event}"`,
          { details: { routineId: slot.routineId, slot: slot.spec.name, source: this.id, event } },
        );
      }
    }
    for (const slot of targets) {
      const item: Item = { data, jobs };
      const target = this.#targetRunners.get(slot) as RoutineRunner;
      const result = RoutineRunner.offer(target, slot, item);
      if (result === OfferResult.MustWait) {
        this.#parked++;
        this.#host.events.overflow(this.#host.worker.workerId, slot.routineId, slot.spec.name, 'blocked', this.id);
        RoutineRunner.park(target, slot, item, () => {
          this.#parked--;
          if (this.#parked === 0) this.wake('settled');
        });
      }
    }
  }

  /**
   * Takes a permit from every breaker of the routine. When one refuses, the permits taken are
   * handed back and the activation goes to the fallback, or settles with the breaker's error.
   */
  #acquire(activation: Activation): boolean {
    const permits: BreakerPermit[] = [];
    for (const breaker of this.#breakers) {
      const lease = breaker.tryAcquire();
      if (lease.allowed) {
        permits.push(lease);
        continue;
      }
      for (const permit of permits) permit.cancel();
      if (this.entry.fallback === undefined) this.#settle(activation, lease.error);
      else {
        let error: unknown;
        try {
          this.#fallBack(activation);
        } catch (failure) {
          error = failure;
        }
        this.#settle(activation, error);
      }
      return false;
    }
    activation.permits = permits;
    return true;
  }

  #fallBack(activation: Activation): void {
    const fallback = this.entry.fallback;
    if (fallback === undefined) return;
    activation.fellBack = true;
    if ('event' in fallback) {
      for (const item of activation.items)
        this.#emit(activation, fallback.event, item.data, item.jobs instanceof JobContext ? { job: item.jobs } : undefined);
      return;
    }
    const target = this.#host.runnerOf?.(fallback.routine) as RoutineRunner;
    const slot = target.slot(fallback.slot) as Slot<Jobs>;
    for (const item of activation.items) {
      const result = RoutineRunner.offer(target, slot, { data: item.data, jobs: item.jobs });
      if (result === OfferResult.Rejected || result === OfferResult.MustWait) {
        throw new SlotQueueFullError(`Fallback slot ${fallback.routine}.${fallback.slot} of routine "${this.id}" is full`, {
          details: { routineId: this.id, fallback: `${fallback.routine}.${fallback.slot}` },
        });
      }
    }
  }

  readonly #poolSettled = (activation: Activation, error: unknown): void => this.#settle(activation, error);

  #settle(activation: Activation, error: unknown): void {
    const host = this.#host;
    this.#running--;
    const now = host.clock.now();
    const durationMs = now - activation.startMono;
    this.durations.record(durationMs);
    let status: TraceEntry['status'] = activation.fellBack === true ? 'fallback' : 'ok';
    let failure: SluiceError | undefined;
    if (activation.permits !== undefined) for (const permit of activation.permits) permit.release(error === undefined, error);
    if (error !== undefined) {
      host.worker[kCounters].activationErrors++;
      failure = this.#wrap(error);
      status = this.#splittable(activation, failure) ? this.#split(activation) : this.#handleError(activation, failure);
    }
    const errorInfo = failure === undefined ? undefined : { code: failure.code, message: failure.message };
    const items = activation.items.length;
    const jobs = activation.jobs;
    const single = jobs instanceof JobContext;
    // Wall time only matters for the worker's history; derived from the clock, not read per activation.
    const startedAt = host.worker.recordsHistory ? host.wallTime(activation.startMono) : 0;
    const log = new ActivationLog(
      this.id,
      status,
      activation.startMono,
      startedAt,
      durationMs,
      items,
      activation.attempt,
      single ? jobs.jobId : jobs.map((j) => j.jobId),
      errorInfo,
    );
    if (single) jobs[kTrace](log);
    else for (const job of jobs) job[kTrace](log);
    if (host.worker.recordsHistory) host.worker[kRecord](log);
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
    if (failure !== undefined) host.events.error(host.worker.workerId, this.id, this.#errorHandler.strategy, failure, () => jobIdsOf(jobs));
    // A retrying or split activation keeps its items (and their jobs' holds) until they run again.
    if (status !== 'retrying' && status !== 'split') for (const item of activation.items) releaseJobs(item.jobs, now);
    if (this.#view.total() > 0 || this.#retries.length > 0) this.wake('settled');
  }

  #wrap(error: unknown): SluiceError {
    if (error instanceof SluiceError) return error;
    const message = error instanceof Error ? error.message : describeValue(error);
    return new RoutineError(ErrorCode.RoutineFailed, `Routine "${this.id}" failed: ${message}`, {
      cause: error,
      details: { routineId: this.id },
    });
  }

  #handleError(activation: Activation, error: SluiceError): TraceEntry['status'] {
    const handler = this.#errorHandler;
    switch (handler.strategy) {
      case 'continue':
        for (const job of jobList(activation.jobs)) job[kAddError]({ routineId: this.id, code: error.code, message: error.message });
        return 'continued';
      case 'skip':
        return 'skipped';
      case 'retry': {
        if (activation.attempt < handler.maxAttempts) {
          this.#scheduleRetry(activation);
          return 'retrying';
        }
        const exhausted = new SluiceError(
          ErrorCode.RetriesExhausted,
          `Routine "${this.id}" failed ${activation.attempt} times (maxAttempts ${handler.maxAttempts}); last error: ${error.message}`,
          { cause: error, details: { routineId: this.id, attempts: activation.attempt } },
        );
        for (const job of jobList(activation.jobs)) job[kEnd]('failed', exhausted);
        return 'failed';
      }
      default:
        for (const job of jobList(activation.jobs)) job[kEnd]('failed', error);
        return 'failed';
    }
  }

  /**
   * True when a failed activation over several items of one slot may owe its failure to one
   * poison item: it is split rather than charged whole. Joins (items of several slots belong
   * together) and failures that are nobody's item (an open breaker, a full slot, a closed pool)
   * are charged as they are.
   */
  #splittable(activation: Activation, error: SluiceError): boolean {
    if (activation.items.length < 2 || activation.fellBack === true || kNoSplit.has(error.code)) return false;
    let slots = 0;
    for (const list of activation.bySlot) if (list.length > 0) slots++;
    return slots === 1;
  }

  /**
   * Bisects a failed activation (as AWS Lambda's BisectBatchOnFunctionError does): each half
   * runs again at once, same attempt, alone, until the failing item fails by itself and meets
   * the error handler while its batch-mates complete. Items of a half that fails again run more
   * than once, as under RETRY: what they emitted before the failure is not taken back.
   */
  #split(activation: Activation): TraceEntry['status'] {
    const index = activation.bySlot.findIndex((list) => list.length > 0);
    const items = activation.items;
    const mid = Math.ceil(items.length / 2);
    for (const half of [items.slice(0, mid), items.slice(mid)]) {
      const bySlot = activation.bySlot.map((_list, i) => (i === index ? half : kNoItems));
      this.#retries.push({
        items: half,
        bySlot,
        jobs: distinctJobs(half),
        message: activation.message,
        attempt: activation.attempt,
        startMono: 0,
        isolated: true,
      });
    }
    return 'split';
  }

  #scheduleRetry(activation: Activation): void {
    const delay = retryDelay(this.#errorHandler, activation.attempt, this.#host.random);
    this.#host.events.retry(this.#host.worker.workerId, this.id, activation.attempt + 1, delay, () => jobIdsOf(activation.jobs));
    const next: Activation = { ...activation, attempt: activation.attempt + 1 };
    const timer = this.#host.clock.setTimeout(() => {
      this.#retryTimers.delete(timer);
      if (allTerminal(next.jobs)) {
        for (const item of next.items) releaseJobs(item.jobs);
        return;
      }
      this.#retries.push(next);
      this.wake('timer');
    }, delay);
    this.#retryTimers.add(timer);
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
      job[kTrace](new ActivationLog(this.id, 'dropped', at, Date.now(), 0, 1, 1, job.jobId, info));
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
          job[kTrace](
            new ActivationLog(this.id, 'expired', at, Date.now(), 0, 1, 1, job.jobId, { code: error.code, message: error.message }),
          );
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

const kNoItems: Item[] = [];

/** Failures no item of the activation caused: charged whole, never split. */
const kNoSplit: ReadonlySet<string> = new Set([
  ErrorCode.CircuitOpen,
  ErrorCode.QueueFull,
  ErrorCode.PoolClosed,
  ErrorCode.PoolUnavailable,
  ErrorCode.JobCancelled,
  ErrorCode.FlowModuleInvalid,
  ErrorCode.RoutineNotFound,
  ErrorCode.RuntimeClosed,
]);

function jobIdsOf(jobs: Jobs): readonly string[] {
  return jobs instanceof JobContext ? [jobs.jobId] : jobs.map((j) => j.jobId);
}

function distinctJobs(items: Item[]): Jobs {
  const first = (items[0] as Item).jobs;
  if (items.length === 1) return first;
  let single = first instanceof JobContext ? first : undefined;
  if (single !== undefined) {
    for (const item of items) {
      if (item.jobs !== single) {
        single = undefined;
        break;
      }
    }
    if (single !== undefined) return single;
  }
  const set = new Set<JobContext>();
  for (const item of items) for (const job of jobList(item.jobs)) set.add(job);
  const list = [...set];
  return list.length === 1 ? (list[0] as JobContext) : list;
}

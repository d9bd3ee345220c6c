/**
 * The Runtime as a subsystem of the Dynamic Resource Governor: its knobs (pool size, dispatch
 * batch, the batch size of every batching routine) with validated setters, its metrics (queue
 * depth and pressure, expected queue wait, job latency p95, throughput, pool utilisation), and an
 * admission gate at `post()` for `throttle`, `shed_load` and the governor's latency target (a post
 * is refused when the unfinished jobs would take longer than half the target to drain at the
 * measured completion rate). Registered on `start()`, unregistered on `close()`.
 */
import type { Flow } from '../core/flow.ts';
import type { SlotStatus } from '../core/slot.ts';
import {
  AdmissionGate,
  KnobKinds,
  type Governable,
  type Governor,
  type GovernorDisposable,
  type KnobDescriptor,
} from '../governor/index.ts';
import type { ThreadPool } from '../pool/index.ts';
import { LatencyTracker, ThroughputCounter } from '../telemetry/index.ts';
import type { Clock } from '../core/clock.ts';

/** What the governable reads from and turns on its runtime. */
export interface GovernedRuntime {
  readonly name: string;
  /** Registered flows. */
  flows(): readonly Flow[];
  /** Every slot of every running worker. */
  queues(): readonly SlotStatus[];
  /** The pool, only when one exists (no pool is created to be governed). */
  existingPool(): ThreadPool | undefined;
  /** Jobs posted and not yet finished. */
  activeJobs(): number;
  /**
   * With a transport: items this runtime sent or holds for other processes that are not finished
   * there (its unsent queue and the consuming groups' backlog); undefined without one.
   */
  transportBacklog?(): number | undefined;
  /** The batch cap of a routine (undefined: none). */
  batchLimit(flowId: string, routineId: string): number | undefined;
  setBatchLimit(flowId: string, routineId: string, limit: number | undefined): void;
}

const kPoolKnob = 'pool';
const kDispatchKnob = 'dispatch';
const kBatchPrefix = 'batch:';

/**
 * The knobs and metrics of one runtime, with its admission gate's knobs (`admission_rate`,
 * `shed_level`) among them: rules acting on the runtime read the runtime's own metrics (its job
 * latency, its queues), so they must find every knob on the same subsystem.
 */
export class RuntimeGovernable implements Governable {
  readonly name: string;
  /** Admission at `post()`: a token bucket (`throttle`) and a shed level (`shed_load`). */
  readonly gate: AdmissionGate;
  readonly #runtime: GovernedRuntime;
  readonly #latency = new LatencyTracker({ window: 512 });
  readonly #throughput: ThroughputCounter;
  readonly #poolCeiling: number;
  #poolBaseline: number | undefined;
  #dispatchBaseline: number | undefined;
  /** The last non-zero completion rate: the estimate while nothing finished within the window. */
  #knownRate = 0;

  /** `latencyTargetMs`: the governor's; admission keeps the expected wait under half of it. */
  constructor(runtime: GovernedRuntime, clock: Clock, poolCeiling: number, latencyTargetMs = Number.POSITIVE_INFINITY) {
    this.name = runtime.name;
    this.#runtime = runtime;
    this.#throughput = new ThroughputCounter({ clock });
    this.#poolCeiling = poolCeiling;
    this.gate = new AdmissionGate({
      name: `${runtime.name}.admission`,
      clock,
      waitLimitMs: latencyTargetMs / 2,
      expectedWaitMs: () => this.#expectedWaitMs(),
    });
  }

  /**
   * Little's law at the door: the unfinished jobs over the jobs finished per second is how long
   * a new post waits behind them. Undefined until a job has finished (nothing is known yet).
   */
  #expectedWaitMs(): number | undefined {
    const active = this.#runtime.activeJobs();
    if (active === 0) return 0;
    const rate = this.#throughput.rate();
    if (rate > 0) this.#knownRate = rate;
    return this.#knownRate > 0 ? (active / this.#knownRate) * 1000 : undefined;
  }

  /** Feeds the metrics with one finished job's end-to-end latency. */
  jobEnded(latencyMs: number): void {
    this.#latency.record(latencyMs);
    this.#throughput.add();
  }

  knobs(): readonly KnobDescriptor[] {
    const knobs: KnobDescriptor[] = [...this.gate.knobs()];
    const pool = this.#runtime.existingPool();
    if (pool !== undefined) {
      this.#poolBaseline ??= pool.threads;
      this.#dispatchBaseline ??= pool.dispatchBatch;
      knobs.push({
        name: kPoolKnob,
        kind: KnobKinds.PoolSize,
        value: pool.threads,
        min: 1,
        max: Math.max(this.#poolCeiling, this.#poolBaseline),
        baseline: this.#poolBaseline,
      });
      knobs.push({
        name: kDispatchKnob,
        kind: KnobKinds.DispatchBatch,
        value: pool.dispatchBatch,
        min: 1,
        max: Math.max(this.#dispatchBaseline, 1),
        baseline: this.#dispatchBaseline,
      });
    }
    for (const flow of this.#runtime.flows()) {
      for (const entry of flow.routines) {
        const policy = entry.routine.activationPolicy;
        if (policy.type !== 'batchSize') continue;
        const n = policy.config.n as number;
        const value = this.#runtime.batchLimit(flow.id, entry.id) ?? n;
        knobs.push({
          name: `${kBatchPrefix}${flow.id}/${entry.id}`,
          kind: KnobKinds.BatchSize,
          value: Math.min(value, n),
          min: 1,
          max: n,
          baseline: n,
        });
      }
    }
    return knobs;
  }

  setKnob(name: string, value: number): number {
    const pool = this.#runtime.existingPool();
    if (name === kPoolKnob && pool !== undefined) {
      pool.resize(value);
      return pool.threads;
    }
    if (name === kDispatchKnob && pool !== undefined) {
      pool.setDispatchBatch(value);
      return pool.dispatchBatch;
    }
    if (name === 'admission_rate' || name === 'shed_level' || name === 'wait_limit') return this.gate.setKnob(name, value);
    if (name.startsWith(kBatchPrefix)) {
      const [flowId, routineId] = name.slice(kBatchPrefix.length).split('/') as [string, string];
      const max = this.knobs().find((k) => k.name === name)?.max;
      this.#runtime.setBatchLimit(flowId, routineId, max !== undefined && value >= max ? undefined : value);
      return this.#runtime.batchLimit(flowId, routineId) ?? max ?? value;
    }
    // The governor reports this as a rejected decision; it never happens for knobs we listed.
    throw new Error(`runtime "${this.name}" has no knob "${name}"`);
  }

  metrics(): Readonly<Record<string, number | undefined>> {
    let depth = 0;
    let pressure = 0;
    for (const q of this.#runtime.queues()) {
      depth += q.length + q.waiting;
      pressure = Math.max(pressure, q.waiting > 0 ? 1 : q.utilisation);
    }
    // Work waiting in other processes for this runtime's jobs is queued work too.
    const backlog = this.#runtime.transportBacklog?.();
    if (backlog !== undefined) depth += backlog;
    const pool = this.#runtime.existingPool();
    const stats = pool?.stats();
    const throughput = this.#throughput.rate();
    return {
      ...(backlog === undefined ? {} : { transport_backlog: backlog }),
      queue_depth: depth,
      queue_pressure: pressure,
      latency_ms: this.#latency.percentile(0.95),
      // Little's law: how long what is queued now takes to drain at the current throughput — the
      // wait a new post can expect, known before any job of the backlog has finished.
      queue_wait_ms: throughput > 0 ? (depth / throughput) * 1000 : undefined,
      throughput,
      pool_util:
        stats === undefined || stats.threads === 0
          ? undefined
          : Math.min(1, (stats.busy + stats.queueDepth / Math.max(1, stats.dispatchBatch)) / stats.threads),
    };
  }
}

/** The runtime's registration with a governor. */
export class RuntimeGovernance {
  readonly governable: RuntimeGovernable;
  readonly #registrations: GovernorDisposable[];

  constructor(governor: Governor, runtime: GovernedRuntime, clock: Clock, poolCeiling: number) {
    this.governable = new RuntimeGovernable(runtime, clock, poolCeiling, governor.latencyTargetMs);
    this.#registrations = [governor.register(this.governable)];
  }

  /** The admission gate of `post()`. */
  get gate(): AdmissionGate {
    return this.governable.gate;
  }

  /** Unregisters from the governor. Idempotent. */
  dispose(): void {
    for (const registration of this.#registrations.splice(0)) registration.dispose();
  }
}

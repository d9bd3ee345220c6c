/**
 * What a transport (the Redis Streams one: `redis()` from `sluice/redis`) plugs into: for every
 * worker of a flow with distributed routines it binds once, takes the items this process sends
 * to those routines (posts, and emits of in-process routines) and feeds their slots here with
 * the items it takes from other processes. The engine knows nothing else of it, so a runtime
 * without a transport pays nothing.
 */
import type { Flow } from '../core/flow.ts';
import type { JobContext } from '../core/job-context.ts';
import type { Slot } from '../core/slot.ts';
import type { HealthReport } from '../resilience/index.ts';
import type { RouteTarget } from './emit-router.ts';
import type { Jobs } from './jobs.ts';

/** A worker, as its transport sees it. */
export interface TransportWorker {
  readonly flow: Flow;
  readonly workerId: string;
  /**
   * Starts job `jobId` in this worker for an item taken from the transport and puts `data` into
   * `routineId.slot` (waiting for room when the slot is full); the job ends when everything it
   * caused in this process has.
   */
  run(routineId: string, slot: string, data: unknown, jobId: string, metadata: Record<string, unknown>): JobContext;
  /** Whether a job with this id is known here. */
  hasJob(jobId: string): boolean;
}

/** Where this process sends the items of one distributed slot. */
export interface RemoteRoute {
  /** Offers, parks and forwards; items of jobs the transport itself runs go with their hop. */
  readonly target: RouteTarget;
  /** The bounded queue in front of the transport (the slot's own size and overflow policy). */
  readonly slot: Slot<Jobs>;
  /** Throws a coded error when `data` cannot be sent (checked before a post creates its job). */
  check(data: unknown): void;
}

/** A transport bound to one worker. */
export interface TransportBinding {
  /** The route for `routineId.slot`, a slot of a distributed routine of the worker's flow. */
  route(routineId: string, slot: string): RemoteRoute;
  /** Starts taking items from the transport (after the worker is wired). */
  start(): void;
  /** Stops taking items; resolves once those in hand have been handled and sent. */
  stop(): Promise<void>;
}

/** A transport between runtimes: see docs/distributed.md. */
export interface Transport {
  /** Its name in health reports and errors (`redis`). */
  readonly name: string;
  /** @internal Binds a worker of a flow that has distributed routines. */
  bind(worker: TransportWorker): TransportBinding;
  /** Connectivity, for the runtime's health (a check named after the transport). */
  check(): HealthReport | Promise<HealthReport>;
  /** Lag and counters, for `runtime.stats().transport`. */
  stats(): TransportStats;
  /** Closes its connections (bindings are stopped first by the runtime). */
  close(): Promise<void>;
}

/** What `runtime.stats().transport` shows. */
export interface TransportStats {
  readonly name: string;
  readonly connected: boolean;
  /** Items sent to other processes (posts and hops' outputs). */
  readonly sent: number;
  /** Entries taken and handled here. */
  readonly handled: number;
  /** Handled entries whose hop was committed. */
  readonly committed: number;
  /** Entries claimed from consumers that stalled or died. */
  readonly claimed: number;
  /** Entries this process moved to the dead-letter stream. */
  readonly deadLettered: number;
  /** Items this process holds for the transport and has not sent (credit exhausted, transport down). */
  readonly unsent: number;
  /** Entries the consuming groups have not finished, by stream (as last read for the credit windows). */
  readonly backlog: Readonly<Record<string, number>>;
}

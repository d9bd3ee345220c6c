/**
 * What the runtime publishes on its bus: its lifecycle, workers, jobs, activations, overflow,
 * retries and errors. Every method checks first whether anyone listens to its topic, so the
 * hot path pays a lookup and nothing else when nobody does.
 */
import type { EventBus } from '../bus/index.ts';
import type { SluiceError } from '../core/errors.ts';
import type { JobContext } from '../core/job-context.ts';
import type { RecordingTap } from './recording-tap.ts';

/**
 * The topics the runtime publishes.
 *
 * @category Runtime
 */
export const RuntimeTopic = {
  RunStarted: 'run.started',
  RunStopped: 'run.stopped',
  WorkerStarted: 'worker.started',
  WorkerStopped: 'worker.stopped',
  /** A worker was checkpointed: its saved job ids (`jobIds`); posts after this event are not in it. */
  WorkerCheckpointed: 'worker.checkpointed',
  /** A worker was started from a checkpoint. */
  WorkerResumed: 'worker.resumed',
  JobStarted: 'job.started',
  JobCompleted: 'job.completed',
  JobFailed: 'job.failed',
  JobCancelled: 'job.cancelled',
  ActivationStarted: 'activation.started',
  ActivationFinished: 'activation.finished',
  SlotOverflow: 'slot.overflow',
  ActivationRetry: 'activation.retry',
  ActivationError: 'activation.error',
  /** A pool thread died of an error outside any running batch (it was replaced). */
  PoolThreadError: 'pool.thread_error',
} as const;

/**
 * One of the values of {@link RuntimeTopic}.
 *
 * @category Runtime
 */
export type RuntimeTopicName = (typeof RuntimeTopic)[keyof typeof RuntimeTopic];

/**
 * Topics the durable log records by default: everything but the per-activation stream (which
 * a subscriber can still watch live, and which `record.topics` can add).
 */
export const kDefaultRecordedTopics: readonly string[] = [
  'run.*',
  'worker.*',
  'job.completed',
  'job.failed',
  'job.cancelled',
  'slot.overflow',
  'bus.overflow',
  'pool.thread_error',
  'activation.retry',
  'activation.error',
  'breaker.*',
  'runtime.*',
  'drg.**',
];

/** The payload of `activation.finished`. */
export interface ActivationFinishedPayload {
  workerId: string;
  routineId: string;
  status: string;
  durationMs: number;
  items: number;
  attempt: number;
  jobIds: readonly string[];
  error?: { code: string; message: string };
}

/** What the engine reports; implemented over a bus by {@link RuntimeEvents}. */
export interface EngineEvents {
  /** True when someone listens to `topic` (callers skip building payloads otherwise). */
  listens(topic: string): boolean;
  activationStarted(workerId: string, routineId: string, items: number, attempt: number, jobs: () => readonly string[]): void;
  activationFinished(payload: () => ActivationFinishedPayload): void;
  jobStarted(job: JobContext): void;
  overflow(workerId: string, routineId: string, slot: string, action: 'rejected' | 'dropped' | 'blocked', source: string | undefined): void;
  retry(workerId: string, routineId: string, attempt: number, delayMs: number, jobs: () => readonly string[]): void;
  error(workerId: string, routineId: string, strategy: string, error: SluiceError, jobs: () => readonly string[]): void;
}

/** Publishes runtime events on a bus under one run id. */
export class RuntimeEvents implements EngineEvents {
  readonly #bus: EventBus;
  readonly #runId: string;
  /** `hasSubscribers` per topic, valid while the bus's subscription version is `#version`. */
  readonly #listening = new Map<string, boolean>();
  #version = -1;
  /** The recording's tap, which packs completed jobs when it alone takes `job.completed`. */
  #tap: RecordingTap | undefined;
  /** Whether completed jobs go to `#tap` packed (valid while the subscription version is `#version`). */
  #packing: boolean | undefined;

  constructor(bus: EventBus, runId: string) {
    this.#bus = bus;
    this.#runId = runId;
  }

  /** True when someone listens to `topic` (cached until subscriptions change). */
  listens(topic: string): boolean {
    const bus = this.#bus;
    if (bus.subscriptionVersion !== this.#version) this.#resync();
    let listening = this.#listening.get(topic);
    if (listening === undefined) {
      listening = !bus.isClosed && bus.hasSubscribers(topic);
      this.#listening.set(topic, listening);
    }
    return listening;
  }

  /**
   * Hands completed jobs to `tap` (a recording's) packed, whenever it alone takes
   * `job.completed`: they are recorded, with their own seqs, without a bus event each.
   */
  packCompletedJobs(tap: RecordingTap | undefined, jobPrefix: string): void {
    tap?.numberJobsAfter(jobPrefix);
    this.#tap = tap;
    this.#packing = undefined;
  }

  #resync(): void {
    this.#version = this.#bus.subscriptionVersion;
    this.#listening.clear();
    this.#packing = undefined;
  }

  /** True when a completed job goes to the recording's tap packed rather than on the bus. */
  #packs(): boolean {
    const tap = this.#tap;
    if (tap === undefined || !tap.isOpen || this.#bus.isClosed) return false;
    if (this.#bus.subscriptionVersion !== this.#version) this.#resync();
    if (this.#packing === undefined) {
      this.#packing = this.listens(RuntimeTopic.JobCompleted) && !this.#bus.hasSubscribers(RuntimeTopic.JobCompleted, { besides: tap });
    }
    return this.#packing;
  }

  /** Publishes `make()` on `topic` when someone listens. */
  publish(topic: string, make: () => unknown): void {
    if (!this.listens(topic) || this.#bus.isClosed) return;
    this.#bus.publish(topic, make(), { runId: this.#runId });
  }

  activationStarted(workerId: string, routineId: string, items: number, attempt: number, jobs: () => readonly string[]): void {
    this.publish(RuntimeTopic.ActivationStarted, () => ({ workerId, routineId, items, attempt, jobIds: jobs() }));
  }

  activationFinished(payload: () => ActivationFinishedPayload): void {
    this.publish(RuntimeTopic.ActivationFinished, payload);
  }

  jobStarted(job: JobContext): void {
    this.publish(RuntimeTopic.JobStarted, () => ({ jobId: job.jobId, flowId: job.flowId, workerId: job.workerId }));
  }

  /** Publishes the end of a job on the topic of its status. */
  jobEnded(job: JobContext): void {
    const topic =
      job.status === 'completed' ? RuntimeTopic.JobCompleted : job.status === 'failed' ? RuntimeTopic.JobFailed : RuntimeTopic.JobCancelled;
    if (topic === RuntimeTopic.JobCompleted && job.error === undefined && job.errors.length === 0 && this.#packs()) {
      (this.#tap as RecordingTap).addCompletedJob(this.#bus.reserveSeq(this.#runId), job);
      return;
    }
    this.publish(topic, () => {
      const error = job.error;
      return {
        jobId: job.jobId,
        flowId: job.flowId,
        workerId: job.workerId,
        status: job.status,
        durationMs: (job.finishedAt ?? job.createdAt) - job.createdAt,
        ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }),
        ...(job.errors.length === 0 ? {} : { errors: job.errors.map((e) => ({ ...e })) }),
      };
    });
  }

  overflow(
    workerId: string,
    routineId: string,
    slot: string,
    action: 'rejected' | 'dropped' | 'blocked',
    source: string | undefined,
  ): void {
    this.publish(RuntimeTopic.SlotOverflow, () => ({ workerId, routineId, slot, action, ...(source === undefined ? {} : { source }) }));
  }

  retry(workerId: string, routineId: string, attempt: number, delayMs: number, jobs: () => readonly string[]): void {
    this.publish(RuntimeTopic.ActivationRetry, () => ({ workerId, routineId, attempt, delayMs, jobIds: jobs() }));
  }

  error(workerId: string, routineId: string, strategy: string, error: SluiceError, jobs: () => readonly string[]): void {
    this.publish(RuntimeTopic.ActivationError, () => ({
      workerId,
      routineId,
      strategy,
      code: error.code,
      message: error.message,
      jobIds: jobs(),
    }));
  }
}

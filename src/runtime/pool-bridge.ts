/**
 * The runtime's side of pool activations: turns an activation into a clonable payload, sends it
 * through the thread pool, and applies what the logic did in the thread — state patches, job
 * data writes and emits, in the order they happened — through the same paths inline logic uses
 * (`emitFrom` for routing, overflow rules and job accounting; the worker's state merge).
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { Flow, RoutineEntry } from '../core/flow.ts';
import type { JobContext } from '../core/job-context.ts';
import type { SlotItems } from '../core/routine.ts';
import { kMergeState, type WorkerState } from '../core/worker-state.ts';
import { OpKind, deserializeError, findUnclonable, type ActivationPayload, type JobPayload, type ResolvedThreadPoolOptions, type ThreadPool } from '../pool/index.ts';
import type { Activation, Item } from './activation-scope.ts';
import { jobList } from './jobs.ts';
import { PlacementProbe } from './placement.ts';

/** What the bridge needs of a runner. */
export interface PoolRunner {
  readonly id: string;
  readonly entry: RoutineEntry;
  emitFrom(activation: Activation, event: string, data: unknown, options: { job: JobContext } | undefined): void;
}

/** Connects workers' runners to the runtime's thread pool. */
export class PoolBridge {
  readonly #pool: () => ThreadPool;
  readonly #options: ResolvedThreadPoolOptions;

  constructor(pool: () => ThreadPool, options: ResolvedThreadPoolOptions) {
    this.#pool = pool;
    this.#options = options;
  }

  /** The placement state of a routine of `flow`. */
  placementFor(flow: Flow, entry: RoutineEntry): PlacementProbe {
    return new PlacementProbe(entry.placement, { samples: this.#options.autoSamples, thresholdUs: this.#options.autoThresholdUs, poolable: flow.source !== undefined });
  }

  /** Activations a pool routine of one worker may have in flight. */
  window(): number {
    return this.#pool().window;
  }

  /**
   * Runs `activation` on a pool thread and applies its effects; resolves with the error the
   * activation failed with (logic error, crash, timeout, non-clonable data), or undefined.
   */
  async run(flow: Flow, worker: WorkerState, runner: PoolRunner, activation: Activation, slotItems: SlotItems): Promise<unknown> {
    const source = flow.source;
    if (source === undefined) {
      return new SluiceError(ErrorCode.PoolUnavailable, `Routine "${runner.id}" of flow "${flow.id}" asks for the pool, but the flow was not built by defineFlow(), so threads cannot rebuild it`, {
        details: { flowId: flow.id, routineId: runner.id },
      });
    }
    const jobs = jobList(activation.jobs);
    for (const slot in slotItems) {
      const bad = findUnclonable(slotItems[slot], 'items');
      if (bad !== undefined) {
        return new SluiceError(ErrorCode.NotClonable, `Routine "${runner.id}" cannot run on the pool: slot "${slot}" holds a value that cannot cross threads (${bad.path} is a ${bad.type})`, {
          details: { routineId: runner.id, slot, where: bad.path, type: bad.type },
        });
      }
    }
    const payload: ActivationPayload = {
      slots: slotItems,
      jobs: jobs.map(toPayload),
      state: { ...worker.liveState(runner.id) },
      message: activation.message,
      attempt: activation.attempt,
      workerId: worker.workerId,
      ...(jobs.length > 1 ? { itemJobs: itemJobs(activation, jobs, Object.keys(slotItems)) } : {}),
    };
    const pool = this.#pool();
    const outcome = await pool.submit(
      {
        key: runner,
        moduleUrl: source.moduleUrl,
        params: source.params,
        flowKey: pool.flowKey(flow, source.moduleUrl),
        flowId: flow.id,
        routineId: runner.id,
        timeoutMs: runner.entry.timeoutMs > 0 ? runner.entry.timeoutMs : this.#options.activationTimeoutMs,
      },
      payload,
    );
    for (const op of outcome.ops) {
      try {
        if (op[0] === OpKind.Emit) runner.emitFrom(activation, op[1], op[2], op[3] >= 0 ? { job: jobs[op[3]] as JobContext } : undefined);
        else if (op[0] === OpKind.State) worker[kMergeState](runner.id, op[1]);
        else Object.assign((jobs[op[1]] as JobContext).data, op[2]);
      } catch (error) {
        // As inline: an emit refused on the main thread (a full slot) fails the activation there.
        return error;
      }
    }
    return outcome.error === undefined ? undefined : deserializeError(outcome.error);
  }
}

function toPayload(job: JobContext): JobPayload {
  return { jobId: job.jobId, flowId: job.flowId, workerId: job.workerId, metadata: job.metadata, data: job.data };
}

function itemJobs(activation: Activation, jobs: readonly JobContext[], names: readonly string[]): Record<string, number[][]> {
  const out: Record<string, number[][]> = {};
  names.forEach((name, i) => {
    out[name] = (activation.bySlot[i] as Item[]).map((item) => jobList(item.jobs).map((job) => jobs.indexOf(job)));
  });
  return out;
}

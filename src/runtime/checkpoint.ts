/**
 * A worker's checkpoint: what it saves (routine states, every item waiting in its slots — queued,
 * parked for room, or waiting to retry — with their jobs, and those jobs' metadata and data), the
 * check that a flow still fits a checkpoint, and putting it all back into a new worker. The
 * caller holds the worker (paused, no activation running) while it is captured, so the cut is
 * consistent: every unfinished job's pending work is in the checkpoint. `WorkerCheckpoints` is the
 * runtime's side: holding the worker, the store, close-with-checkpoint, resume.
 */
import type { Flow } from '../core/flow.ts';
import type { WorkerState } from '../core/worker-state.ts';
import { assertName } from '../core/validate.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { JobContext } from '../core/job-context.ts';
import { kMergeState } from '../core/worker-state.ts';
import { CheckpointStore, kCheckpointFormat, type CheckpointContents, type CheckpointInfo } from '../store/index.ts';
import type { PostOptions } from './poster.ts';
import { RuntimeTopic, type RuntimeEvents } from './runtime-events.ts';
import type { Item } from './activation-scope.ts';
import { jobList, type Jobs } from './jobs.ts';
import type { WorkerEngine } from './worker-engine.ts';

type Signature = CheckpointContents['signature'];

/** The shape a checkpoint depends on: each routine's class, slots and events. */
export function signatureOf(flow: Flow): Signature {
  return flow.routines.map((entry) => ({
    id: entry.id,
    kind: entry.routine.kind,
    slots: entry.routine.slots.map((s) => s.name),
    events: entry.routine.events.map((e) => e.name),
  }));
}

/** Throws `SLUICE_ERR_CHECKPOINT_INCOMPATIBLE` naming every difference between `saved` and `flow`. */
export function assertFits(saved: CheckpointContents, checkpointId: number, flow: Flow): void {
  const now = new Map(signatureOf(flow).map((r) => [r.id, r]));
  const differences: string[] = [];
  const list = (names: readonly string[]) => `[${names.join(', ')}]`;
  for (const before of saved.signature) {
    const after = now.get(before.id);
    if (after === undefined) {
      differences.push(`routine "${before.id}" was removed`);
      continue;
    }
    now.delete(before.id);
    if (after.kind !== before.kind) differences.push(`routine "${before.id}" is a ${after.kind} now, was a ${before.kind}`);
    if (list(after.slots) !== list(before.slots)) {
      differences.push(`routine "${before.id}" has slots ${list(after.slots)} now, had ${list(before.slots)}`);
    }
    if (list(after.events) !== list(before.events)) {
      differences.push(`routine "${before.id}" has events ${list(after.events)} now, had ${list(before.events)}`);
    }
  }
  for (const id of now.keys()) differences.push(`routine "${id}" was added`);
  if (differences.length > 0) {
    throw new SluiceError(
      ErrorCode.CheckpointIncompatible,
      `Checkpoint ${checkpointId} of flow "${saved.flowId}" does not fit the flow as registered now: ${differences.join('; ')}`,
      { details: { checkpointId, differences } },
    );
  }
}

/** Captures a held worker (see the module comment). */
export function captureWorker(engine: WorkerEngine): CheckpointContents {
  const jobs = new Map<string, JobContext>();
  const slots: Array<{ routineId: string; slot: string; items: Array<{ data: unknown; jobIds: string[] }> }> = [];
  const note = (item: Item, into: Array<{ data: unknown; jobIds: string[] }>): void => {
    const live = jobList(item.jobs as Jobs).filter((job) => !job.isTerminal);
    if (live.length === 0) return;
    for (const job of live) jobs.set(job.jobId, job);
    into.push({ data: item.data, jobIds: live.map((job) => job.jobId) });
  };
  for (const runner of engine.runners.values()) {
    const waiting = runner.waitingActivations();
    runner.slots.forEach((slot, s) => {
      const items: Array<{ data: unknown; jobIds: string[] }> = [];
      // Retries were taken from the slot before what is queued now: they go first.
      for (const activation of waiting) for (const item of activation.bySlot[s] ?? []) note(item, items);
      for (let i = 0; i < slot.length; i++) note(slot.peek(i) as Item, items);
      for (const item of slot.parkedItems()) note(item as Item, items);
      slots.push({ routineId: runner.id, slot: slot.spec.name, items });
    });
  }
  return {
    format: kCheckpointFormat,
    workerId: engine.worker.workerId,
    flowId: engine.flow.id,
    signature: signatureOf(engine.flow),
    states: engine.worker.routineStates,
    slots,
    jobs: [...jobs.values()].map((job) => ({
      jobId: job.jobId,
      metadata: { ...job.metadata },
      data: { ...job.data },
      createdAt: job.createdAt,
    })),
  };
}

/**
 * Puts `contents` into a new, empty worker: its routine states, its jobs (made by `newJob` with
 * their ids and metadata, their data restored) and their items, back in the slots they waited
 * in (beyond the slot's bound if the checkpoint held parked items too).
 */
export function restoreWorker(
  engine: WorkerEngine,
  contents: CheckpointContents,
  newJob: (jobId: string, metadata: Record<string, unknown>) => JobContext,
): void {
  for (const [routineId, state] of Object.entries(contents.states)) engine.worker[kMergeState](routineId, state);
  const jobs = new Map<string, JobContext>();
  for (const saved of contents.jobs) {
    const job = newJob(saved.jobId, saved.metadata);
    Object.assign(job.data, saved.data);
    jobs.set(saved.jobId, job);
  }
  for (const saved of contents.slots) {
    const runner = engine.runner(saved.routineId);
    const slot = runner.slot(saved.slot);
    if (slot === undefined) continue;
    for (const item of saved.items) {
      const list = item.jobIds.map((id) => jobs.get(id) as JobContext);
      runner.restore(slot, { data: item.data, jobs: list.length === 1 ? (list[0] as JobContext) : list });
    }
  }
}

/** What the runtime gives its checkpoints. */
export interface CheckpointHost {
  readonly name: string;
  /** The SQLite file checkpoints go to, if any. */
  readonly storePath: string | undefined;
  engine(workerId: string): WorkerEngine;
  workers(): Iterable<WorkerEngine>;
  readonly events: RuntimeEvents;
  activeJobs(): readonly JobContext[];
  exec(flowId: string, workerId: string): WorkerState;
  newJob(engine: WorkerEngine, options: PostOptions): JobContext;
}

/** The runtime's checkpoints: save a held worker, save all at close, resume into a new worker. */
export class WorkerCheckpoints {
  readonly #host: CheckpointHost;
  #store: CheckpointStore | undefined;

  constructor(host: CheckpointHost) {
    this.#host = host;
  }

  /** The store (`checkpoints`, else the recording's SQLite file), or a coded error when there is none. */
  store(): CheckpointStore {
    if (this.#store !== undefined) return this.#store;
    const path = this.#host.storePath;
    if (path === undefined) {
      throw new SluiceError(
        ErrorCode.NotRecorded,
        `Runtime "${this.#host.name}" has no checkpoint store: pass \`checkpoints\` (a SQLite file) or record to a SQLite file ` +
          '(`record.log`)',
      );
    }
    this.#store = new CheckpointStore(path);
    return this.#store;
  }

  /**
   * Saves worker `workerId`: holds it (no activation starts), waits until none runs, captures and
   * saves it, and lets it go on — or, with `stop`, keeps it held (close with checkpoint then
   * cancels its jobs).
   */
  async save(workerId: string, options: { stop?: boolean } = {}): Promise<CheckpointInfo> {
    const engine = this.#host.engine(workerId);
    const store = this.store();
    if (engine.worker.status === 'stopped') {
      throw new SluiceError(ErrorCode.WorkerNotRunning, `Worker "${workerId}" is stopped; there is nothing to checkpoint`, {
        details: { workerId },
      });
    }
    engine.pause();
    try {
      await engine.quiet();
      const contents = captureWorker(engine);
      const info = store.save(contents);
      this.#host.events.publish(RuntimeTopic.WorkerCheckpointed, () => ({
        workerId,
        flowId: engine.flow.id,
        checkpointId: info.checkpointId,
        items: info.items,
        jobs: info.jobs,
        jobIds: contents.jobs.map((job) => job.jobId),
      }));
      return info;
    } finally {
      if (options.stop !== true) engine.resume();
    }
  }

  /** Saves every running worker and cancels its unfinished jobs as checkpointed (close with checkpoint). */
  async saveAll(): Promise<void> {
    for (const engine of [...this.#host.workers()]) {
      if (engine.worker.status !== 'running') continue;
      const info = await this.save(engine.worker.workerId, { stop: true });
      for (const job of this.#host.activeJobs()) {
        if (job.workerId === engine.worker.workerId) job.cancel(`checkpointed (checkpoint ${info.checkpointId}); resume to finish it`);
      }
    }
  }

  /** A new worker of `flow` holding what checkpoint `which` (a worker id or 'latest') saved. */
  resume(flow: Flow, which: string, workerId: string | undefined): WorkerState {
    assertName('exec resume', which);
    const { info, contents } = this.store().load(flow.id, which);
    assertFits(contents, info.checkpointId, flow);
    const worker = this.#host.exec(flow.id, workerId ?? contents.workerId);
    const engine = this.#host.engine(worker.workerId);
    restoreWorker(engine, contents, (jobId, metadata) => this.#host.newJob(engine, { jobId, metadata }));
    this.#host.events.publish(RuntimeTopic.WorkerResumed, () => ({
      workerId: worker.workerId,
      flowId: flow.id,
      checkpointId: info.checkpointId,
      items: info.items,
      jobs: info.jobs,
    }));
    return worker;
  }
}

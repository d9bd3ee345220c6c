/** Helpers of the pool suites: run the probe flow on a runtime and count items in and out. */
import { Runtime, type JobContext, type RuntimeOptions, type WorkerState } from '../../src/index.ts';
import probe, { type ProbeParams } from '../fixtures/flows/pool-probe.ts';

let counter = 0;

/** What one probe run produced. */
export interface ProbeRun {
  runtime: Runtime;
  worker: WorkerState;
  jobs: JobContext[];
  drained: boolean;
  /** Items the sink received. */
  got: Array<Record<string, unknown> | number>;
  byStatus: Record<string, number>;
}

/** Registers the probe flow with `params`, posts `items` and waits for every job to end. */
export async function runProbe(
  params: Partial<ProbeParams>,
  items: readonly unknown[],
  options: RuntimeOptions = {},
  keepOpen = false,
): Promise<ProbeRun> {
  const runtime = new Runtime(options);
  const id = `${params.id ?? 'probe'}-${++counter}`;
  runtime.register(probe, { ...params, id });
  const worker = runtime.exec(id);
  const jobs = items.map((item, i) => runtime.post(id, 'source', 'in', item, { workerId: worker.workerId, metadata: { i } })[1]);
  const drained = await runtime.waitUntilAllJobsFinished({ timeout: 20_000 });
  const got = (worker.getRoutineState('sink')?.got as ProbeRun['got'] | undefined) ?? [];
  const byStatus: Record<string, number> = {};
  for (const job of jobs) byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
  if (!keepOpen) await runtime.close({ timeout: 5_000 });
  return { runtime, worker, jobs, drained, got, byStatus };
}

/** 0..n-1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

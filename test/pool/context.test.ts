import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.ts';
import { range, runProbe } from './helpers.ts';

describe('pool logic sees the same context API as inline', () => {
  it('currentJob(), currentWorker(), currentRoutine(), ctx and emit() match the inline run', async () => {
    const inline = await runProbe({ placement: 'inline' }, range(20));
    const pooled = await runProbe({ placement: 'pool' }, range(20), { pool: { threads: 2, dispatchBatch: 4 } });
    for (const run of [inline, pooled]) {
      expect(run.drained).toBe(true);
      expect(run.byStatus).toEqual({ completed: 20 });
      expect(run.got).toHaveLength(20);
    }
    const strip = (run: typeof inline) =>
      (run.got as Array<Record<string, unknown>>)
        .map(
          ({ isMainThread: _m, threadId: _t, workerId, flowId, jobId, ...rest }): Record<string, unknown> => ({
            ...rest,
            workerOk: workerId === run.worker.workerId,
            flowOk: flowId === run.worker.flowId,
            jobOk: typeof jobId === 'string',
          }),
        )
        .sort((a, b) => (a.value as number) - (b.value as number));
    expect(strip(pooled)).toEqual(strip(inline));
    expect((pooled.got as Array<{ isMainThread: boolean }>).every((g) => g.isMainThread === false)).toBe(true);
    expect((inline.got as Array<{ isMainThread: boolean }>).every((g) => g.isMainThread === true)).toBe(true);
    const first = strip(pooled)[0] as Record<string, unknown>;
    expect(first).toMatchObject({
      value: 0,
      jobMatchesCtx: true,
      routine: 'work',
      metadata: { i: 0 },
      attempt: 1,
      signalAborted: false,
      workerOk: true,
      flowOk: true,
      jobOk: true,
    });
    // Each emitted item belongs to its own job; job data written in the thread came back.
    for (const job of pooled.jobs) {
      expect(job.data.seenBy).toBe('work');
      expect((job.data.out as { jobId: string }).jobId).toBe(job.jobId);
    }
  });

  it('routes emits from threads to the sink and completes every job (items in = items out)', async () => {
    const run = await runProbe({ placement: 'pool' }, range(300), { pool: { threads: 2, dispatchBatch: 16 } });
    expect(run.byStatus).toEqual({ completed: 300 });
    expect((run.got as Array<{ value: number }>).map((g) => g.value).sort((a, b) => a - b)).toEqual(range(300));
    expect(run.worker.counters.jobsProcessed).toBe(300);
    const stats = run.runtime.stats().pool;
    expect(stats?.activationsSent).toBe(300);
    expect(stats?.batchesSent).toBeLessThan(300);
  });

  it('merges state patches in order and delivers emits in order from one thread', async () => {
    const run = await runProbe({ placement: 'pool', mode: 'state' }, range(60), { pool: { threads: 1, dispatchBatch: 8 } });
    expect(run.byStatus).toEqual({ completed: 60 });
    // One thread: batches run one after another and their effects are applied in order.
    expect((run.got as Array<{ value: number }>).map((g) => g.value)).toEqual(range(60));
    const state = run.worker.getRoutineState('work') as { last: number; count: number; seen: number[] };
    expect(state.last).toBe(59);
    // The second patch of each activation (count) is applied after the first (seen).
    expect(state.count).toBe(state.seen.length);
    expect(state.seen.at(-1)).toBe(59);
  });

  it('transfers typed arrays emitted by pool logic', async () => {
    const run = await runProbe({ placement: 'pool', mode: 'typed' }, range(10), { pool: { threads: 1, dispatchBatch: 4 } });
    expect(run.byStatus).toEqual({ completed: 10 });
    for (const g of run.got as Array<{ value: number; array: Float64Array }>) {
      expect(g.array).toBeInstanceOf(Float64Array);
      expect([...g.array]).toEqual([g.value, g.value, g.value, g.value]);
    }
  });

  it('a throw in pool logic fails only its job with the same code as inline', async () => {
    const run = await runProbe({ placement: 'pool', mode: 'throw', poison: [3] }, range(10), { pool: { threads: 2, dispatchBatch: 1 } });
    expect(run.byStatus).toEqual({ completed: 9, failed: 1 });
    const failed = run.jobs[3];
    expect(failed?.error?.code).toBe(ErrorCode.RoutineFailed);
    expect(failed?.error?.message).toContain('bad item 3');
    expect(run.got).toHaveLength(9);
  });

  it('an emit on an undeclared event in a thread fails the job with SLUICE_ERR_UNKNOWN_EVENT', async () => {
    const run = await runProbe({ placement: 'pool', mode: 'undeclared', poison: [1] }, range(4), {
      pool: { threads: 1, dispatchBatch: 1 },
    });
    expect(run.byStatus).toEqual({ completed: 3, failed: 1 });
    expect(run.jobs[1]?.error?.code).toBe(ErrorCode.UnknownEvent);
    expect(run.jobs[1]?.error?.message).toContain('"nope"');
  });
});

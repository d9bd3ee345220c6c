import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Routine, Runtime, type SlotItems } from '../../src/index.ts';
import { range, runProbe } from './helpers.ts';
import probe from '../fixtures/flows/pool-probe.ts';

const N = 24;

describe('crash safety: nothing is lost (items in = items out)', () => {
  it('process.exit in a thread: the batch goes back through RETRY and runs on a fresh thread', async () => {
    const run = await runProbe({ mode: 'exit', poison: [5], retry: true }, range(N), { pool: { threads: 2, dispatchBatch: 4 } });
    expect(run.drained).toBe(true);
    expect(run.byStatus).toEqual({ completed: N });
    expect((run.got as Array<{ value: number }>).map((g) => g.value).sort((a, b) => a - b)).toEqual(range(N));
    expect(run.jobs[5]?.traceLog.some((t) => t.status === 'retrying' && t.error?.code === ErrorCode.WorkerCrashed)).toBe(true);
  });

  it('with an extra batch queued in each thread (maxThreads = threads), a crash under STOP fails only the crashed activation', async () => {
    // The batch waiting behind the crashed one in the same thread had not started: it is sent again.
    const run = await runProbe({ mode: 'exit', poison: [2] }, range(N), { pool: { threads: 2, maxThreads: 2, dispatchBatch: 1 } });
    expect(run.byStatus).toEqual({ completed: N - 1, failed: 1 });
    expect(run.jobs[2]?.error?.code).toBe(ErrorCode.WorkerCrashed);
    expect(run.got).toHaveLength(N - 1);
  });

  it('process.exit under STOP fails the crashed activation with SLUICE_ERR_WORKER_CRASHED, the rest complete', async () => {
    const run = await runProbe({ mode: 'exit', poison: [2] }, range(N), { pool: { threads: 2, dispatchBatch: 1 } });
    expect(run.byStatus).toEqual({ completed: N - 1, failed: 1 });
    expect(run.jobs[2]?.error?.code).toBe(ErrorCode.WorkerCrashed);
    expect(run.jobs[2]?.error?.message).toContain('routine "work"');
    expect(run.got).toHaveLength(N - 1);
  });

  it('a hang past the routine timeout: the thread is replaced and RETRY re-runs the items', async () => {
    const run = await runProbe({ mode: 'hang', poison: [7], retry: true, timeoutMs: 250 }, range(N), {
      pool: { threads: 2, dispatchBatch: 2 },
    });
    expect(run.byStatus).toEqual({ completed: N });
    expect(run.got).toHaveLength(N);
    expect(run.jobs[7]?.traceLog.some((t) => t.status === 'retrying' && t.error?.code === ErrorCode.ActivationTimeout)).toBe(true);
  });

  it('a hang without RETRY fails with SLUICE_ERR_ACTIVATION_TIMEOUT, never hangs the job', async () => {
    const run = await runProbe({ mode: 'hang', poison: [0], timeoutMs: 200 }, range(3), { pool: { threads: 1, dispatchBatch: 1 } });
    expect(run.byStatus).toEqual({ completed: 2, failed: 1 });
    expect(run.jobs[0]?.error?.code).toBe(ErrorCode.ActivationTimeout);
  });

  it('in an injected Piscina (no shared start board) a hang past the timeout still fails with SLUICE_ERR_ACTIVATION_TIMEOUT', async () => {
    const { Piscina } = await import('piscina');
    const piscina = new Piscina({ maxThreads: 1, minThreads: 1 });
    try {
      const run = await runProbe({ mode: 'hang', poison: [1], timeoutMs: 200 }, range(3), { pool: { piscina, dispatchBatch: 1 } });
      expect(run.byStatus).toEqual({ completed: 2, failed: 1 });
      expect(run.jobs[1]?.error?.code).toBe(ErrorCode.ActivationTimeout);
    } finally {
      await piscina.destroy();
    }
  });

  it('death by resourceLimits: the activations fail into the handler and RETRY completes them', async () => {
    const run = await runProbe({ mode: 'oom', poison: [4], retry: true }, range(12), {
      pool: { threads: 2, dispatchBatch: 4, resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } },
    });
    expect(run.byStatus).toEqual({ completed: 12 });
    expect(run.got).toHaveLength(12);
    expect(run.jobs[4]?.traceLog.some((t) => t.error?.code === ErrorCode.WorkerCrashed)).toBe(true);
  });

  it('the pool replaces dead threads', async () => {
    const run = await runProbe({ mode: 'exit', poison: [1, 2], retry: true }, range(8), { pool: { threads: 2, dispatchBatch: 1 } }, true);
    expect(run.byStatus).toEqual({ completed: 8 });
    await run.runtime.pool.warmUp({ timeoutMs: 5_000 });
    expect(run.runtime.pool.stats().threadsAlive).toBeGreaterThanOrEqual(2);
    await run.runtime.close();
  });
});

describe('non-clonable data is a coded error, never a hang', () => {
  it('an emitted function fails the job naming the routine, the event and the type', async () => {
    const run = await runProbe({ mode: 'unclonable', poison: [1] }, range(4), { pool: { threads: 1, dispatchBatch: 4 } });
    expect(run.byStatus).toEqual({ completed: 3, failed: 1 });
    const error = run.jobs[1]?.error;
    expect(error?.code).toBe(ErrorCode.NotClonable);
    expect(error?.message).toContain('"work"');
    expect(error?.message).toContain('event "out"');
    expect(error?.message).toContain('function');
  });

  it('a non-clonable item sent to a pool routine fails naming the routine, the slot and the type', async () => {
    const run = await runProbe({}, [1, { nested: Symbol('x') }, 3], { pool: { threads: 1, dispatchBatch: 1 } });
    expect(run.byStatus).toEqual({ completed: 2, failed: 1 });
    const error = run.jobs[1]?.error;
    expect(error?.code).toBe(ErrorCode.NotClonable);
    expect(error?.message).toContain('"work"');
    expect(error?.message).toContain('slot "in"');
    expect(error?.message).toContain('symbol');
  });

  it('a non-clonable item in a batch fails only its own activation; the rest of the batch is sent again and completes', async () => {
    // No check before sending: postMessage refuses the batch, the bridge finds the culprit.
    const items = [0, 1, { callback: () => 2 }, 3, 4, 5, new WeakMap(), 7];
    const run = await runProbe({}, items, { pool: { threads: 1, dispatchBatch: 8 } });
    expect(run.drained).toBe(true);
    expect(run.byStatus).toEqual({ completed: 6, failed: 2 });
    const fn = run.jobs[2]?.error;
    expect(fn?.code).toBe(ErrorCode.NotClonable);
    expect(fn?.message).toContain('"work"');
    expect(fn?.message).toContain('slot "in"');
    expect(fn?.message).toContain('function callback');
    expect(fn?.details).toMatchObject({ routineId: 'work', slot: 'in', type: 'function callback' });
    expect(run.jobs[6]?.error?.details).toMatchObject({ routineId: 'work', slot: 'in', type: 'WeakMap' });
    expect(run.got.map((g) => (g as { value: number }).value).sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 5, 7]);
  });

  it('a non-clonable value in job metadata fails naming the routine and the job', async () => {
    const runtime = new Runtime({ pool: { threads: 1, dispatchBatch: 4 } });
    runtime.register(probe, { id: 'meta' });
    const worker = runtime.exec('meta');
    const [, bad] = runtime.post('meta', 'source', 'in', 1, { workerId: worker.workerId, metadata: { onDone: Symbol('x') } });
    const [, good] = runtime.post('meta', 'source', 'in', 2, { workerId: worker.workerId });
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 20_000 })).toBe(true);
    expect(good.status).toBe('completed');
    expect(bad.status).toBe('failed');
    expect(bad.error?.code).toBe(ErrorCode.NotClonable);
    expect(bad.error?.message).toContain('"work"');
    expect(bad.error?.message).toContain(`job "${bad.jobId}" metadata`);
    expect(bad.error?.message).toContain('symbol');
    await runtime.close();
  });
});

describe('placement', () => {
  class Pass extends Routine {
    constructor() {
      super();
      this.addSlot('in');
    }
    logic(_items: SlotItems): void {}
  }

  it('exec of a flow not built by defineFlow with a pool routine fails naming the routine', () => {
    const runtime = new Runtime();
    runtime.register(new Flow('adhoc').addRoutine(new Pass(), 'heavy', { placement: 'pool' }));
    let error: unknown;
    try {
      runtime.exec('adhoc');
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).toBe(ErrorCode.PoolUnavailable);
    expect((error as Error).message).toContain('"heavy"');
    runtime.destroy();
  });

  it('auto keeps cheap logic inline and moves costly logic to the pool, shown in stats', async () => {
    // Thresholds far from both costs: wall-clock samples on a loaded 2-core machine are noisy.
    const cheap = await runProbe({ placement: 'auto' }, range(30), { pool: { threads: 1, autoSamples: 8, autoThresholdUs: 2_000 } });
    expect(cheap.byStatus).toEqual({ completed: 30 });
    const cheapPlacement = cheap.runtime.stats().placements.find((p) => p.routineId === 'work');
    expect(cheapPlacement).toMatchObject({ requested: 'auto', current: 'inline', decided: true, samples: 8 });
    expect((cheap.got as Array<{ isMainThread: boolean }>).every((g) => g.isMainThread)).toBe(true);

    const costly = await runProbe({ placement: 'auto', mode: 'concurrency', spinMs: 6, counters: new SharedArrayBuffer(12) }, range(30), {
      pool: { threads: 1, autoSamples: 8, autoThresholdUs: 2_000 },
    });
    expect(costly.byStatus).toEqual({ completed: 30 });
    const placement = costly.runtime.stats().placements.find((p) => p.routineId === 'work');
    expect(placement).toMatchObject({ requested: 'auto', current: 'pool', decided: true, samples: 8 });
    expect(placement?.costUs).toBeGreaterThan(2_000);
    expect(costly.runtime.stats().pool?.activationsSent).toBe(22);
  });
});

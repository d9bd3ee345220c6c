/**
 * Seed scenarios from Routilux's Runtime guide, through the public API: `exec()` once, then
 * `post()` many times into the same worker; a plain-JavaScript context helper; a strict lifecycle.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Routine, Runtime, type ActivationContext, type SlotItems } from '../../src/index.ts';
import { expectRejectCode } from '../fixtures/helpers.ts';

/** The guide's Processing Pipeline: a routine that counts what it processed and keeps the last value. */
class Processor extends Routine {
  constructor() {
    super();
    this.addSlot('input');
    this.addEvent('output', ['value']);
  }

  logic({ input }: SlotItems, ctx: ActivationContext): void {
    for (const value of input as number[]) {
      const processed = ((ctx.state.processed_count as number | undefined) ?? 0) + 1;
      ctx.setState({ processed_count: processed, last_value: value });
      ctx.emit('output', value * 2);
    }
  }
}

describe('exec() then post() reach the same worker (Routilux Processing Pipeline)', () => {
  it('the WorkerState exec() returned holds the state of every post: {processed_count: 5, last_value: 4}', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('processing_pipeline').addRoutine(new Processor(), 'processor'));
    const worker = runtime.exec('processing_pipeline');
    const jobs = [0, 1, 2, 3, 4].map((value) => runtime.post('processing_pipeline', 'processor', 'input', value)[1]);
    await runtime.waitUntilAllJobsFinished();
    expect(jobs.every((job) => job.workerId === worker.workerId)).toBe(true);
    expect(worker.getRoutineState('processor')).toEqual({ processed_count: 5, last_value: 4 });
    expect(runtime.listWorkers()).toHaveLength(1);
    await runtime.close();
  });

  it(
    "posting to a flow with no worker execs one; with several, posts go to the first exec'd that still runs, or to the one " + 'named',
    async () => {
      const runtime = new Runtime();
      runtime.register(new Flow('p').addRoutine(new Processor(), 'processor'));
      const [created] = runtime.post('p', 'processor', 'input', 1);
      expect(runtime.listWorkers().map((w) => w.workerId)).toEqual([created.workerId]);
      const second = runtime.exec('p', { workerId: 'second' });
      expect(runtime.post('p', 'processor', 'input', 2)[0]).toBe(created);
      expect(runtime.post('p', 'processor', 'input', 3, { workerId: 'second' })[0]).toBe(second);
      await runtime.waitUntilAllJobsFinished();
      await runtime.stopWorker(created.workerId);
      expect(runtime.post('p', 'processor', 'input', 4)[0]).toBe(second);
      await runtime.waitUntilAllJobsFinished();
      expect(second.getRoutineState('processor')).toEqual({ processed_count: 2, last_value: 4 });
      await runtime.close();
    },
  );
});

describe('context management in plain JavaScript', () => {
  it("Runtime.with starts, runs and always closes, returning the body's result or rethrowing its error after the close", async () => {
    let seen: Runtime | undefined;
    const state = await Runtime.with({ name: 'with' }, async (runtime) => {
      seen = runtime;
      runtime.register(new Flow('p').addRoutine(new Processor(), 'processor'));
      const worker = runtime.exec('p');
      runtime.post('p', 'processor', 'input', 7);
      await runtime.waitUntilAllJobsFinished();
      return worker.getRoutineState('processor');
    });
    expect(state).toEqual({ processed_count: 1, last_value: 7 });
    expect(seen?.status).toBe('stopped');
    let failed: Runtime | undefined;
    await expect(
      Runtime.with(undefined, (runtime) => {
        failed = runtime;
        throw new Error('body failed');
      }),
    ).rejects.toThrow('body failed');
    expect(failed?.status).toBe('stopped');
  });
});

describe('lifecycle is strict', () => {
  it('start() after close() rejects with SLUICE_ERR_RUNTIME_CLOSED, whether or not start() ran before', async () => {
    const started = new Runtime({ heartbeatMs: 0 });
    await started.start();
    await started.close();
    await expectRejectCode(started.start(), ErrorCode.RuntimeClosed);
    const never = new Runtime();
    await never.close();
    await expectRejectCode(never.start(), ErrorCode.RuntimeClosed);
    const destroyed = new Runtime();
    await destroyed.start();
    destroyed.destroy();
    await expectRejectCode(destroyed.start(), ErrorCode.RuntimeClosed);
  });
});

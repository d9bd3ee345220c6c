/** The Runtime facade: options, registry, workers, posting, waiting, closing. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime, type JobContext, type RuntimeOptions } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import pipelineModule from '../../flows/pipeline.ts';
import { deferred, expectCode, expectRejectCode, isSettled, tick } from '../fixtures/helpers.ts';
import { Pass, makeRoutine } from '../fixtures/routines.ts';

function gatedFlow(id = 'g') {
  const gates: Array<() => void> = [];
  const flow = new Flow(id).addRoutine(makeRoutine({ logic: () => new Promise<void>((resolve) => gates.push(resolve)) }), 'r', {
    concurrency: 10,
  });
  return {
    flow,
    gates,
    openAll: () => {
      for (const g of gates.splice(0)) g();
    },
  };
}

describe('Runtime options', () => {
  it.each([
    [{ name: '' }, '`name`', '`""` (string)'],
    [{ clock: {} }, '`clock`', '`{}` (object)'],
    [{ traceLimit: -1 }, '`traceLimit`', '`-1` (number)'],
    [{ traceLimit: 1.5 }, '`traceLimit`', '`1.5` (number)'],
    [{ historyLimit: -1 }, '`historyLimit`', '`-1` (number)'],
    [{ jobHistoryLimit: 'many' }, '`jobHistoryLimit`', '`"many"` (string)'],
    [{ drainBudgetMs: 0 }, '`drainBudgetMs`', '`0` (number)'],
    [{ random: 0.5 }, '`random`', '`0.5` (number)'],
    [{ threads: 4 }, 'threads', '`name`'],
  ])('rejects %j, naming the option and the value', (options, name, value) => {
    const err = expectCode(() => new Runtime(options as RuntimeOptions), ErrorCode.InvalidArgument);
    expect(err.message).toContain(name);
    expect(err.message).toContain(value);
  });

  it('rejects a non-object and takes defaults', () => {
    expectCode(() => new Runtime(5 as RuntimeOptions), ErrorCode.InvalidArgument);
    const runtime = new Runtime();
    expect(runtime.name).toBe('sluice');
    // Nothing heavy in the constructor: a runtime starts on first use (or at start()).
    expect(runtime.status).toBe('created');
    runtime.register(new Flow('f').addRoutine(new Pass(), 'p'));
    expect(runtime.status).toBe('running');
    runtime.destroy();
    expect(new Runtime({ name: 'mine' }).name).toBe('mine');
  });
});

describe('registry and workers', () => {
  it('registers flows and modules, refuses duplicates and unknown things', () => {
    const runtime = new Runtime();
    const flow = runtime.register(pipelineModule);
    expect(flow.id).toBe('pipeline');
    expect(runtime.getFlow('pipeline')).toBe(flow);
    expect(runtime.listFlows()).toEqual(['pipeline']);
    expect(expectCode(() => runtime.register(pipelineModule), ErrorCode.FlowExists).message).toContain('"pipeline"');
    expectCode(() => runtime.register({} as Flow), ErrorCode.InvalidArgument);
    expect(expectCode(() => runtime.getFlow('nope'), ErrorCode.FlowNotFound).message).toContain('"nope"');
    expectCode(() => runtime.exec('nope'), ErrorCode.FlowNotFound);
  });

  it('exec() starts workers with unique ids; getWorker/listWorkers find them', () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Pass(), 'p'));
    const a = runtime.exec('f');
    const b = runtime.exec('f', { workerId: 'mine' });
    expect(a.workerId).not.toBe(b.workerId);
    expect(b.workerId).toBe('mine');
    expect(a.flowId).toBe('f');
    expect(runtime.getWorker('mine')).toBe(b);
    expect(runtime.getWorker('ghost')).toBeUndefined();
    expect(runtime.listWorkers()).toEqual([a, b]);
    expect(expectCode(() => runtime.exec('f', { workerId: 'mine' }), ErrorCode.WorkerExists).message).toContain('"mine"');
    expectCode(() => runtime.exec('f', { id: 'x' } as never), ErrorCode.InvalidArgument);
  });
});

describe('post()', () => {
  it('uses one default worker per flow when no workerId is given', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Pass(), 'p'));
    const [w1, j1] = runtime.post('f', 'p', 'in', 1);
    const [w2] = runtime.post('f', 'p', 'in', 2);
    expect(w1).toBe(w2);
    expect(runtime.listWorkers()).toEqual([w1]);
    expect(j1.workerId).toBe(w1.workerId);
    expect(j1.flowId).toBe('f');
    expect(runtime.getJob(j1.jobId)).toBe(j1);
    await runtime.waitUntilAllJobsFinished();
    expect(w1.counters).toMatchObject({ jobsPosted: 2, jobsProcessed: 2, activations: 2 });
  });

  it('refuses unknown flow, routine, slot and worker, bad data and options, with coded errors', () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Pass(), 'p'));
    runtime.register(new Flow('other').addRoutine(new Pass(), 'p'));
    runtime.exec('other', { workerId: 'ow' });
    expectCode(() => runtime.post('nope', 'p', 'in', 1), ErrorCode.FlowNotFound);
    expect(expectCode(() => runtime.post('f', 'ghost', 'in', 1), ErrorCode.RoutineNotFound).message).toContain('"ghost"');
    const slot = expectCode(() => runtime.post('f', 'p', 'nope', 1), ErrorCode.UnknownSlot);
    expect(slot.message).toContain('"nope"');
    expect(slot.message).toContain('"in"');
    expect(expectCode(() => runtime.post('f', 'p', 'in', 1, { workerId: 'ghost' }), ErrorCode.WorkerNotFound).message).toContain('"ghost"');
    expect(expectCode(() => runtime.post('f', 'p', 'in', 1, { workerId: 'ow' }), ErrorCode.InvalidArgument).message).toContain('"other"');
    expectCode(() => runtime.post('f', 'p', 'in', undefined), ErrorCode.InvalidArgument);
    expectCode(() => runtime.post('f', 'p', 'in', 1, { prio: 1 } as never), ErrorCode.InvalidArgument);
    expectCode(() => runtime.post('f', 'p', 'in', 1, { priority: 1.5 }), ErrorCode.InvalidArgument);
    runtime.post('f', 'p', 'in', 1, { jobId: 'same' });
    expect(expectCode(() => runtime.post('f', 'p', 'in', 1, { jobId: 'same' }), ErrorCode.JobExists).message).toContain('"same"');
    expect(runtime.stats().activeJobs).toBe(1);
  });

  it('refuses a stopped worker with SLUICE_ERR_WORKER_NOT_RUNNING', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Pass(), 'p'));
    const worker = runtime.exec('f', { workerId: 'w' });
    expect(await runtime.stopWorker('w')).toEqual([]);
    expect(worker.status).toBe('stopped');
    expect(expectCode(() => runtime.post('f', 'p', 'in', 1, { workerId: 'w' }), ErrorCode.WorkerNotRunning).message).toContain('stopped');
    await expectRejectCode(runtime.postAsync('f', 'p', 'in', 1, { workerId: 'w' }), ErrorCode.WorkerNotRunning);
    await expectRejectCode(runtime.stopWorker('ghost'), ErrorCode.WorkerNotFound);
  });

  it('stopWorker() drains, then cancels what is left within its timeout', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock });
    const { flow, openAll } = gatedFlow();
    runtime.register(flow);
    runtime.exec('g', { workerId: 'w' });
    const [, job] = runtime.post('g', 'r', 'in', 1, { workerId: 'w' });
    await tick();
    const stopping = runtime.stopWorker('w', { timeout: 100 });
    expect(runtime.getWorker('w')?.status).toBe('stopping');
    expectCode(() => runtime.post('g', 'r', 'in', 2, { workerId: 'w' }), ErrorCode.WorkerNotRunning);
    clock.advance(100);
    expect(await stopping).toEqual([job.jobId]);
    expect(job.status).toBe('cancelled');
    expect(runtime.getWorker('w')?.status).toBe('stopped');
    openAll();
  });
});

describe('waiting', () => {
  it('waitForJob resolves with the finished job, and times out with SLUICE_ERR_JOB_TIMEOUT', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock });
    const { flow, openAll } = gatedFlow();
    runtime.register(flow);
    const [, job] = runtime.post('g', 'r', 'in', 1);
    await tick();
    const timed = runtime.waitForJob(job.jobId, { timeout: 50 });
    clock.advance(49);
    expect(await isSettled(timed)).toBe(false);
    clock.advance(1);
    const err = await expectRejectCode(timed, ErrorCode.JobTimeout);
    expect(err.message).toContain(job.jobId);
    expect(err.message).toContain('50 ms');
    const untimed = runtime.waitForJob(job.jobId);
    openAll();
    expect(await untimed).toBe(job);
    expect(await runtime.waitForJob(job.jobId, { timeout: 0 })).toBe(job);
    await expectRejectCode(runtime.waitForJob('ghost'), ErrorCode.JobNotFound);
    await expectRejectCode(runtime.waitForJob(job.jobId, { timeout: -1 }), ErrorCode.InvalidArgument);
  });

  it('waitUntilAllJobsFinished resolves true when idle and false after its timeout', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock });
    const { flow, openAll } = gatedFlow();
    runtime.register(flow);
    const runtimeTimers = clock.pendingTimers; // heartbeats and health checks
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 10 })).toBe(true);
    runtime.post('g', 'r', 'in', 1);
    runtime.post('g', 'r', 'in', 2);
    await tick();
    const timed = runtime.waitUntilAllJobsFinished({ timeout: 10 });
    clock.advance(10);
    expect(await timed).toBe(false);
    const untimed = runtime.waitUntilAllJobsFinished();
    expect(await isSettled(untimed)).toBe(false);
    openAll();
    expect(await untimed).toBe(true);
    expect(clock.pendingTimers).toBe(runtimeTimers);
  });
});

describe('close(), destroy() and await using', () => {
  it('close() drains running jobs, then cancels the rest after its timeout and reports them', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock });
    const quick = deferred();
    const { flow, openAll } = gatedFlow();
    runtime.register(flow);
    runtime.register(new Flow('q').addRoutine(makeRoutine({ logic: () => quick.promise }), 'r'));
    const [, stuck] = runtime.post('g', 'r', 'in', 1);
    const [, finishes] = runtime.post('q', 'r', 'in', 1);
    await tick();
    const closing = runtime.close({ timeout: 100 });
    expect(runtime.status).toBe('stopping');
    expect(runtime.close()).toBe(closing);
    expect(expectCode(() => runtime.post('q', 'r', 'in', 2), ErrorCode.RuntimeClosed).message).toContain('stopping');
    quick.resolve();
    await tick();
    expect(finishes.status).toBe('completed');
    clock.advance(100);
    const report = await closing;
    expect(report).toEqual({ drained: false, cancelled: [stuck.jobId], flushed: true, notPersisted: 0 });
    expect(stuck.status).toBe('cancelled');
    expect(runtime.status).toBe('stopped');
    expect(runtime.listWorkers().every((w) => w.status === 'stopped')).toBe(true);
    expectCode(() => runtime.post('q', 'r', 'in', 3), ErrorCode.RuntimeClosed);
    expectCode(() => runtime.exec('q'), ErrorCode.RuntimeClosed);
    expectCode(() => runtime.register(new Flow('late')), ErrorCode.RuntimeClosed);
    await expectRejectCode(runtime.postAsync('q', 'r', 'in', 3), ErrorCode.RuntimeClosed);
    openAll();
  });

  it('close() reports drained when everything finishes in time', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('f').addRoutine(new Pass(), 'p'));
    const [, job] = runtime.post('f', 'p', 'in', 1);
    expect(await runtime.close()).toEqual({ drained: true, cancelled: [], flushed: true, notPersisted: 0 });
    expect(job.status).toBe('completed');
  });

  it('destroy() cancels everything at once and is idempotent', async () => {
    const runtime = new Runtime();
    const { flow, openAll } = gatedFlow();
    runtime.register(flow);
    const [worker, job] = runtime.post('g', 'r', 'in', 1);
    const [, queued] = runtime.post('g', 'r', 'in', 2);
    runtime.destroy();
    runtime.destroy();
    expect(runtime.status).toBe('stopped');
    expect([job.status, queued.status]).toEqual(['cancelled', 'cancelled']);
    expect(worker.status).toBe('stopped');
    expect(await runtime.close()).toEqual({ drained: false, cancelled: [job.jobId, queued.jobId], flushed: true, notPersisted: 0 });
    openAll();
  });

  it('await using closes the runtime at the end of the block', async () => {
    let outer: Runtime | undefined;
    let job: JobContext | undefined;
    {
      await using runtime = new Runtime();
      outer = runtime;
      runtime.register(new Flow('f').addRoutine(new Pass(), 'p'));
      [, job] = runtime.post('f', 'p', 'in', 1);
    }
    expect(outer.status).toBe('stopped');
    expect(job.status).toBe('completed');
    expect(typeof outer[Symbol.asyncDispose]).toBe('function');
  });
});

describe('stats()', () => {
  it('is a plain snapshot of flows, workers, jobs and queues', async () => {
    const runtime = new Runtime({ name: 'stats' });
    const { flow, openAll } = gatedFlow();
    runtime.register(flow);
    runtime.post('g', 'r', 'in', 1);
    runtime.post('g', 'r', 'in', 2);
    expect(runtime.stats()).toEqual({
      name: 'stats',
      status: 'running',
      flows: ['g'],
      workers: 1,
      activeJobs: 2,
      jobsEvicted: 0,
      queuedItems: 2,
      pool: undefined,
      placements: [],
      jobLatency: {},
      activations: [{ workerId: expect.any(String), routineId: 'r', count: 0, avgMs: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 }],
      failures: { distinct: [], otherJobs: 0, total: 0 },
    });
    await tick();
    expect(runtime.stats().queuedItems).toBe(0);
    openAll();
    await runtime.waitUntilAllJobsFinished();
    expect(runtime.stats().activeJobs).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime, batchSize, type SluiceError } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { EventBus, type BusEvent } from '../../src/bus/index.ts';
import { Governor, PolicyRule } from '../../src/governor/index.ts';
import probe from '../fixtures/flows/pool-probe.ts';
import { deferred, expectCode, tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

function batchFlow(sizes: number[][]): Flow {
  const batcher = makeRoutine({ logic: (items) => void sizes.push([(items.in ?? []).length]), policy: batchSize(8, { timeoutMs: 10 }) });
  return new Flow('batched').addRoutine(batcher, 'batch');
}

/** A governor on a manual clock whose sensor returns what the test sets. */
function scripted(clock: ManualClock, bus?: EventBus, rules?: PolicyRule[]) {
  const readings: Record<string, number | undefined> = {};
  const governor = new Governor({ clock, sensor: () => ({ ...readings }), bus, ...(rules === undefined ? {} : { rules }) });
  return { governor, readings };
}

describe('the Runtime under a governor', () => {
  it('registers itself (with its admission knobs) on start and unregisters on close', async () => {
    const clock = new ManualClock();
    const { governor } = scripted(clock);
    const runtime = new Runtime({ name: 'rt', clock, governor });
    runtime.register(batchFlow([]));
    expectCode(() => runtime.exec('batched'), ErrorCode.RuntimeNotStarted);
    await runtime.start();
    expect(governor.subsystems().map((s) => s.name)).toEqual(['rt']);
    const knobs = governor.subsystems().find((s) => s.name === 'rt')?.knobs ?? [];
    expect(knobs.map((k) => [k.name, k.kind])).toEqual([
      ['admission_rate', 'admission_rate'],
      ['shed_level', 'shed_level'],
      ['wait_limit', 'wait_limit'],
      ['batch:batched/batch', 'batch_size'],
    ]);
    expect(knobs[2]).toEqual(expect.objectContaining({ value: 250, max: 250, baseline: 250 })); // half the default 500 ms target
    expect(knobs[3]).toEqual(expect.objectContaining({ value: 8, min: 1, max: 8, baseline: 8 }));
    await runtime.close();
    expect(governor.subsystems()).toEqual([]);
  });

  it('reduce_batch under memory pressure reaches the routine, and the batch is given back when pressure passes', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    const { governor, readings } = scripted(clock, bus, [
      new PolicyRule({
        name: 'mem',
        metric: 'mem_util',
        use: 'value',
        threshold: 0.9,
        clearThreshold: 0.8,
        action: 'reduce_batch',
        factor: 0.5,
        cooldownMs: 0,
        clearAfter: 1,
      }),
    ]);
    const signals: BusEvent[] = [];
    bus.subscribe('drg.signal.*', (e) => void signals.push(e));
    const sizes: number[][] = [];
    const runtime = new Runtime({ clock, governor, bus });
    runtime.register(batchFlow(sizes));
    await runtime.start();
    const post = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) runtime.post('batched', 'batch', 'in', i);
      await tick();
    };
    await post(8);
    readings.mem_util = 0.95;
    await governor.tick();
    await post(8);
    await governor.tick();
    await post(8);
    readings.mem_util = 0.5;
    await governor.tick();
    await post(8);
    await governor.tick();
    await post(8);
    await tick();
    expect(sizes.flat()).toEqual([8, 4, 4, 2, 2, 2, 2, 4, 4, 8]);
    const knob = (): number | undefined =>
      governor
        .subsystems()
        .find((s) => s.name === runtime.name)
        ?.knobs.find((k) => k.name === 'batch:batched/batch')?.value;
    expect(knob()).toBe(8);
    expect(
      signals.map((e) => [e.topic, (e.payload as { before: number; after: number }).before, (e.payload as { after: number }).after]),
    ).toEqual([
      ['drg.signal.reduce_batch', 8, 4],
      ['drg.signal.reduce_batch', 4, 2],
      ['drg.signal.restore', 2, 4],
      ['drg.signal.restore', 4, 8],
    ]);
    await runtime.close();
  });

  it('scale_up and reduce_batch reach the thread pool (resize and dispatch batch)', async () => {
    const clock = new ManualClock();
    const { governor, readings } = scripted(clock, undefined, [
      new PolicyRule({
        name: 'up',
        metric: 'test_pressure',
        use: 'value',
        threshold: 0.5,
        clearThreshold: 0.2,
        action: 'scale_up',
        factor: 1,
        cooldownMs: 0,
        restore: false,
      }),
      new PolicyRule({
        name: 'shrink',
        metric: 'mem_util',
        use: 'value',
        threshold: 0.9,
        clearThreshold: 0.8,
        action: 'reduce_batch',
        factor: 0.5,
        cooldownMs: 0,
        restore: false,
      }),
    ]);
    const runtime = new Runtime({ clock, governor, pool: { threads: 1, maxThreads: 2, dispatchBatch: 16 } });
    runtime.register(probe, { id: 'gov-probe', mode: 'echo', placement: 'pool' });
    await runtime.start();
    runtime.exec('gov-probe');
    expect(runtime.pool.threads).toBe(1);
    readings.test_pressure = 0.9;
    readings.mem_util = 0.95;
    await governor.tick();
    expect(runtime.pool.threads).toBe(2);
    expect(runtime.pool.dispatchBatch).toBe(8);
    await runtime.close();
  });

  it('shed_load refuses low-priority posts with a coded error, counted; postAll reports what it shed', async () => {
    const clock = new ManualClock();
    const { governor } = scripted(clock, undefined, [
      new PolicyRule({
        name: 'slo',
        metric: 'latency_ms',
        use: 'value',
        threshold: 500,
        clearThreshold: 250,
        action: 'shed_load',
        factor: 1,
        cooldownMs: 0,
      }),
    ]);
    const runtime = new Runtime({ name: 'shedder', clock, governor });
    const seen: unknown[] = [];
    let gate = deferred();
    runtime.register(
      new Flow('f').addRoutine(
        makeRoutine({
          logic: async (items) => {
            if (items.in?.[0] === 'slow') await gate.promise;
            seen.push(...(items.in ?? []));
          },
        }),
        'r',
        { concurrency: 4 },
      ),
    );
    await runtime.start();
    // The rule reads the runtime's own job latency (p95, on the runtime's clock): make jobs slow.
    const [, slow] = runtime.post('f', 'r', 'in', 'slow', { priority: 9 });
    await tick();
    clock.advance(900);
    gate.resolve();
    await slow.done();
    await governor.tick();
    seen.length = 0;
    gate = deferred();
    expectCode(() => runtime.post('f', 'r', 'in', 'low'), ErrorCode.LoadShed);
    runtime.post('f', 'r', 'in', 'high', { priority: 1 });
    const result = await runtime.postAll('f', 'r', 'in', ['a', 'b', 'c'], { priority: 0 });
    expect(result).toEqual({ posted: 0, shed: 3 });
    await tick();
    expect(seen).toEqual(['high']);
    const knobs = governor.subsystems().find((s) => s.name === 'shedder')?.knobs;
    expect(knobs?.find((k) => k.kind === 'shed_level')?.value).toBe(1);
    await runtime.close();
  });

  it('keeps the expected wait under the latency target: later posts are refused as overloaded, postAll waits', async () => {
    const clock = new ManualClock();
    // Target 100 ms: a post may expect to wait 50 ms at the top priority, 25 ms at priority 0.
    const governor = new Governor({ clock, sensor: () => ({}), latencyTargetMs: 100 });
    const runtime = new Runtime({ name: 'door', clock, governor });
    let hold: ReturnType<typeof deferred<void>> | undefined;
    const seen: unknown[] = [];
    const slow = makeRoutine({
      logic: async (items) => {
        if (hold !== undefined) await hold.promise;
        seen.push(...(items.in ?? []));
      },
    });
    runtime.register(new Flow('f').addRoutine(slow, 'r'));
    await runtime.start();
    // Twenty jobs finished 10 ms apart: the runtime measures about 100 jobs a second.
    for (let i = 0; i < 20; i++) {
      const [, job] = runtime.post('f', 'r', 'in', `warm${i}`);
      await job.done();
      clock.advance(10);
    }
    hold = deferred();
    const refused: SluiceError[] = [];
    let admitted = 0;
    for (let i = 0; i < 20; i++) {
      try {
        runtime.post('f', 'r', 'in', `low${i}`);
        admitted++;
      } catch (error) {
        refused.push(error as SluiceError);
      }
    }
    // Each unfinished job is ~10 ms of wait: a few fit under 25 ms, the rest are refused.
    expect(admitted).toBeGreaterThanOrEqual(2);
    expect(admitted).toBeLessThanOrEqual(4);
    expect(refused).toHaveLength(20 - admitted);
    for (const error of refused) {
      expect(error.code).toBe(ErrorCode.Overloaded);
      expect(error.details?.expectedWaitMs as number).toBeGreaterThan(error.details?.waitLimitMs as number);
    }
    // The top priority's limit is twice priority 0's: it still gets in.
    runtime.post('f', 'r', 'in', 'urgent', { priority: 3 });
    expect(runtime.stats().admission).toMatchObject({ overloaded: refused.length, shed: 0, throttled: 0, waitLimitMs: 50 });
    // postAll is a producer: it waits for the backlog to drain instead of refusing.
    const posting = runtime.postAll('f', 'r', 'in', ['a', 'b', 'c', 'd', 'e', 'f']);
    await tick();
    expect(seen).not.toContain('a');
    hold.resolve();
    hold = undefined;
    let result: { posted: number; shed: number } | undefined;
    void posting.then((r) => (result = r));
    for (let i = 0; i < 100 && result === undefined; i++) {
      clock.advance(10);
      await tick();
    }
    expect(result).toEqual({ posted: 6, shed: 0 });
    await runtime.waitUntilAllJobsFinished();
    expect(seen.slice(-6)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    await runtime.close();
  });

  it('reports its queue, latency and throughput metrics to the governor', async () => {
    const clock = new ManualClock();
    const { governor } = scripted(clock);
    const runtime = new Runtime({ name: 'metered', clock, governor });
    runtime.register(new Flow('f').addRoutine(makeRoutine({ logic: () => {} }), 'r'));
    await runtime.start();
    for (let i = 0; i < 10; i++) runtime.post('f', 'r', 'in', i);
    await runtime.waitUntilAllJobsFinished();
    const report = await governor.tick();
    expect(report.metrics).toMatchObject({ 'metered.queue_depth': 0, 'metered.queue_pressure': 0 });
    expect(report.metrics['metered.latency_ms']).toBeGreaterThanOrEqual(0);
    expect(report.metrics['metered.queue_wait_ms']).toBe(0); // nothing queued: no wait, at any throughput
    await runtime.close();
  });
});

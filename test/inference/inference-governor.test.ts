import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Runtime } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import {
  createInferenceGovernable,
  createInferenceRules,
  loadTensorFlow,
  readInferenceStats,
  type InferenceReading,
} from '../../src/inference/index.ts';
import { Governor } from '../../src/governor/index.ts';
import { inferenceFlow, row } from './helpers.ts';

let runtime: Runtime;

beforeAll(async () => {
  await loadTensorFlow({ backend: 'wasm' });
  runtime = new Runtime();
  runtime.register(inferenceFlow('gov', { maxBatch: 32 }).flow);
});

afterAll(async () => {
  await runtime.close();
});

/** A scripted reading source: each tick takes the next value; `updatedAt` marks a new batch. */
function script(latencies: number[], extra: InferenceReading = {}) {
  let at = 0;
  return () => {
    const lastBatchMs = latencies.shift();
    return lastBatchMs === undefined ? undefined : { batchBytes: 1000, lastBatchSize: 8, ...extra, lastBatchMs, updatedAt: ++at };
  };
}

describe('the governor drives the inference batch', () => {
  it('reduces the batch under latency pressure and restores it once latency stays low', async () => {
    const clock = new ManualClock();
    const latencies = [80, 80, 80, 80, 80, ...Array.from({ length: 20 }, () => 10)];
    const setLimit = vi.spyOn(runtime, 'setBatchLimit');
    const governable = createInferenceGovernable(runtime, 'gov', 'infer', { min: 2, metrics: script(latencies) });
    const governor = new Governor({ clock, sensor: () => ({}), rules: [] });
    using _registration = governor.register(governable, {
      rules: createInferenceRules({ name: governable.name, maxBatchLatencyMs: 50, cooldownMs: 1000 }),
    });
    const batch = () => governable.knobs()[0]!.value;
    const trace: number[] = [];
    for (let tick = 0, ticks = latencies.length; tick < ticks; tick++) {
      await governor.tick();
      trace.push(batch());
      clock.advance(500);
    }
    // Pressure: 32 → 16 at once, → 8 after a whole cooldown of pressure; then back step by step.
    expect(trace.slice(0, 5)).toEqual([16, 16, 8, 8, 4]);
    expect(Math.min(...trace)).toBe(4);
    expect(trace.at(-1)).toBe(32);
    const phases = governor.decisions().map((d) => `${d.phase}:${d.before}->${d.after}`);
    expect(phases).toEqual(['apply:32->16', 'apply:16->8', 'apply:8->4', 'restore:4->8', 'restore:8->16', 'restore:16->32']);
    // Applied through runtime.setBatchLimit; at the ceiling the cap is lifted.
    expect(setLimit.mock.calls.map((c) => c[2])).toEqual([16, 8, 4, 8, 16, undefined]);
    setLimit.mockRestore();
  });

  it('a reduced knob really caps the routine, end to end', async () => {
    const clock = new ManualClock();
    const governable = createInferenceGovernable(runtime, 'gov', 'infer', { name: 'gov-e2e', metrics: script([90]) });
    const governor = new Governor({ clock, sensor: () => ({}), rules: [] });
    using _registration = governor.register(governable, {
      rules: createInferenceRules({ name: 'gov-e2e', maxBatchLatencyMs: 50, factor: 0.125 }),
    });
    await governor.tick();
    expect(governable.knobs()[0]!.value).toBe(4);
    const [worker] = runtime.post('gov', 'infer', 'in', row(0));
    await runtime.waitUntilAllJobsFinished();
    for (let i = 0; i < 40; i++) runtime.post('gov', 'infer', 'in', row(i));
    await runtime.waitUntilAllJobsFinished();
    const stats = readInferenceStats(worker, 'infer')!;
    expect(stats.lastBatchSize).toBeLessThanOrEqual(4);
    expect(stats.batches).toBeGreaterThanOrEqual(11);
    runtime.setBatchLimit('gov', 'infer', undefined);
  });

  it('reduces on tensor memory past maxTensorBytes and gives it back', async () => {
    const clock = new ManualClock();
    let bytes = 5e6;
    let at = 0;
    const governable = createInferenceGovernable(runtime, 'gov', 'infer', {
      name: 'gov-mem',
      metrics: () => ({ batchBytes: bytes, lastBatchMs: 1, updatedAt: ++at }),
    });
    const governor = new Governor({ clock, sensor: () => ({}), rules: [] });
    using _registration = governor.register(governable, {
      rules: createInferenceRules({ name: 'gov-mem', maxTensorBytes: 1e6, cooldownMs: 500 }),
    });
    await governor.tick();
    expect(governable.knobs()[0]!.value).toBe(16);
    bytes = 1e5;
    for (let i = 0; i < 12; i++) {
      clock.advance(500);
      await governor.tick();
    }
    expect(governable.knobs()[0]!.value).toBe(32);
    expect(governor.decisions().map((d) => d.rule)).toEqual(['gov-mem:memory', 'gov-mem:memory']);
    runtime.setBatchLimit('gov', 'infer', undefined);
  });

  it('on a GPU backend reports vram_util from the backend bytes and the GPU size, and the default vram rule halves the batch', async () => {
    const clock = new ManualClock();
    let at = 0;
    const governable = createInferenceGovernable(runtime, 'gov', 'infer', {
      name: 'gov-gpu',
      vramTotalBytes: 1000,
      metrics: () => ({ gpu: true, batchBytes: 950, lastBatchMs: 1, updatedAt: ++at }),
    });
    expect(governable.metrics?.()).toMatchObject({ vram_util: 0.95, tensor_bytes: 950 });
    // The default rules: vram-pressure reads `<subsystem>.vram_util`.
    const governor = new Governor({ clock, sensor: () => ({}) });
    using _registration = governor.register(governable);
    await governor.tick();
    clock.advance(500);
    await governor.tick();
    expect(governor.decisions().map((d) => [d.rule, d.after])).toEqual([['vram-pressure', 16]]);
    runtime.setBatchLimit('gov', 'infer', undefined);
  });

  it('without a GPU reports no vram_util, and a latency seen once is not reported twice', () => {
    let reading: InferenceReading = { batchBytes: 10, lastBatchMs: 5, updatedAt: 1 };
    const governable = createInferenceGovernable(runtime, 'gov', 'infer', {
      name: 'gov-cpu',
      vramTotalBytes: 1000,
      metrics: () => reading,
    });
    expect(governable.metrics?.()).toEqual({ tensor_bytes: 10, batch_latency_ms: 5, batch_items: undefined });
    expect(governable.metrics?.()).toEqual({ tensor_bytes: 10, batch_latency_ms: undefined, batch_items: undefined });
    reading = { ...reading, lastBatchMs: 7, updatedAt: 2 };
    expect(governable.metrics?.()).toMatchObject({ batch_latency_ms: 7 });
  });

  it('by default reads the stats the routine left in worker state', async () => {
    runtime.post('gov', 'infer', 'in', row(3));
    await runtime.waitUntilAllJobsFinished();
    const governable = createInferenceGovernable(runtime, 'gov', 'infer', { name: 'gov-state' });
    const metrics = governable.metrics?.() ?? {};
    expect(metrics.tensor_bytes).toBeGreaterThan(0);
    expect(metrics.batch_latency_ms).toBeGreaterThan(0);
  });

  it('validates its options', () => {
    expect(() => createInferenceGovernable(runtime, 'gov', 'nope')).toThrow(
      expect.objectContaining({ code: 'SLUICE_ERR_ROUTINE_NOT_FOUND' }),
    );
    expect(() => createInferenceGovernable(runtime, 'gov', 'collect')).toThrow(
      expect.objectContaining({ code: 'SLUICE_ERR_INVALID_ARGUMENT', message: expect.stringContaining('batchSize policy') }),
    );
    expect(() => createInferenceGovernable(runtime, 'gov', 'infer', { min: 0 })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('`createInferenceGovernable min`') }),
    );
    expect(() => createInferenceGovernable(runtime, 'gov', 'infer', { min: 8, max: 4 })).toThrow(RangeError);
    expect(() => createInferenceGovernable(runtime, 'gov', 'infer', { baseline: 64 })).toThrow(
      expect.objectContaining({ code: 'SLUICE_ERR_INVALID_ARGUMENT' }),
    );
    expect(() => createInferenceGovernable(runtime, 'gov', 'infer', { vramTotalBytes: 0 })).toThrow(
      expect.objectContaining({ code: 'SLUICE_ERR_INVALID_ARGUMENT' }),
    );
    expect(() => createInferenceRules({ name: 'x', factor: 1 })).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_INVALID_ARGUMENT' }));
    expect(createInferenceRules({ name: 'x' })).toEqual([]);
  });
});

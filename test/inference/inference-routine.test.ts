import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Runtime, type JobContext } from '../../src/index.ts';
import { InferenceRoutine, fileSystemSaver, loadTensorFlow, readInferenceStats, type TensorFlow } from '../../src/inference/index.ts';
import { createSmallModel, inferenceFlow, kInputs, kOutputs, row } from './helpers.ts';

let tf: TensorFlow;
let runtime: Runtime;
let dir: string;

beforeAll(async () => {
  // One backend initialisation for the whole file.
  ({ tf } = await loadTensorFlow({ backend: 'wasm' }));
  dir = await mkdtemp(join(tmpdir(), 'sluice-inference-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function postAll(rt: Runtime, flowId: string, items: readonly unknown[]): Promise<JobContext[]> {
  const jobs: JobContext[] = [];
  for (const item of items) jobs.push((await rt.postAsync(flowId, 'infer', 'in', item))[1]);
  await rt.waitUntilAllJobsFinished({ timeout: 20_000 });
  return jobs;
}

function unbatched(model: { predict(x: unknown): unknown }, input: number[]): number[] {
  return tf.tidy(() => Array.from((model.predict(tf.tensor2d([input], [1, kInputs])) as { dataSync(): Float32Array }).dataSync()));
}

describe('InferenceRoutine', () => {
  it('batched predictions equal unbatched predict on the same inputs, one result per item and job', async () => {
    runtime = new Runtime();
    const { flow, routine } = inferenceFlow('equal');
    runtime.register(flow);
    const items = Array.from({ length: 45 }, (_, i) =>
      i % 3 === 0 ? { id: i, input: row(i) } : i % 3 === 1 ? new Float32Array(row(i)) : row(i),
    );
    const jobs = await postAll(runtime, 'equal', items);
    const model = (await routine.session()).model;
    const reference = createSmallModel(tf);
    jobs.forEach((job, i) => {
      expect(job.status).toBe('completed');
      const output = job.data.output as number[];
      expect(output).toHaveLength(kOutputs);
      // Every item's result went to its own job: compare with predict on that item alone.
      const expected = unbatched(model, row(i));
      output.forEach((v, k) => {
        expect(v).toBeCloseTo(expected[k] as number, 5);
      });
      // The seeded model built again gives the same numbers: the routine loaded what it was given.
      unbatched(reference, row(i)).forEach((v, k) => {
        expect(v).toBeCloseTo(expected[k] as number, 5);
      });
      if (i % 3 === 0) expect(job.data.id).toBe(i);
    });
    reference.dispose();
    const stats = readInferenceStats([...runtime.listWorkers()][0]!, 'infer')!;
    expect(stats.items).toBe(45);
    expect(stats.batches).toBeLessThan(45);
    expect(stats.batches).toBeGreaterThanOrEqual(3);
    await runtime.close();
  });

  it('leaks no tensors: numTensors is the same after every batch', async () => {
    const rt = new Runtime();
    const { flow } = inferenceFlow('leak', { maxBatch: 4 });
    rt.register(flow);
    await postAll(rt, 'leak', [row(0)]);
    const worker = rt.listWorkers()[0]!;
    const after1 = readInferenceStats(worker, 'infer')!;
    const before = tf.memory().numTensors;
    const seen = new Set<number>();
    for (let round = 0; round < 10; round++) {
      await postAll(
        rt,
        'leak',
        Array.from({ length: 20 }, (_, i) => row(round * 20 + i)),
      );
      seen.add(readInferenceStats(worker, 'infer')!.numTensors);
    }
    const last = readInferenceStats(worker, 'infer')!;
    expect(last.batches).toBeGreaterThanOrEqual(50);
    expect([...seen]).toEqual([after1.numTensors]);
    expect(last.numBytes).toBe(after1.numBytes);
    expect(tf.memory().numTensors).toBe(before);
    await rt.close();
  });

  it('reports backend, counts, latency and memory in routine state and logs the backend once', async () => {
    const lines: string[] = [];
    const rt = new Runtime();
    const { flow } = inferenceFlow('stats', { log: (line) => lines.push(line) });
    rt.register(flow);
    await postAll(
      rt,
      'stats',
      Array.from({ length: 10 }, (_, i) => row(i)),
    );
    await postAll(
      rt,
      'stats',
      Array.from({ length: 10 }, (_, i) => row(i)),
    );
    const stats = readInferenceStats(rt.listWorkers()[0]!, 'infer')!;
    expect(stats).toMatchObject({ backend: 'wasm', tfBackend: 'wasm', gpu: false, thread: 0, items: 20 });
    expect(stats.meanBatchMs).toBeGreaterThan(0);
    expect(stats.lastBatchSize).toBeGreaterThan(0);
    expect(stats.batchBytes).toBeGreaterThan(stats.numBytes);
    expect(stats.loadMs).toBeGreaterThan(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/on wasm \(@tensorflow\/tfjs-backend-wasm\).*input \[6\]/);
    await rt.close();
  });

  it('runtime.setBatchLimit caps the batches it takes', async () => {
    const rt = new Runtime();
    const { flow } = inferenceFlow('capped', { maxBatch: 16 });
    rt.register(flow);
    await postAll(rt, 'capped', [row(0)]);
    rt.setBatchLimit('capped', 'infer', 3);
    const worker = rt.listWorkers()[0]!;
    // Posted at once, so without the cap they would go in batches of up to 16.
    for (let i = 0; i < 30; i++) rt.post('capped', 'infer', 'in', row(i));
    await rt.waitUntilAllJobsFinished();
    const stats = readInferenceStats(worker, 'infer')!;
    expect(stats.items).toBe(31);
    // 30 items at most 3 at a time: at least 10 more batches after the first one.
    expect(stats.batches).toBeGreaterThanOrEqual(11);
    expect(stats.lastBatchSize).toBeLessThanOrEqual(3);
    await rt.close();
  });

  it('loads a model saved on disk and predicts the same as the model it was saved from', async () => {
    const original = createSmallModel(tf);
    await original.save(fileSystemSaver(join(dir, 'small')));
    const rt = new Runtime();
    const { flow } = inferenceFlow('disk', { model: { path: join(dir, 'small') } });
    rt.register(flow);
    const jobs = await postAll(rt, 'disk', [row(1), row(2)]);
    jobs.forEach((job, i) => {
      (job.data.output as number[]).forEach((v, k) => {
        expect(v).toBeCloseTo(unbatched(original, row(i + 1))[k] as number, 5);
      });
    });
    original.dispose();
    await rt.close();
  });

  it('an item of the wrong size fails its batch with SLUICE_ERR_INVALID_INPUT naming the sizes', async () => {
    const rt = new Runtime();
    const { flow } = inferenceFlow('bad-input', { maxBatch: 1 });
    rt.register(flow);
    const [good, bad, worse] = await postAll(rt, 'bad-input', [row(0), [1, 2], { input: 'x' }]);
    expect(good!.status).toBe('completed');
    expect(bad!.status).toBe('failed');
    expect(bad!.error?.message).toMatch(/must be 6 numbers.*got 2 numbers/);
    expect((bad!.error as { cause?: { code?: string } }).cause?.code ?? bad!.error?.code).toBe(ErrorCode.InvalidInput);
    expect(worse!.status).toBe('failed');
    await rt.close();
  });

  it('a missing model fails with SLUICE_ERR_MODEL_LOAD_FAILED, and a later activation tries again', async () => {
    const rt = new Runtime();
    const { flow, routine } = inferenceFlow('missing', { model: { path: join(dir, 'nothing-here') }, maxBatch: 1 });
    rt.register(flow);
    const [job] = await postAll(rt, 'missing', [row(0)]);
    expect(job!.status).toBe('failed');
    const loadError = await routine.session().catch((e: unknown) => e);
    expect(loadError).toMatchObject({ code: ErrorCode.ModelLoadFailed, message: expect.stringContaining('nothing-here') });
    await rt.close();
  });

  it('validates its options at construction with coded errors naming the option and value', () => {
    const model = { create: createSmallModel };
    expect(() => new InferenceRoutine({ model, maxBatch: 0 })).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidArgument,
        message: expect.stringContaining('`InferenceRoutine maxBatch` to be an integer >= 1, got `0` (number)'),
      }),
    );
    expect(() => new InferenceRoutine({ model, timeoutMs: -1 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => new InferenceRoutine({ model: { path: 'https://example.com/model.json' } })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining('never downloaded') }),
    );
    expect(() => new InferenceRoutine({ model: {} as never })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => new InferenceRoutine({ model, batch: 3 } as never)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('`InferenceRoutine options.batch`') }),
    );
    expect(() => new InferenceRoutine({ model, log: 'yes' } as never)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument }),
    );
    const ok = new InferenceRoutine({ model: { path: 'file:///models/m' } });
    expect(ok.activationPolicy).toMatchObject({ type: 'batchSize', config: { n: 32, timeoutMs: 10 } });
    expect(ok.maxBatch).toBe(32);
  });
});

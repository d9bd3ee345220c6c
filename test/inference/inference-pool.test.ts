import { describe, expect, it } from 'vitest';
import { Runtime, type JobContext } from '../../src/index.ts';
import { loadTensorFlow, readInferenceStats } from '../../src/inference/index.ts';
import flowModule from './fixtures/pool-inference-flow.ts';
import { createSmallModel, kInputs, row } from './helpers.ts';

describe('InferenceRoutine on the pool', () => {
  it('runs in threads, one model per thread loaded once, with the same predictions as inline predict', async () => {
    await using runtime = new Runtime({ pool: { threads: 2, dispatchBatch: 4 } });
    runtime.register(flowModule);
    await runtime.pool.warmUp();
    const jobs: JobContext[] = [];
    for (let i = 0; i < 120; i++)
      jobs.push((await runtime.postAsync('pool-inference', 'infer', 'in', { id: i, input: new Float32Array(row(i)) }))[1]);
    await runtime.waitUntilAllJobsFinished({ timeout: 60_000 });

    const { tf } = await loadTensorFlow({ backend: 'wasm' });
    const model = createSmallModel(tf);
    const expected = tf.tidy(() =>
      (
        model.predict(
          tf.tensor2d(
            jobs.map((_, i) => row(i)),
            [jobs.length, kInputs],
          ),
        ) as { arraySync(): number[][] }
      ).arraySync(),
    );
    model.dispose();
    jobs.forEach((job, i) => {
      expect(job.status).toBe('completed');
      expect(job.data.id).toBe(i);
      (job.data.output as number[]).forEach((v, k) => {
        expect(v).toBeCloseTo(expected[i]![k]!, 5);
      });
    });
    const worker = runtime.listWorkers()[0]!;
    const stats = readInferenceStats(worker, 'infer')!;
    expect(stats.backend).toBe('wasm');
    expect(stats.thread).toBeGreaterThan(0);
    expect(stats.lastBatchSize).toBeLessThanOrEqual(8);
    // The thread kept its model: its batch count went on from one load (a reload would restart it).
    expect(stats.batches).toBeGreaterThan(1);
    expect(stats.items).toBeGreaterThan(stats.batches);
  }, 60_000);
});

/**
 * Runs flows/inference.ts: posts generated readings, waits for every job, and prints the
 * backend, throughput, batch statistics and accuracy.
 *
 *   npm run inference [-- --items 20000 --batch 64 --threads 2 --infer-on-pool]
 */
import { parseArgs } from 'node:util';
import { Runtime, readInferenceStats } from '../src/index.ts';
import inference from '../flows/inference.ts';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '32' },
    threads: { type: 'string', default: '1' },
    'infer-on-pool': { type: 'boolean', default: false },
  },
});
const items = Number(values.items);
const maxBatch = Number(values.batch);
const threads = Number(values.threads);

await using runtime = new Runtime({ pool: { threads } });
runtime.register(inference, { maxBatch, inferPlacement: values['infer-on-pool'] ? 'pool' : 'inline' });
// The first item loads the model (and trains it on a fresh clone): not part of the timing.
const [worker, first] = runtime.post('inference', 'prep', 'in', { id: -1 });
await runtime.waitForJob(first.jobId);
const started = performance.now();
const jobs = [];
for (let i = 0; i < items; i++) jobs.push((await runtime.postAsync('inference', 'prep', 'in', { id: i }))[1]);
await runtime.waitUntilAllJobsFinished();
const seconds = (performance.now() - started) / 1000;
const failed = jobs.filter((j) => j.status !== 'completed').length;
const stats = readInferenceStats(worker, 'infer');
const sink = worker.getRoutineState('sink') as { count?: number; accuracy?: number };
console.log(`backend: ${stats?.backend ?? 'unknown'} (TensorFlow.js ${stats?.tfBackend ?? '?'}, thread ${stats?.thread ?? '?'})`);
console.log(`flow inference: ${items.toLocaleString('en-US')} items in ${seconds.toFixed(2)} s = ${Math.round(items / seconds).toLocaleString('en-US')} items/s (${failed} failed)`);
if (stats !== undefined) {
  console.log(`batches: ${stats.batches} (mean ${(stats.items / Math.max(1, stats.batches)).toFixed(1)} items, ${stats.meanBatchMs.toFixed(2)} ms), tensors after the last batch: ${stats.numTensors} (${stats.numBytes} bytes)`);
}
console.log(`accuracy: ${(((sink.accuracy ?? 0) as number) * 100).toFixed(1)}% over ${sink.count ?? 0} items`);
process.exitCode = failed === 0 ? 0 : 1;

/**
 * Inference benchmarks: the example MLP of flows/inference.ts (16 → 32 → 3) behind an
 * {@link InferenceRoutine}, each beside plain TensorFlow.js `predict` on the same batches in the
 * same process (tensor in, predict, read back, dispose):
 *
 * - items/s and mean batch latency by batch size (1, 8, 32, 128), inline, on the wasm backend;
 * - the routine on the pool with 1 and 2 threads (batch 32; one model per thread);
 * - the governor: a latency target of 1.5 × the batch-32 latency, starting at 128, with
 *   `createInferenceRules`; the batch it settles on and its items/s against the best fixed batch.
 *
 * This module is also the benchmark's flow module (pool threads import it to rebuild the flow).
 * Run standalone with `node --import tsx bench/inference.ts [--quick]`; results go to
 * bench/results/inference.json.
 */
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { Flow, Routine, Runtime, defineFlow, type SlotItems } from '../src/index.ts';
import {
  InferenceRoutine,
  createInferenceGovernable,
  createInferenceRules,
  fileSystemLoader,
  loadTensorFlow,
  readInferenceStats,
  type BackendKind,
  type TensorFlow,
} from '../src/inference/index.ts';
import { Governor } from '../src/governor/index.ts';
import { ensureModel, kDefaultModelDir, kFeatures, sample, standardise } from '../flows/inference.ts';
import type { BenchRow } from './inline.ts';
import { printRows, writeResults } from './report.ts';
import { settle, summarize } from './stats.ts';

/** Options of {@link runInferenceBench}. */
export interface InferenceBenchOptions {
  /** One run per scenario and fewer items. */
  quick?: boolean;
  /** Items per run. */
  items?: number;
  /** Runs per scenario (the median is reported). */
  runs?: number;
  /** Batch sizes of the first scenario. */
  batches?: readonly number[];
  /** Backend of the main thread and the pool threads. */
  backend?: BackendKind;
}

/** Counts what reaches it (per worker, in routine state). */
class Count extends Routine {
  constructor() {
    super();
    this.addSlot('in', { overflow: 'block', maxQueueLength: 100_000 });
  }

  logic({ in: items }: SlotItems, ctx: { state: Readonly<Record<string, unknown>>; setState(p: Record<string, unknown>): void }): void {
    ctx.setState({ count: ((ctx.state.count as number | undefined) ?? 0) + (items as unknown[]).length });
  }
}

interface BenchParams extends Record<string, unknown> {
  id: string;
  maxBatch: number;
  placement: 'inline' | 'pool';
  backend: BackendKind;
  modelDir: string;
}

/** infer → count: the routine alone, so the ratio is the routine's cost over plain predict. */
const benchFlow = defineFlow<BenchParams>(
  import.meta.url,
  (p) =>
    new Flow(p.id)
      .addRoutine(
        new InferenceRoutine({
          model: { create: async (tf) => tf.loadLayersModel(fileSystemLoader(p.modelDir)) },
          maxBatch: p.maxBatch,
          timeoutMs: 1,
          tensorflow: { backend: p.backend },
          log: false,
        }),
        'infer',
        { placement: p.placement },
      )
      .addRoutine(new Count(), 'count')
      .connect('infer', 'prediction', 'count', 'in'),
  { defaults: { id: 'bench-inference', maxBatch: 32, placement: 'inline', backend: 'wasm', modelDir: kDefaultModelDir } },
);
export default benchFlow;

function makeRows(items: number): Float32Array[] {
  return Array.from({ length: items }, (_, i) => standardise(sample(i).raw));
}

/** Plain predict over the same rows in batches of `batch`: items/s and mean ms a batch. */
async function plainPredict(
  tf: TensorFlow,
  model: { predict(x: unknown): unknown },
  rows: readonly Float32Array[],
  batch: number,
): Promise<{ itemsPerSecond: number; batchMs: number }> {
  const started = performance.now();
  let batches = 0;
  for (let at = 0; at < rows.length; at += batch) {
    const chunk = rows.slice(at, at + batch);
    const flat = new Float32Array(chunk.length * kFeatures);
    chunk.forEach((r, i) => {
      flat.set(r, i * kFeatures);
    });
    const x = tf.tensor2d(flat, [chunk.length, kFeatures]);
    const y = model.predict(x) as { data(): Promise<Float32Array>; dispose(): void };
    await y.data();
    x.dispose();
    y.dispose();
    batches++;
  }
  const ms = performance.now() - started;
  return { itemsPerSecond: rows.length / (ms / 1000), batchMs: ms / batches };
}

async function runFlow(
  params: Partial<BenchParams>,
  rows: readonly Float32Array[],
  pool: { threads: number } | undefined,
  around?: (runtime: Runtime) => () => Promise<number>,
  minMs = 0,
): Promise<{ itemsPerSecond: number; batchMs: number; finalBatch?: number; items: number }> {
  await using runtime = new Runtime(pool === undefined ? {} : { pool: { threads: pool.threads } });
  runtime.register(benchFlow, params);
  const flowId = runtime.getFlow(params.id ?? 'bench-inference').id;
  const worker = runtime.exec(flowId);
  if (pool !== undefined) await runtime.pool.warmUp();
  // A whole untimed pass first: every thread loads its model (seconds) outside the timing.
  const warm = rows.length;
  await runtime.postAll(flowId, 'infer', 'in', rows, { workerId: worker.workerId });
  await runtime.waitUntilAllJobsFinished();
  const before = readInferenceStats(worker, 'infer');
  const stop = around?.(runtime);
  const started = performance.now();
  let posted = 0;
  // `minMs` repeats the rows until that long has passed (the governor needs ticks to act).
  do {
    await runtime.postAll(flowId, 'infer', 'in', rows, { workerId: worker.workerId });
    await runtime.waitUntilAllJobsFinished();
    posted += rows.length;
  } while (performance.now() - started < minMs);
  const ms = performance.now() - started;
  const finalBatch = await stop?.();
  const after = readInferenceStats(worker, 'infer');
  const count = (worker.getRoutineState('count').count as number) - warm;
  if (count !== posted) throw new Error(`expected ${posted} results, got ${count}`);
  const batches = Math.max(1, (after?.batches ?? 0) - (pool === undefined ? (before?.batches ?? 0) : 0));
  const batchMs =
    pool === undefined
      ? ((after?.meanBatchMs ?? 0) * (after?.batches ?? 0) - (before?.meanBatchMs ?? 0) * (before?.batches ?? 0)) / batches
      : (after?.meanBatchMs ?? Number.NaN);
  return { itemsPerSecond: posted / (ms / 1000), batchMs, items: posted, ...(finalBatch === undefined ? {} : { finalBatch }) };
}

function row(scenario: string, unit: string, sluice: number[], baseline: number[], note: string, higherIsBetter = true): BenchRow {
  const s = summarize(sluice);
  const b = summarize(baseline);
  return {
    scenario,
    unit,
    sluice: s.median,
    baseline: b.median,
    ratio: higherIsBetter ? s.median / b.median : b.median / s.median,
    spread: Math.max(s.spread, b.spread),
    note,
  };
}

/**
 * Runs the inference scenarios and returns their rows (printing is the caller's business).
 *
 * @example
 * ```ts
 * const { rows } = await runInferenceBench({ quick: true });
 * ```
 */
export async function runInferenceBench(options: InferenceBenchOptions = {}): Promise<{ rows: BenchRow[]; backend: string }> {
  const quick = options.quick ?? false;
  const items = options.items ?? (quick ? 2_000 : 10_000);
  const runs = options.runs ?? (quick ? 1 : 3);
  const batches = options.batches ?? [1, 8, 32, 128];
  const backend = options.backend ?? 'wasm';
  const { tf, info } = await loadTensorFlow({ backend });
  await ensureModel(tf, kDefaultModelDir);
  const model = await tf.loadLayersModel(fileSystemLoader(kDefaultModelDir));
  const rows = makeRows(items);
  // Warm the JIT and the backend's kernels for every batch size before anything is timed.
  for (const batch of batches) await plainPredict(tf, model, rows.slice(0, Math.min(rows.length, 4 * batch)), batch);
  const out: BenchRow[] = [];
  const fixed = new Map<number, { sluice: number; batchMs: number }>();

  for (const batch of batches) {
    // Batch 1 runs one activation and one predict per item: fewer items keep it short.
    const data = batch === 1 ? rows.slice(0, Math.min(rows.length, 2_000)) : rows;
    const s: number[] = [];
    const sMs: number[] = [];
    const b: number[] = [];
    const bMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const base = await plainPredict(tf, model, data, batch);
      b.push(base.itemsPerSecond);
      bMs.push(base.batchMs);
      await settle();
      const run = await runFlow({ id: `bench-b${batch}`, maxBatch: batch, backend }, data, undefined);
      s.push(run.itemsPerSecond);
      sMs.push(run.batchMs);
      await settle();
    }
    const throughput = row(
      `inline ${info.kind}, batch ${batch}`,
      'items/s',
      s,
      b,
      `${data.length} items; baseline: plain predict, same batches`,
    );
    out.push(throughput);
    out.push(
      row(
        `inline ${info.kind}, batch ${batch}: ms a batch`,
        'ms',
        sMs,
        bMs,
        'routine: tensor in, predict, read back, dispose (its stats) vs the same in a loop',
        false,
      ),
    );
    fixed.set(batch, { sluice: throughput.sluice, batchMs: summarize(sMs).median });
  }

  for (const threads of [1, 2]) {
    const s: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < runs; r++) {
      b.push((await plainPredict(tf, model, rows, 32)).itemsPerSecond);
      s.push((await runFlow({ id: `bench-pool${threads}`, maxBatch: 32, placement: 'pool', backend }, rows, { threads })).itemsPerSecond);
      await settle();
    }
    out.push(
      row(
        `pool ${threads} thread${threads === 1 ? '' : 's'}, batch 32`,
        'items/s',
        s,
        b,
        'one model per thread; baseline: plain predict on the main thread',
      ),
    );
  }

  // The governor under a latency target: 1.5 × the batch-32 latency, starting from 128.
  const largest = Math.max(...batches);
  const target = 1.5 * (fixed.get(32)?.batchMs ?? fixed.get(largest)?.batchMs ?? 1);
  const s: number[] = [];
  const settled: number[] = [];
  let governedItems = 0;
  for (let r = 0; r < runs; r++) {
    const run = await runFlow(
      { id: 'bench-governed', maxBatch: largest, backend },
      rows,
      undefined,
      (runtime) => {
        const governor = new Governor({ intervalMs: 250, rules: [], sensor: () => ({}) });
        const governable = createInferenceGovernable(runtime, 'bench-governed', 'infer');
        const registration = governor.register(governable, {
          rules: createInferenceRules({ name: governable.name, maxBatchLatencyMs: target, cooldownMs: 500 }),
        });
        governor.start();
        return async () => {
          await governor.stop();
          registration.dispose();
          return governable.knobs()[0]?.value ?? largest;
        };
      },
      quick ? 3_000 : 6_000,
    );
    governedItems = run.items;
    s.push(run.itemsPerSecond);
    settled.push(run.finalBatch ?? largest);
  }
  const meeting = [...fixed].filter(([, f]) => f.batchMs <= target);
  const best = (meeting.length > 0 ? meeting : [...fixed]).reduce((a, c) => (c[1].sluice > a[1].sluice ? c : a));
  const overall = [...fixed].reduce((a, c) => (c[1].sluice > a[1].sluice ? c : a));
  out.push({
    ...row(`governed, latency target ${target.toFixed(2)} ms`, 'items/s', s, [best[1].sluice], ''),
    note:
      `settled at batch ${summarize(settled).median} (runs: ${settled.join(', ')}); baseline: best fixed batch meeting the target ` +
      `(${best[0]}); best fixed overall: ${overall[0]} at ${Math.round(overall[1].sluice)} items/s; ${governedItems} items over ≥ ` +
      `${quick ? 3 : 6} s, convergence included`,
  });
  model.dispose();
  return { rows: out, backend: `${info.kind} (${info.package})` };
}

if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes('--quick');
  const { rows, backend } = await runInferenceBench({ quick });
  printRows(`inference (${backend})`, rows);
  const path = await writeResults('inference', rows);
  process.stdout.write(`\nwrote ${path}\n`);
}

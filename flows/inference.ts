/**
 * Batched model inference: a small MLP classifies synthetic 16-feature readings into 3 classes.
 *
 * - `prep` (placement `pool`) makes item `id`'s raw reading (deterministic, from the id) and
 *   standardises it into a `Float32Array`: the preprocessing, on worker threads,
 * - `infer` is an {@link InferenceRoutine}: batches of up to `maxBatch` rows through the model
 *   (TensorFlow.js on the best backend found; see docs/inference.md), one result per item,
 * - `post` turns the model's class probabilities into a label and a confidence,
 * - `sink` counts items and correct labels per worker (routine state) and writes each item's
 *   label into its job's `data`.
 *
 * The model is built by `npm run build-model` (scripts/build-model.ts) into `.sluice/models/`,
 * or here on first use when its files are missing, so a fresh clone runs as is (the first items
 * wait for it). Run it with `npx sluice run flows/inference.ts --items 20000 [--threads 2]
 * [--param maxBatch=64] [--param inferPlacement=pool]`: after the jobs it prints the backend,
 * the batches and the accuracy (its `report`).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flow, Routine, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';
import {
  InferenceRoutine,
  fileSystemLoader,
  fileSystemSaver,
  readInferenceStats,
  type BackendKind,
  type TensorFlow,
} from '../src/inference/index.ts';

/** Features per reading. */
export const kFeatures = 16;
/** Classes. */
export const kClasses = 3;
/** Where the model is kept unless a `modelDir` param says otherwise (git-ignored). */
export const kDefaultModelDir = fileURLToPath(new URL('../.sluice/models/blobs-mlp', import.meta.url));

/** mulberry32: a small seeded generator, so every thread makes the same data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(next: () => number): number {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

// Class centres in raw "sensor units" (around 100, spread 20), fixed by seed 7.
const kCentres: readonly (readonly number[])[] = (() => {
  const next = random(7);
  return Array.from({ length: kClasses }, () => Array.from({ length: kFeatures }, () => 100 + 20 * gaussian(next)));
})();
const kNoise = 14;

/** Reading number `id` (raw units) and its true class. */
export function sample(id: number): { raw: number[]; label: number } {
  const label = ((id % kClasses) + kClasses) % kClasses;
  const next = random(0x9e3779b9 ^ id);
  const centre = kCentres[label] as readonly number[];
  return { raw: centre.map((c) => c + kNoise * gaussian(next)), label };
}

/** Standardises a raw reading (the preprocessing): centre 100, scale 20. */
export function standardise(raw: readonly number[]): Float32Array {
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = ((raw[i] as number) - 100) / 20;
  return out;
}

/**
 * Builds and trains the MLP (16 → 32 relu → 3 softmax) on 3,000 readings, deterministically
 * (seeded initialisers, no shuffling), and saves it into `dir`. A couple of seconds on wasm.
 */
export async function trainModel(tf: TensorFlow, dir: string): Promise<{ accuracy: number; seconds: number }> {
  const started = performance.now();
  const n = 3000;
  const xs = new Float32Array(n * kFeatures);
  const ys = new Float32Array(n * kClasses);
  for (let i = 0; i < n; i++) {
    const { raw, label } = sample(1_000_000 + i);
    xs.set(standardise(raw), i * kFeatures);
    ys[i * kClasses + label] = 1;
  }
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 32,
        activation: 'relu',
        inputShape: [kFeatures],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({ units: kClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.tensor2d(xs, [n, kFeatures]);
  const y = tf.tensor2d(ys, [n, kClasses]);
  try {
    const history = await model.fit(x, y, { epochs: 8, batchSize: 64, shuffle: false, verbose: 0 });
    await model.save(fileSystemSaver(dir));
    const acc = history.history.acc ?? history.history.accuracy ?? [];
    return { accuracy: Number(acc[acc.length - 1] ?? Number.NaN), seconds: (performance.now() - started) / 1000 };
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
}

/** Trains and saves the model into `dir` unless its `model.json` is there already. */
export async function ensureModel(tf: TensorFlow, dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'model.json'));
    return false;
  } catch {
    await trainModel(tf, dir);
    return true;
  }
}

/** A posted item. */
export interface Reading {
  id: number;
}

/** Makes and standardises each reading: the preprocessing, on the pool. */
export class Prep extends Routine {
  constructor() {
    super();
    this.addSlot('in', { overflow: 'block' });
    this.addEvent('row', ['id', 'label', 'input']);
  }

  logic({ in: items }: SlotItems<{ in: Reading }>): void {
    for (const item of items) {
      if (!Number.isInteger(item?.id)) throw new TypeError(`reading has no integer id: ${JSON.stringify(item)}`);
      const { raw, label } = sample(item.id);
      this.emit('row', { id: item.id, label, input: standardise(raw) });
    }
  }
}

/** Class probabilities to a label and its confidence. */
export class Post extends Routine {
  constructor() {
    super();
    // A pool batch of `infer` emits thousands of results at once: wait for room, never refuse.
    this.addSlot('in', { overflow: 'block' });
    this.addEvent('labelled', ['id', 'label', 'predicted', 'confidence']);
  }

  logic({ in: items }: SlotItems): void {
    for (const r of items as Array<{ id: number; label: number; output: Float32Array }>) {
      let best = 0;
      for (let c = 1; c < r.output.length; c++) if ((r.output[c] as number) > (r.output[best] as number)) best = c;
      this.emit('labelled', { id: r.id, label: r.label, predicted: best, confidence: r.output[best] });
    }
  }
}

/** Counts items and correct labels per worker; writes each item's label into its job. */
export class LabelSink extends Routine {
  constructor() {
    super();
    this.addSlot('in', { overflow: 'block' });
  }

  logic(_items: SlotItems, ctx: ActivationContext<{ count: number; correct: number; accuracy: number }>): void {
    let { count = 0, correct = 0 } = ctx.state;
    for (const { data, job } of ctx.entries('in')) {
      const r = data as { predicted: number; label: number; confidence: number };
      count++;
      if (r.predicted === r.label) correct++;
      job.data.predicted = r.predicted;
      job.data.confidence = r.confidence;
    }
    ctx.setState({ count, correct, accuracy: count === 0 ? 0 : correct / count });
  }
}

/** Params of the inference flow. */
export interface InferenceParams extends Record<string, unknown> {
  id: string;
  /** The largest batch (the governor's ceiling). */
  maxBatch: number;
  /** Longest a partial batch waits, ms. */
  timeoutMs: number;
  /** Where `prep` runs. */
  prepPlacement: 'inline' | 'pool';
  /** Where `infer` runs (on the pool: one model per thread). */
  inferPlacement: 'inline' | 'pool';
  /** The model's folder. */
  modelDir: string;
  /** Which backends to try (`auto`: node-gpu, node, wasm, cpu). */
  backend: 'auto' | BackendKind;
  /** Print the backend line when the model loads. */
  log: boolean;
}

export default defineFlow<InferenceParams>(
  import.meta.url,
  (p) =>
    new Flow(p.id)
      .addRoutine(new Prep(), 'prep', { placement: p.prepPlacement })
      .addRoutine(
        new InferenceRoutine({
          model: {
            create: async (tf) => {
              await ensureModel(tf, p.modelDir);
              return tf.loadLayersModel(fileSystemLoader(p.modelDir));
            },
          },
          maxBatch: p.maxBatch,
          timeoutMs: p.timeoutMs,
          tensorflow: { backend: p.backend },
          ...(p.log ? {} : { log: false as const }),
        }),
        'infer',
        { placement: p.inferPlacement },
      )
      .addRoutine(new Post(), 'post')
      .addRoutine(new LabelSink(), 'sink')
      .pipe('prep', 'infer', 'post', 'sink'),
  {
    description: 'prep (pool) → infer (TensorFlow.js, batched) → post → sink: an MLP classifies synthetic readings',
    defaults: {
      id: 'inference',
      maxBatch: 32,
      timeoutMs: 5,
      prepPlacement: 'pool',
      inferPlacement: 'inline',
      modelDir: kDefaultModelDir,
      backend: 'auto',
      log: true,
    },
    input: { routine: 'prep', slot: 'in', generate: (i) => ({ id: i }) },
    // What `sluice run flows/inference.ts` prints after the jobs: backend, batches, accuracy.
    report: (worker) => {
      const stats = readInferenceStats(worker, 'infer');
      const sink = (worker.getRoutineState('sink') ?? {}) as { count?: number; accuracy?: number };
      return {
        backend: `${stats?.backend ?? 'unknown'} (TensorFlow.js ${stats?.tfBackend ?? '?'}, thread ${stats?.thread ?? '?'})`,
        ...(stats === undefined
          ? {}
          : {
              batches:
                `${stats.batches} (mean ${(stats.items / Math.max(1, stats.batches)).toFixed(1)} items, ` +
                `${stats.meanBatchMs.toFixed(2)} ms), tensors after the last batch: ${stats.numTensors} (${stats.numBytes} bytes)`,
            }),
        accuracy: `${((sink.accuracy ?? 0) * 100).toFixed(1)}% over ${sink.count ?? 0} items`,
      };
    },
  },
);

/**
 * One loaded model in one thread: TensorFlow.js with its backend, the model, its input shape,
 * and the running stats. `predict()` turns a batch of flat rows into one output per row and
 * disposes every tensor it made, so `tf.memory().numTensors` is the same after every batch.
 */
import { threadId } from 'node:worker_threads';
import type * as tfjs from '@tensorflow/tfjs';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { InferenceStats } from './inference-stats.ts';
import { loadModel, type ModelSource } from './model-source.ts';
import { loadTensorFlow, type BackendInfo, type TensorFlow, type TensorFlowOptions } from './tensorflow-backend.ts';

/** One row's prediction: a `Float32Array`, or one per output for a multi-output model. */
export type Prediction = Float32Array | Float32Array[];

/** Options of {@link ModelSession.open}. */
export interface ModelSessionOptions {
  /** Where the model comes from. */
  readonly model: ModelSource;
  /** Backend selection; see {@link TensorFlowOptions}. */
  readonly tensorflow?: TensorFlowOptions;
  /** Run one prediction at load, so the first batch does not pay for kernel setup. */
  readonly warmUp?: boolean;
  /** Names the model in errors. */
  readonly label?: string;
}

/**
 * A model ready to predict, with its stats.
 *
 * @example
 * ```ts
 * const session = await ModelSession.open({ model: { path: '.sluice/models/mlp' } });
 * const [first] = await session.predict(new Float32Array(session.inputSize * 2), 2);
 * session.stats().numTensors;
 * ```
 */
export class ModelSession {
  readonly tf: TensorFlow;
  readonly model: tfjs.LayersModel;
  readonly info: BackendInfo;
  /** The shape of one row (the model's input shape without the batch dimension). */
  readonly inputShape: readonly number[];
  /** Numbers in one row. */
  readonly inputSize: number;
  readonly label: string;
  #loadMs = 0;
  #batches = 0;
  #items = 0;
  #totalMs = 0;
  #lastMs = 0;
  #lastSize = 0;
  #numTensors = 0;
  #numBytes = 0;
  #batchBytes = 0;
  #updatedAt = 0;

  private constructor(tf: TensorFlow, model: tfjs.LayersModel, info: BackendInfo, label: string) {
    this.tf = tf;
    this.model = model;
    this.info = info;
    this.label = label;
    const input = model.inputs[0];
    const shape = input?.shape.slice(1) ?? [];
    if (model.inputs.length !== 1 || shape.some((d) => typeof d !== 'number' || d <= 0)) {
      throw new SluiceError(
        ErrorCode.ModelLoadFailed,
        `${label} must have one input of a fixed shape, got ${model.inputs.length} input(s) of shape ` +
          `${JSON.stringify(input?.shape ?? null)}`,
      );
    }
    this.inputShape = Object.freeze(shape as number[]);
    this.inputSize = (shape as number[]).reduce((a, b) => a * b, 1);
    const memory = tf.memory();
    this.#numTensors = memory.numTensors;
    this.#numBytes = memory.numBytes;
  }

  /** Loads TensorFlow.js (once per thread) and the model, and warms it up. */
  static async open(options: ModelSessionOptions): Promise<ModelSession> {
    const started = performance.now();
    const label = options.label ?? 'model';
    const { tf, info } = await loadTensorFlow(options.tensorflow ?? {});
    const model = await loadModel(tf, options.model, label);
    const session = new ModelSession(tf, model, info, label);
    if (options.warmUp !== false) await session.#run(new Float32Array(session.inputSize), 1);
    session.#loadMs = performance.now() - started;
    return session;
  }

  /** Milliseconds spent loading the backend and the model (and warming up). */
  get loadMs(): number {
    return this.#loadMs;
  }

  /**
   * Predicts `rows` rows laid out one after another in `flat` (`rows × inputSize` numbers) and
   * returns one prediction per row. Every tensor made is disposed before it returns.
   */
  async predict(flat: Float32Array, rows: number): Promise<Prediction[]> {
    const started = performance.now();
    const outputs = await this.#run(flat, rows);
    const ms = performance.now() - started;
    const memory = this.tf.memory();
    this.#batches++;
    this.#items += rows;
    this.#totalMs += ms;
    this.#lastMs = ms;
    this.#lastSize = rows;
    this.#numTensors = memory.numTensors;
    this.#numBytes = memory.numBytes;
    this.#updatedAt = Date.now();
    return outputs;
  }

  async #run(flat: Float32Array, rows: number): Promise<Prediction[]> {
    const { tf, model } = this;
    const x = tf.tensor(flat, [rows, ...this.inputShape]);
    let y: tfjs.Tensor | tfjs.Tensor[] = [];
    let data: Float32Array[];
    try {
      y = tf.tidy(() => model.predict(x));
      // Weights, the batch's input and its outputs are alive now: what the batch holds.
      this.#batchBytes = tf.memory().numBytes;
      const tensors = Array.isArray(y) ? y : [y];
      // wasm and cpu compute synchronously: reading back synchronously keeps the event loop out
      // of the batch. Native backends read asynchronously so the thread is not held meanwhile.
      const read =
        this.info.kind === 'wasm' || this.info.kind === 'cpu'
          ? tensors.map((t) => t.dataSync())
          : await Promise.all(tensors.map((t) => t.data()));
      data = read.map((d) => (d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>)));
    } finally {
      tf.dispose(x);
      tf.dispose(y);
    }
    const out: Prediction[] = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const parts = data.map((d) => {
        const width = d.length / rows;
        // slice, not subarray: each row owns its buffer, so it can be transferred across threads.
        return d.slice(r * width, (r + 1) * width);
      });
      out[r] = Array.isArray(y) ? parts : (parts[0] as Float32Array);
    }
    return out;
  }

  /** A snapshot of this model's stats. */
  stats(): InferenceStats {
    return {
      backend: this.info.kind,
      tfBackend: this.info.backend,
      gpu: this.info.gpu,
      thread: threadId,
      loadMs: this.#loadMs,
      batches: this.#batches,
      items: this.#items,
      lastBatchSize: this.#lastSize,
      lastBatchMs: this.#lastMs,
      meanBatchMs: this.#batches === 0 ? 0 : this.#totalMs / this.#batches,
      numTensors: this.#numTensors,
      numBytes: this.#numBytes,
      batchBytes: this.#batchBytes,
      updatedAt: this.#updatedAt,
    };
  }
}

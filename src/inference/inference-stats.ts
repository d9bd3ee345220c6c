/**
 * What an inference routine reports about its model after every batch: the backend, counts,
 * batch latency and TensorFlow.js memory. Stats are the loaded model's, so per thread: every
 * worker of a flow in one thread shares that thread's model, and on the pool each thread has
 * its own (`thread` names it).
 */
import type { BackendKind } from './tensorflow-backend.ts';

/** The key under which an inference routine keeps its stats in routine state. */
export const kInferenceStateKey = 'inference';

/**
 * A snapshot of one loaded model, as `worker.getRoutineState(id).inference` shows it.
 *
 * @example
 * ```ts
 * const stats = worker.getRoutineState('infer').inference as InferenceStats;
 * console.log(`${stats.backend}: ${stats.items} items in ${stats.batches} batches, ${stats.meanBatchMs.toFixed(2)} ms a batch`);
 * ```
 */
export interface InferenceStats {
  /** The backend kind in use (`node-gpu`, `node`, `wasm`, `cpu`). */
  readonly backend: BackendKind;
  /** TensorFlow.js's own backend name (`tensorflow`, `wasm`, `cpu`). */
  readonly tfBackend: string;
  /** True when tensors live in GPU memory. */
  readonly gpu: boolean;
  /** The thread (`worker_threads.threadId`; 0 is the main thread) that holds this model. */
  readonly thread: number;
  /** Milliseconds spent loading the backend and the model. */
  readonly loadMs: number;
  /** Batches predicted. */
  readonly batches: number;
  /** Items predicted. */
  readonly items: number;
  /** Items in the latest batch. */
  readonly lastBatchSize: number;
  /** Milliseconds of the latest batch (tensor in, predict, read back, dispose). */
  readonly lastBatchMs: number;
  /** Mean milliseconds per batch. */
  readonly meanBatchMs: number;
  /** `tf.memory().numTensors` after the latest batch (stable when nothing leaks). */
  readonly numTensors: number;
  /** `tf.memory().numBytes` after the latest batch: the weights plus anything held. */
  readonly numBytes: number;
  /** `tf.memory().numBytes` during the latest batch: weights plus its input and output tensors. */
  readonly batchBytes: number;
  /** `Date.now()` of the latest batch. */
  readonly updatedAt: number;
}

/**
 * The stats an inference routine left in a worker's routine state, or undefined before its
 * first batch.
 *
 * @example
 * ```ts
 * readInferenceStats(worker, 'infer')?.backend; // 'wasm'
 * ```
 */
export function readInferenceStats(
  worker: { getRoutineState(id: string): Record<string, unknown> | undefined },
  routineId: string,
): InferenceStats | undefined {
  const value = worker.getRoutineState(routineId)?.[kInferenceStateKey];
  return typeof value === 'object' && value !== null ? { ...(value as InferenceStats) } : undefined;
}

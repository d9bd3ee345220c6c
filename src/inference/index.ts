/**
 * Model inference with TensorFlow.js: backend selection (native GPU, native CPU, wasm, cpu),
 * model loading from disk or code, the batched {@link InferenceRoutine}, and its governor
 * subsystem. The package's `sluice/inference` entry, and the inference folder's door: other
 * folders import from here only. TensorFlow.js is an optional peer dependency: install
 * `@tensorflow/tfjs` and a backend beside sluice to use it.
 *
 * @example
 * ```ts
 * import { InferenceRoutine, createInferenceGovernable, createInferenceRules } from 'sluice/inference';
 * ```
 * @module sluice/inference
 */
export {
  loadTensorFlow,
  selectBackend,
  resetTensorFlowCache,
  detectNvidiaGpu,
  defaultWasmPath,
  kBackendKinds,
  kBackendPackages,
} from './tensorflow-backend.ts';
export type {
  TensorFlow,
  BackendKind,
  BackendInfo,
  BackendAttempt,
  TensorFlowOptions,
  LoadedTensorFlow,
  ModuleImporter,
} from './tensorflow-backend.ts';
export { fileSystemSaver, fileSystemLoader } from './file-model-io.ts';
export { loadModel, assertModelSource } from './model-source.ts';
export type { ModelSource } from './model-source.ts';
export { ModelSession } from './model-session.ts';
export type { ModelSessionOptions, Prediction } from './model-session.ts';
export { InferenceRoutine, kInferenceSlot, kPredictionEvent } from './inference-routine.ts';
export type { InferenceRoutineOptions, InferenceItem, InferenceResult, InferenceLog } from './inference-routine.ts';
export { readInferenceStats, kInferenceStateKey } from './inference-stats.ts';
export type { InferenceStats } from './inference-stats.ts';
export { createInferenceGovernable, createInferenceRules, InferenceMetric } from './inference-governable.ts';
export type { InferenceGovernableOptions, InferenceRulesOptions, InferenceReading } from './inference-governable.ts';

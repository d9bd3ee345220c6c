/**
 * sluice — a worker-thread dataflow engine for Node.js.
 *
 * Every public export is listed here, folder by folder.
 *
 * @packageDocumentation
 */

// Errors
export { ErrorCode, SluiceError, SlotQueueFullError, TimeoutError, RoutineError, isSluiceError, isSlotQueueFullError } from './core/index.ts';
export type { ErrorCodeValue, SluiceErrorOptions } from './core/index.ts';

// Time
export { RealClock, ManualClock, realClock } from './core/index.ts';
export type { Clock, TimerHandle } from './core/index.ts';

// Routines, slots and events
export { Routine } from './core/index.ts';
export type { Logic, SlotItems, EventSpec, SlotOptions, SlotSpec, SlotStatus, SlotCounters, OverflowPolicy, PressureLevel } from './core/index.ts';
export { RingQueue, ArrayQueue } from './core/index.ts';
export type { SlotQueue } from './core/index.ts';

// Activation policies
export { immediate, allSlotsReady, batchSize, timeInterval, custom, policies } from './core/index.ts';
export type {
  ActivationPolicy,
  ActivationDecision,
  Activate,
  Wait,
  SlotsView,
  PolicyContext,
  EvaluationReason,
  AllSlotsReadyOptions,
  BatchSizeOptions,
  CustomCheck,
} from './core/index.ts';

// Flows and flow modules
export { Flow, defineFlow, isFlowModule, loadFlowModule } from './core/index.ts';
export type { FlowOptions, RoutineOptions, RoutineEntry, Connection, FlowWarning, FlowSource, Placement, PipeStep, FlowModule, FlowModuleMeta, FlowInput } from './core/index.ts';

// Error handling
export { ErrorStrategy } from './core/index.ts';
export type { ErrorHandlerOptions, ErrorStrategyValue } from './core/index.ts';

// Jobs, workers and the activation context
export { JobContext, WorkerState, currentJob, currentJobs, currentWorker, currentRoutine, emit } from './core/index.ts';
export type { JobStatus, TraceEntry, JobSnapshot, WorkerStatus, WorkerCounters, ActivationRecord, WorkerSnapshot, ActivationContext, EmitOptions, ItemEntry } from './core/index.ts';

// The runtime
export { Runtime } from './runtime/index.ts';
export type { RuntimeOptions, RuntimeStatus, PostOptions, PostAsyncOptions, PostAllOptions, CloseReport, RuntimeStats, JobFilter } from './runtime/index.ts';

// The thread pool
export { ThreadPool } from './pool/index.ts';
export type { ThreadPoolOptions, ThreadPoolStats, ThreadPoolStatus, TimePercentiles, ThreadStats } from './pool/index.ts';
export type { PlacementStats } from './runtime/index.ts';
export { InferenceRoutine, ModelSession, loadTensorFlow, selectBackend, resetTensorFlowCache, detectNvidiaGpu, defaultWasmPath, kBackendKinds, kBackendPackages, fileSystemSaver, fileSystemLoader, loadModel, readInferenceStats, createInferenceGovernable, createInferenceRules, InferenceMetric, kInferenceSlot, kPredictionEvent, kInferenceStateKey, type TensorFlow, type BackendKind, type BackendInfo, type BackendAttempt, type TensorFlowOptions, type LoadedTensorFlow, type ModuleImporter, type ModelSource, type ModelSessionOptions, type Prediction, type InferenceRoutineOptions, type InferenceItem, type InferenceResult, type InferenceLog, type InferenceStats, type InferenceGovernableOptions, type InferenceRulesOptions, type InferenceReading } from './inference/index.ts';

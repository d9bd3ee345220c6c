/**
 * sluice — a worker-thread dataflow engine for Node.js.
 *
 * The root export is what a flow author needs: routines, slots and policies, flows and flow
 * modules, the runtime, jobs and the activation context, errors. Everything else has a subpath
 * of its own: `sluice/bus` (the live event bus), `sluice/store` (the durable event log),
 * `sluice/governor`, `sluice/resilience` (breakers, health, lifecycle), `sluice/telemetry`,
 * `sluice/pool` (the thread pool), `sluice/harness` (benchmarks), `sluice/testing` (a manual
 * clock, an in-memory log) and `sluice/inference` (TensorFlow.js).
 *
 * @packageDocumentation
 * @module sluice
 */

// Errors
export {
  ErrorCode,
  SluiceError,
  SlotQueueFullError,
  TimeoutError,
  RoutineError,
  isSluiceError,
  isSlotQueueFullError,
} from './core/index.ts';
export type { ErrorCodeValue, SluiceErrorOptions, DisposableHandle } from './core/index.ts';

// Routines and slots
export { Routine } from './core/index.ts';
export type {
  Logic,
  SlotItems,
  EventSpec,
  SlotOptions,
  SlotSpec,
  SlotStatus,
  SlotCounters,
  OverflowPolicy,
  PressureLevel,
} from './core/index.ts';

// Activation policies
export { immediate, allSlotsReady, batchSize, timeInterval, custom } from './core/index.ts';
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

// Flows, flow modules and error handling
export { Flow, defineFlow, isFlowModule, loadFlowModule, ErrorStrategy } from './core/index.ts';
export type {
  FlowOptions,
  RoutineOptions,
  RoutineEntry,
  Connection,
  FlowWarning,
  Placement,
  PipeStep,
  Fallback,
  Distribution,
  FlowModule,
  FlowModuleMeta,
  FlowInput,
  ErrorHandler,
  ErrorHandlerOptions,
} from './core/index.ts';

// Jobs, workers and the activation context
export { JobContext, WorkerState, currentJob, currentJobs, currentWorker, currentRoutine, emit } from './core/index.ts';
export type { JobStatus, JobSnapshot, WorkerStatus, WorkerSnapshot, ActivationContext, EmitOptions } from './core/index.ts';

// The runtime
export { Runtime, RuntimeTopic } from './runtime/index.ts';
export type {
  RuntimeOptions,
  RuntimeStatus,
  PostOptions,
  PostAsyncOptions,
  PostAllOptions,
  CloseReport,
  RuntimeStats,
  RecordOptions,
  RuntimeTopicName,
  StreamRun,
} from './runtime/index.ts';
export type { CheckpointInfo } from './core/index.ts';

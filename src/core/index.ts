/** The core model: routines, slots, policies, flows, jobs, workers, context and errors. */
export {
  ErrorCode,
  SluiceError,
  SlotQueueFullError,
  TimeoutError,
  RoutineError,
  isSluiceError,
  isSlotQueueFullError,
  describeValue,
} from './errors.ts';
export type { ErrorCodeValue, SluiceErrorOptions } from './errors.ts';
export { RealClock, ManualClock, realClock, setLongTimeout, kMaxTimerMs } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { RingQueue, ArrayQueue } from './slot-queue.ts';
export type { SlotQueue } from './slot-queue.ts';
export { Slot, OfferResult, resolveSlotOptions, kOverflowPolicies } from './slot.ts';
export type { SlotOptions, SlotSpec, SlotStatus, SlotCounters, OverflowPolicy, PressureLevel, QueuedItem } from './slot.ts';
export {
  immediate,
  allSlotsReady,
  batchSize,
  timeInterval,
  custom,
  policies,
  checkDecision,
  isBuiltinPolicy,
} from './activation-policy.ts';
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
} from './activation-policy.ts';
export { Routine } from './routine.ts';
export type { Logic, SlotItems, EventSpec } from './routine.ts';
export { Flow } from './flow.ts';
export type {
  FlowOptions,
  RoutineOptions,
  RoutineEntry,
  Connection,
  FlowWarning,
  FlowSource,
  Placement,
  PipeStep,
  Fallback,
  Distribution,
} from './flow.ts';
export { defineFlow, isFlowModule, loadFlowModule, toModuleUrl } from './flow-module.ts';
export type { FlowModule, FlowModuleMeta, FlowInput } from './flow-module.ts';
export { ErrorStrategy, resolveErrorHandler, retryDelay, kDefaultErrorHandler } from './error-handler.ts';
export type { ErrorHandler, ErrorHandlerOptions, ErrorStrategyValue } from './error-handler.ts';
export { JobContext } from './job-context.ts';
export type { JobStatus, TraceEntry, JobSnapshot } from './job-context.ts';
export { WorkerState } from './worker-state.ts';
export type { WorkerStatus, WorkerCounters, ActivationRecord, WorkerSnapshot } from './worker-state.ts';
export { currentJob, currentJobs, currentWorker, currentRoutine, emit } from './context.ts';
export type { ActivationContext, EmitOptions, ItemEntry } from './context.ts';
export { createDisposable } from './disposable.ts';
export type { DisposableHandle } from './disposable.ts';
export { describeFlow } from './flow-description.ts';
export type { OtelTracerProvider, OtelSpan } from './otel.ts';
export { traceparentOf } from './otel.ts';
export type { CheckpointInfo } from './checkpoint-info.ts';

/**
 * sluice — a worker-thread dataflow engine for Node.js.
 *
 * Every public export is listed here, folder by folder.
 *
 * @packageDocumentation
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
export type { ErrorCodeValue, SluiceErrorOptions } from './core/index.ts';
export type { DisposableHandle } from './core/index.ts';

// Time
export { RealClock, ManualClock, realClock, setLongTimeout, kMaxTimerMs } from './core/index.ts';
export type { Clock, TimerHandle } from './core/index.ts';

// Routines, slots and events
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
export type {
  FlowOptions,
  RoutineOptions,
  RoutineEntry,
  Connection,
  FlowWarning,
  FlowSource,
  Placement,
  PipeStep,
  FlowModule,
  FlowModuleMeta,
  FlowInput,
} from './core/index.ts';

// Error handling
export { ErrorStrategy } from './core/index.ts';
export type { ErrorHandler, ErrorHandlerOptions, ErrorStrategyValue } from './core/index.ts';

// Jobs, workers and the activation context
export { JobContext, WorkerState, currentJob, currentJobs, currentWorker, currentRoutine, emit } from './core/index.ts';
export type {
  JobStatus,
  TraceEntry,
  JobSnapshot,
  WorkerStatus,
  WorkerCounters,
  ActivationRecord,
  WorkerSnapshot,
  ActivationContext,
  EmitOptions,
  ItemEntry,
} from './core/index.ts';

// The runtime
export { Runtime } from './runtime/index.ts';
export type {
  RuntimeOptions,
  RuntimeStatus,
  PostOptions,
  PostAsyncOptions,
  PostAllOptions,
  CloseReport,
  RuntimeStats,
  JobFilter,
  DurationSnapshot,
  FailureSummary,
  FailureTallySnapshot,
} from './runtime/index.ts';

// Runtime events and the recording of a run
export { RuntimeTopic, kDefaultRecordedTopics } from './runtime/index.ts';
export type { RuntimeTopicName, ActivationFinishedPayload, RecordOptions } from './runtime/index.ts';

// The event bus (live path)
export {
  EventBus,
  BusOverflowTopic,
  getBus,
  resetBus,
  Heartbeat,
  HeartbeatTopic,
  createHeartbeat,
  LivenessMonitor,
  DropOldestQueue,
  compileTopicPattern,
} from './bus/index.ts';
export type {
  BusEvent,
  EventSink,
  BusDisposable,
  EventBusOptions,
  SubscribeOptions,
  PublishOptions,
  ShutdownOptions,
  TopicPattern,
  HeartbeatOptions,
  HeartbeatPayload,
  Liveness,
  LivenessMonitorOptions,
  RunLiveness,
} from './bus/index.ts';

// The event log (durable path)
export { MemoryEventLog, SqliteEventLog, DurableSink, kSchemaVersion, kDefaultRetention } from './store/index.ts';
export type {
  EventLog,
  RunInfo,
  RunStatus,
  AppendResult,
  SinceOptions,
  ReplayOptions,
  PruneOptions,
  PruneResult,
  WaitForOptions,
  SqliteEventLogOptions,
  DurableSinkOptions,
  SinkHealth,
  SinkHealthStatus,
  SinkStats,
  SinkCloseResult,
} from './store/index.ts';

// Telemetry
export {
  LatencyTracker,
  ThroughputCounter,
  DriftMonitor,
  SystemProbe,
  Telemetry,
  TelemetryTopic,
  createSystemInformationSource,
  createOsProbeSource,
} from './telemetry/index.ts';
export type {
  LatencyTrackerOptions,
  LatencySnapshot,
  ThroughputCounterOptions,
  ThroughputSnapshot,
  DriftMonitorOptions,
  DriftResult,
  DriftDirection,
  SystemProbeOptions,
  SystemSnapshot,
  TelemetryOptions,
  TelemetrySnapshot,
} from './telemetry/index.ts';

// The Dynamic Resource Governor
export {
  Governor,
  PolicyRule,
  createDefaultRules,
  createGovernable,
  AdmissionGate,
  createSystemSensor,
  combineSensors,
  Action,
  Metric,
  KnobKinds,
  GovernorTopic,
  signalTopic,
  Ema,
  MetricProfiler,
  createKalmanFilter,
} from './governor/index.ts';
export type {
  GovernorOptions,
  GovernorBus,
  Governable,
  KnobDescriptor,
  KnobKind,
  Decision,
  TickReport,
  PolicyRuleOptions,
  SensorSource,
  SensorReadings,
  MetricProfile,
  AdmissionGateOptions,
  AdmissionStats,
} from './governor/index.ts';

// Resilience: breakers, health, lifecycle, timeouts
export {
  SluiceBreaker,
  BreakerRegistry,
  BreakerOpenError,
  isBreakerOpenError,
  HealthRegistry,
  RuntimeStateMachine,
  withTimeout,
  ResilienceTopic,
} from './resilience/index.ts';
export type {
  BreakerOptions,
  BreakerState,
  BreakerSnapshot,
  HealthStatus,
  HealthReport,
  HealthSnapshot,
  SubsystemHealth,
  RuntimeState,
  RuntimeTransition,
  WithTimeoutOptions,
} from './resilience/index.ts';
export type { Fallback } from './core/index.ts';

// The thread pool
export { ThreadPool } from './pool/index.ts';
export type {
  ThreadPoolOptions,
  ResolvedThreadPoolOptions,
  ThreadPoolStats,
  ThreadPoolStatus,
  TimePercentiles,
  ThreadStats,
} from './pool/index.ts';
export type { PlacementStats } from './runtime/index.ts';

// Types the exports above refer to (so the API reference is complete)
export type {
  TopicStats,
  BusStats,
  EventHandler,
  OverflowStats,
  QueueSize,
  ShutdownResult,
  SubscriberSnapshot,
  Subscription,
} from './bus/index.ts';
export type {
  KnobSpec,
  KalmanModel,
  ResolvedKnob,
  ActuatorContext,
  Actuator,
  AdmissionVerdict,
  CreateGovernableOptions,
  Forecaster,
  GovernorDisposable,
  GovernorStats,
  GovernorTopicName,
  KalmanOptions,
  ManagedSensor,
  ProfilerOptions,
  RegisterOptions,
  RuleCondition,
  RuleDirection,
  RuleInput,
  SubsystemSnapshot,
  SystemSensorOptions,
} from './governor/index.ts';
export type {
  BreakerPermit,
  BreakerRefusal,
  ResilienceBus,
  BreakerTransitionReason,
  BreakerCounters,
  BreakerJSON,
  BreakerKind,
  BreakerLease,
  BreakerRegistryOptions,
  BreakerSettings,
  BreakerTransition,
  HealthChange,
  HealthCheck,
  HealthCheckOptions,
  HealthRegistryOptions,
  HealthSource,
  ResolvedBreakerOptions,
  RuntimeStateMachineOptions,
  TimedWork,
} from './resilience/index.ts';
export type { SinkListener } from './store/index.ts';
export type { EventLoopDelay, GpuSnapshot, MemoryReading, ProbeSource } from './telemetry/index.ts';

// The benchmark harness (what `sluice bench` and `npm run bench` use)
export {
  runBench,
  summarize,
  benchResultToJson,
  resolveBenchOptions,
  parseDuration,
  kBenchResultSchema,
  validateBenchResult,
} from './harness/index.ts';
export { LatencyRecorder, percentileOfSorted, ResourceSampler } from './harness/index.ts';
export {
  renderChart,
  formatTick,
  renderHtmlReport,
  renderMarkdownReport,
  markdownTable,
  benchResultToReport,
  benchSummaryTable,
  sweepCharts,
  timelineCharts,
  formatNumber,
} from './harness/index.ts';
export type {
  BenchOptions,
  ResolvedBenchOptions,
  BenchBaseline,
  BenchProgress,
  BenchResult,
  ConfigurationResult,
  RepetitionResult,
  Summary,
  JobCounts,
  TimelinePoint,
  DecisionPoint,
  LatencyPercentiles,
  IntervalStats,
  ResourceSample,
  ResourceReport,
  ChartSpec,
  ChartSeries,
  ChartMarker,
  ReportModel,
  ReportSection,
  ReportTable,
  ReportHeadline,
} from './harness/index.ts';

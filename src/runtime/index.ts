/** The runtime: the facade that runs flows, and its options. */
export { Runtime } from './runtime.ts';
export type { RuntimeStatus, PostOptions, PostAsyncOptions, PostAllOptions, CloseReport, RuntimeStats } from './runtime.ts';
export type { DurationSnapshot } from './duration-stats.ts';
export type { FailureSummary, FailureTallySnapshot } from './failure-tally.ts';
export type { RuntimeOptions, ResolvedRuntimeOptions } from './runtime-options.ts';
export type { JobFilter } from './job-table.ts';
export type { PlacementStats } from './placement.ts';
export { RuntimeTopic, kDefaultRecordedTopics } from './runtime-events.ts';
export type { RuntimeTopicName, ActivationFinishedPayload } from './runtime-events.ts';
export type { RecordOptions } from './runtime-options.ts';
export { kObserve, kOnDuration } from './runtime-observation.ts';
export type { DurationLabels, DurationListener, RuntimeObservation, WorkerObservation, RoutineObservation } from './runtime-observation.ts';
export type { DurationStats } from './duration-stats.ts';
export { windowPercentiles } from './duration-stats.ts';
export type { StreamRun, StreamOptions, StreamResult, StreamOutput, StreamSource } from './stream-run.ts';

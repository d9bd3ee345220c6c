/**
 * `sluice/store`: the durable path — the event log (`SqliteEventLog`, `MemoryEventLog`), the
 * batching `DurableSink` that feeds it, the run registry (`log.runs()`) and retention. A runtime
 * records through it with `record: { log }`; see docs/bus-and-log.md.
 *
 * @module sluice/store
 */
export { MemoryEventLog, SqliteEventLog, DurableSink, kSchemaVersion, kDefaultRetention } from '../store/index.ts';
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
  SinkListener,
  JobCompletedPayload,
} from '../store/index.ts';

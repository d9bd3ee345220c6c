/** The durable path: the event log (memory, SQLite) and the batching sink that feeds it. */
export type { WaitForOptions } from './event-log.ts';
export type { EventLog, RunInfo, AppendResult, SinceOptions, ReplayOptions, PruneOptions, PruneResult } from './event-log.ts';
export { runStatus, kStallFactor, kSilentRunMs } from './run-tally.ts';
export type { RunStatus } from './run-tally.ts';
export { kDefaultRetention } from './retention.ts';
export { MemoryEventLog } from './memory-event-log.ts';
export { SqliteEventLog } from './sqlite-event-log.ts';
export type { SqliteEventLogOptions } from './sqlite-event-log.ts';
export { kSchemaVersion, migrate, configureConnection } from './sqlite-schema.ts';
export type { SqliteWriter } from './sqlite-writer.ts';
export { InlineSqliteWriter, ThreadSqliteWriter } from './sqlite-writer.ts';
export { encodeEvents, decodeRow } from './sqlite-codec.ts';
export type { EventColumns, UnserializablePayload } from './sqlite-codec.ts';
export { DurableSink } from './durable-sink.ts';
export type { SinkCloseResult, SinkListener, SinkHealth, SinkHealthStatus, SinkStats } from './durable-sink.ts';
export type { DurableSinkOptions, ResolvedDurableSinkOptions } from './sink-options.ts';
export { resolveDurableSinkOptions } from './sink-options.ts';

/**
 * `sluice/telemetry`: latency, throughput and drift trackers, the machine probe, and periodic
 * snapshots on the bus. See docs/bus-and-log.md ("Telemetry").
 *
 * @module sluice/telemetry
 */
export {
  LatencyTracker,
  ThroughputCounter,
  DriftMonitor,
  SystemProbe,
  Telemetry,
  TelemetryTopic,
  createSystemInformationSource,
  createOsProbeSource,
} from '../telemetry/index.ts';
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
  EventLoopDelay,
  ProbeSource,
  GpuSnapshot,
  MemoryReading,
  TelemetryOptions,
  TelemetrySnapshot,
} from '../telemetry/index.ts';

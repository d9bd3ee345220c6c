/** Telemetry: latency, throughput, drift, the system probe, and periodic snapshots on the bus. */
export { LatencyTracker } from './latency-tracker.ts';
export type { LatencyTrackerOptions, LatencySnapshot } from './latency-tracker.ts';
export { ThroughputCounter } from './throughput-counter.ts';
export type { ThroughputCounterOptions, ThroughputSnapshot } from './throughput-counter.ts';
export { DriftMonitor } from './drift-monitor.ts';
export type { DriftMonitorOptions, DriftResult, DriftDirection } from './drift-monitor.ts';
export { SystemProbe } from './system-probe.ts';
export type { SystemProbeOptions, SystemSnapshot, EventLoopDelay } from './system-probe.ts';
export type { ProbeSource, GpuSnapshot, MemoryReading } from './probe-source.ts';
export { createSystemInformationSource } from './system-information-source.ts';
export { createOsProbeSource } from './os-probe-source.ts';
export { Telemetry, TelemetryTopic } from './telemetry.ts';
export type { TelemetryOptions, TelemetrySnapshot } from './telemetry.ts';

/** The live path: the event bus, topic patterns, heartbeats and liveness. */
export { EventBus } from './event-bus.ts';
export { BusOverflowTopic, kOverflowReportMs } from './bus-engine.ts';
export type {
  BusStats,
  OverflowStats,
  QueueSize,
  ShutdownResult,
  Subscription,
  EventHandler,
  SubscriberSnapshot,
  TopicStats,
} from './event-bus.ts';
export type { EventBusOptions, SubscribeOptions, PublishOptions, ShutdownOptions } from './bus-options.ts';
export { resolveEventBusOptions } from './bus-options.ts';
export type { BusEvent, EventSink, BusDisposable } from './bus-event.ts';
export { createDisposable } from './bus-event.ts';
export { compileTopicPattern, assertTopic } from './topic-pattern.ts';
export type { TopicPattern } from './topic-pattern.ts';
export { DropOldestQueue } from './subscriber-queue.ts';
export { Heartbeat, HeartbeatTopic, createHeartbeat } from './heartbeat.ts';
export type { HeartbeatOptions, HeartbeatPayload } from './heartbeat.ts';
export { LivenessMonitor } from './liveness-monitor.ts';
export type { Liveness, LivenessMonitorOptions, RunLiveness } from './liveness-monitor.ts';
export { getBus, resetBus } from './default-bus.ts';
export { BusTicker } from './bus-ticker.ts';

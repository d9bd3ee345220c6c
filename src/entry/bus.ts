/**
 * `sluice/bus`: the live event bus — publish and subscribe by topic pattern, sinks that take
 * every event, heartbeats and liveness. Every `Runtime` has one (`runtime.bus`); see
 * docs/bus-and-log.md.
 *
 * @module sluice/bus
 */
export { EventBus, BusOverflowTopic, getBus, resetBus, Heartbeat, HeartbeatTopic, createHeartbeat, LivenessMonitor } from '../bus/index.ts';
export type {
  BusEvent,
  EventSink,
  BusDisposable,
  EventBusOptions,
  SubscribeOptions,
  PublishOptions,
  ShutdownOptions,
  HeartbeatOptions,
  HeartbeatPayload,
  Liveness,
  LivenessMonitorOptions,
  RunLiveness,
  BusStats,
  EventHandler,
  OverflowStats,
  QueueSize,
  ShutdownResult,
  SubscriberSnapshot,
  Subscription,
  TopicStats,
} from '../bus/index.ts';

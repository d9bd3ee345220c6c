/**
 * Resilience: circuit breakers (on cockatiel's strategies) per routine and per dependency,
 * health per subsystem, the runtime's lifecycle state machine, and timeouts for inline work.
 * Standalone blocks the Runtime wires in; each takes its clock and bus from its caller.
 */
export { SluiceBreaker } from './circuit-breaker.ts';
export { kBreakerStates } from './breaker-engine.ts';
export type {
  BreakerState,
  BreakerTransition,
  BreakerTransitionReason,
  BreakerCounters,
  BreakerSnapshot,
  BreakerJSON,
  BreakerLease,
  BreakerPermit,
  BreakerRefusal,
} from './breaker-engine.ts';
export { resolveBreakerOptions, kBreakerKinds } from './breaker-options.ts';
export type { BreakerOptions, BreakerKind, ResolvedBreakerOptions, BreakerSettings } from './breaker-options.ts';
export { checkBreakerJSON } from './breaker-json.ts';
export { BreakerOpenError, isBreakerOpenError } from './breaker-open-error.ts';
export { BreakerRegistry, routineBreakerName, dependencyBreakerName, breakerHealth } from './breaker-registry.ts';
export type { BreakerRegistryOptions } from './breaker-registry.ts';
export { HealthRegistry } from './health.ts';
export type { HealthSource } from './health.ts';
export { resolveHealthOptions } from './health-options.ts';
export type { HealthCheck, HealthCheckOptions, HealthRegistryOptions, ResolvedHealthOptions } from './health-options.ts';
export { kHealthStatuses, worstStatus } from './health-report.ts';
export type { HealthStatus, HealthReport, SubsystemHealth, HealthSnapshot, HealthChange } from './health-report.ts';
export { RuntimeStateMachine, kRuntimeStates, kRuntimeTransitions } from './lifecycle.ts';
export type { RuntimeState, RuntimeTransition, RuntimeStateMachineOptions } from './lifecycle.ts';
export { withTimeout } from './timeout.ts';
export type { WithTimeoutOptions, TimedWork } from './timeout.ts';
export { ResilienceTopic } from './resilience-bus.ts';
export type { ResilienceBus, ResilienceTopicName } from './resilience-bus.ts';

/**
 * `sluice/resilience`: circuit breakers (over cockatiel), the health registry, the runtime's
 * lifecycle state machine and timeouts. A runtime has them built in (`runtime.breakers`,
 * `runtime.health()`); see docs/reliability.md.
 *
 * @module sluice/resilience
 */
export {
  SluiceBreaker,
  BreakerRegistry,
  BreakerOpenError,
  isBreakerOpenError,
  HealthRegistry,
  RuntimeStateMachine,
  withTimeout,
  ResilienceTopic,
} from '../resilience/index.ts';
export type {
  BreakerOptions,
  BreakerState,
  BreakerSnapshot,
  BreakerPermit,
  BreakerRefusal,
  BreakerTransitionReason,
  BreakerCounters,
  BreakerJSON,
  BreakerKind,
  BreakerLease,
  BreakerRegistryOptions,
  BreakerSettings,
  BreakerTransition,
  ResolvedBreakerOptions,
  HealthStatus,
  HealthReport,
  HealthSnapshot,
  HealthChange,
  HealthCheck,
  HealthCheckOptions,
  HealthRegistryOptions,
  HealthSource,
  SubsystemHealth,
  RuntimeState,
  RuntimeTransition,
  RuntimeStateMachineOptions,
  ResilienceBus,
  WithTimeoutOptions,
  TimedWork,
} from '../resilience/index.ts';

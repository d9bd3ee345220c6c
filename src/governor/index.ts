/**
 * The Dynamic Resource Governor: sensors, profiler, policy rules, actuators, registry and
 * monitor. The governor's door: other folders import from here only.
 *
 * @example
 * ```ts
 * import { Governor, createSystemSensor, createGovernable } from './governor/index.ts';
 * const governor = new Governor({ sensor: createSystemSensor(), bus });
 * governor.register(createGovernable({ name: 'runtime', knobs: { … } }));
 * governor.start();
 * ```
 * @module
 */
export { Governor } from './governor.ts';
export type { GovernorDisposable, RegisterOptions } from './governor.ts';
export type { GovernorOptions, GovernorBus } from './governor-options.ts';
export type { TickReport, TelemetryPayload, GovernorStats, SubsystemSnapshot } from './tick-report.ts';

export { KnobKinds, resolveKnob, isGovernable } from './governable.ts';
export type { Governable, KnobDescriptor, KnobKind, ResolvedKnob } from './governable.ts';
export { createGovernable } from './create-governable.ts';
export type { CreateGovernableOptions, KnobSpec } from './create-governable.ts';
export { AdmissionGate } from './admission-gate.ts';
export type { AdmissionGateOptions, AdmissionVerdict, AdmissionStats } from './admission-gate.ts';

export { Metric } from './metric-names.ts';
export type { MetricName } from './metric-names.ts';
export { combineSensors, cleanReadings } from './sensor-source.ts';
export type { SensorSource, SensorReadings } from './sensor-source.ts';
export { createSystemSensor } from './system-sensor.ts';
export type { ManagedSensor, SystemSensorOptions } from './system-sensor.ts';

export { Ema } from './ema.ts';
export { createKalmanFilter, RandomWalkKalman, ConstantVelocityKalman } from './kalman-filter.ts';
export type { Forecaster, KalmanModel, KalmanOptions } from './kalman-filter.ts';
export { MetricProfiler } from './metric-profiler.ts';
export type { MetricProfile, ProfilerOptions } from './metric-profiler.ts';

export { PolicyRule } from './policy-rule.ts';
export type { PolicyRuleOptions, RuleCondition, RuleDirection, RuleInput } from './policy-rule.ts';
export { createDefaultRules } from './default-rules.ts';

export { Action, createBuiltinActuators } from './actuator.ts';
export type { Actuator, ActuatorContext, BuiltinAction } from './actuator.ts';

export { GovernorTopic, signalTopic } from './decision.ts';
export type { Decision, GovernorTopicName } from './decision.ts';

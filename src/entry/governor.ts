/**
 * `sluice/governor`: the Dynamic Resource Governor — sensors, rules, decisions and the knobs it
 * turns (pool size, dispatch batch, admission rate), for a runtime (`governor` option) or for any
 * subsystem made governable. See docs/governor.md.
 *
 * @module sluice/governor
 */
export {
  Governor,
  PolicyRule,
  createDefaultRules,
  createGovernable,
  AdmissionGate,
  createSystemSensor,
  combineSensors,
  Action,
  Metric,
  KnobKinds,
  GovernorTopic,
  signalTopic,
  createKalmanFilter,
} from '../governor/index.ts';
export type {
  GovernorOptions,
  GovernorBus,
  GovernorDisposable,
  GovernorStats,
  GovernorTopicName,
  RegisterOptions,
  Governable,
  KnobDescriptor,
  KnobKind,
  KnobSpec,
  ResolvedKnob,
  CreateGovernableOptions,
  Decision,
  TickReport,
  SubsystemSnapshot,
  PolicyRuleOptions,
  RuleCondition,
  RuleDirection,
  RuleInput,
  SensorSource,
  SensorReadings,
  ManagedSensor,
  SystemSensorOptions,
  AdmissionGateOptions,
  AdmissionStats,
  AdmissionVerdict,
  Actuator,
  ActuatorContext,
  MetricProfile,
  ProfilerOptions,
  Forecaster,
  KalmanModel,
  KalmanOptions,
} from '../governor/index.ts';

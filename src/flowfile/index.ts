/** Flow files: Routilux's YAML/JSON DSL in and out, through a routine factory. */
export { registerRoutine, unregisterRoutine, registeredRoutines } from './routine-registry.ts';
export type { RoutineClass } from './routine-registry.ts';
export { parseFlowFile, checkFlowFile, exportFlow } from './flow-file.ts';
export type { ParseFlowFileOptions, ExportFlowOptions, FlowFileProblem } from './flow-file.ts';
export { loadFlowFile } from './flow-file-module.ts';

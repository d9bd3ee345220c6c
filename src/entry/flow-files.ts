/**
 * `sluice/flow-files`: flows described in YAML or JSON (Routilux's DSL shape) — load them,
 * check them with line numbers, export any flow back — and the routine factory
 * (`registerRoutine`) their classes are named through. See docs/flow-files.md.
 *
 * @module sluice/flow-files
 */
export {
  registerRoutine,
  unregisterRoutine,
  registeredRoutines,
  loadFlowFile,
  parseFlowFile,
  checkFlowFile,
  exportFlow,
} from '../flowfile/index.ts';
export type { RoutineClass, ParseFlowFileOptions, ExportFlowOptions, FlowFileProblem } from '../flowfile/index.ts';

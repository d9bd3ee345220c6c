/** The runtime: the facade that runs flows, and its options. */
export { Runtime } from './runtime.ts';
export type { RuntimeStatus, PostOptions, PostAsyncOptions, PostAllOptions, CloseReport, RuntimeStats } from './runtime.ts';
export type { RuntimeOptions, ResolvedRuntimeOptions } from './runtime-options.ts';
export type { JobFilter } from './job-table.ts';
export type { PlacementStats } from './placement.ts';

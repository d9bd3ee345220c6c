/**
 * What a pool thread knows about itself. Pool threads import flow modules to rebuild their
 * routines; a module that starts a program at its top level (a one-file program that builds a
 * `Runtime` and posts) would start it again in every thread, each with a pool of its own. sluice
 * refuses that with `SLUICE_ERR_RUNTIME_IN_POOL_THREAD`, naming the module and the fix. The
 * marks live on `globalThis` under registered symbols, so they hold across copies of sluice.
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';

const kPoolThread = Symbol.for('sluice.poolThread');
const kImporting = Symbol.for('sluice.importingFlowModules');

type Marks = Record<symbol, unknown>;

/** Marks this thread as a pool thread (the pool's worker entry does, once). */
export function markPoolThread(): void {
  (globalThis as Marks)[kPoolThread] = true;
}

/** True in a thread of a sluice pool. */
export function isPoolThread(): boolean {
  return (globalThis as Marks)[kPoolThread] === true;
}

function importing(): Set<string> {
  return ((globalThis as Marks)[kImporting] ??= new Set<string>()) as Set<string>;
}

/** Imports a flow module in a pool thread, marked so that a `Runtime` made by its top level is refused. */
export async function importFlowModule(moduleUrl: string): Promise<Record<string, unknown>> {
  importing().add(moduleUrl);
  try {
    return (await import(moduleUrl)) as Record<string, unknown>;
  } finally {
    importing().delete(moduleUrl);
  }
}

const kFix =
  'Pool threads import the flow module to rebuild its routines, so its top-level code runs again in every thread. ' +
  'Start the Runtime from another file that imports the flow module, or guard the program: ' +
  "import { isMainThread } from 'node:worker_threads'; if (isMainThread) { … }";

/** Throws `SLUICE_ERR_RUNTIME_IN_POOL_THREAD` when a pool thread is importing a flow module (its top level makes a Runtime). */
export function assertNotInFlowModuleImport(): void {
  const modules = (globalThis as Marks)[kImporting] as Set<string> | undefined;
  if (modules === undefined || modules.size === 0) return;
  const names = [...modules].join(', ');
  throw new SluiceError(
    ErrorCode.RuntimeInPoolThread,
    `Flow module ${names} constructs a Runtime at its top level, inside a pool thread. ${kFix}`,
    {
      details: { modules: [...modules] },
    },
  );
}

/** Throws `SLUICE_ERR_RUNTIME_IN_POOL_THREAD` in a pool thread: a runtime there may not start a pool of its own. */
export function assertNotPoolThread(): void {
  if (!isPoolThread()) return;
  throw new SluiceError(
    ErrorCode.RuntimeInPoolThread,
    `A Runtime inside a pool thread cannot start a pool of its own (threads inside threads). ${kFix}`,
  );
}

let warned = false;

/**
 * Says once per process, on stderr (a process warning), that a flow module starts a program in
 * pool threads: its jobs fail with the error, and a one-file program would otherwise end with
 * failed jobs and no word why.
 */
export function warnRuntimeInPoolThread(error: { code?: unknown; message: string }): void {
  if (warned || error.code !== ErrorCode.RuntimeInPoolThread) return;
  warned = true;
  process.emitWarning(error.message, { code: ErrorCode.RuntimeInPoolThread });
}

/**
 * Loading a flow module for a CLI command, with params from `--param key=value` (values are
 * parsed as JSON when they parse, else kept as strings).
 */
import { isFlowFilePath, loadFlowModule, type FlowModule } from '../core/flow-module.ts';
import { UsageError } from './cli-error.ts';

/** Parses `key=value` pairs into params. */
export function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`Expected --param as key=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A bare word stays a string.
    }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}

/** Loads the module named on the command line; a missing argument is a usage error. */
export async function loadModuleArg(specifier: string | undefined, command: string): Promise<FlowModule> {
  if (specifier === undefined) throw new UsageError(`sluice ${command} needs a flow module path, e.g. sluice ${command} flows/pipeline.ts`);
  if (isFlowFilePath(specifier)) {
    const { loadFlowFile } = await import('../flowfile/index.ts');
    return loadFlowFile(specifier);
  }
  return loadFlowModule(specifier);
}

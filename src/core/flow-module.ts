/**
 * Flows in modules. A flow module's default export is the result of {@link defineFlow}: its own
 * URL plus a build function. Any thread that imports the module can call `build(params)` and get
 * the same flow, which is how pool threads rebuild routines (params must be structured-clonable).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SluiceError, describeValue } from './errors.ts';
import { Flow } from './flow.ts';
import { ensureTypeScriptLoader } from './ts-loader.ts';
import { assertFunction, assertName } from './validate.ts';

/**
 * Where the CLI and the benchmark harness post generated items, and how to make them.
 *
 * @category Flows
 */
export interface FlowInput {
  /** The routine that receives posted items. */
  readonly routine: string;
  /** Its slot. */
  readonly slot: string;
  /** Makes item number `i` (from 0). */
  readonly generate?: (i: number) => unknown;
}

/**
 * Facts about a flow module besides its build function.
 *
 * @category Flows
 */
export interface FlowModuleMeta<P> {
  /** One line for `sluice inspect` and the docs. */
  readonly description?: string;
  /** Where items go when the CLI or the harness posts them. */
  readonly input?: FlowInput;
  /** Params used when none are given. */
  readonly defaults?: P;
  /**
   * What `sluice run` prints after the jobs end, one `key: value` line each (and under `report`
   * in `--json`): the worker's results, such as a model's backend and accuracy.
   */
  readonly report?: (worker: { getRoutineState(routineId: string): Record<string, unknown> | undefined }) => Record<string, unknown>;
  /**
   * Runs before `build(params)` wherever the flow is rebuilt (pool threads included), for async
   * work a synchronous build needs done first — a flow file imports the modules it references.
   */
  readonly prepare?: (params: Record<string, unknown>) => Promise<void>;
}

/**
 * A flow module: what `defineFlow()` returns and a flow module exports by default.
 *
 * @category Flows
 */
export interface FlowModule<P = Record<string, unknown>> extends FlowModuleMeta<P> {
  readonly kind: 'sluice.flow-module';
  /** The module's URL (`import.meta.url`), used by other threads to import it. */
  readonly moduleUrl: string;
  /** Builds a fresh, unfrozen flow; the flow records this module and the params as its source. */
  build(params?: Partial<P>): Flow;
}

/**
 * Declares the flow of a module. Call it as the module's default export, passing
 * `import.meta.url` so other threads can import the same module.
 *
 * @example
 * ```ts
 * // flows/double.ts
 * export default defineFlow(import.meta.url, (params: { factor: number }) =>
 *   new Flow('double').addRoutine(new Multiply().setConfig(params), 'multiply'),
 *   { defaults: { factor: 2 }, input: { routine: 'multiply', slot: 'in', generate: (i) => i } });
 * ```
 * @category Flows
 */
export function defineFlow<P extends Record<string, unknown> = Record<string, unknown>>(
  moduleUrl: string,
  build: (params: P) => Flow,
  meta: FlowModuleMeta<P> = {},
): FlowModule<P> {
  assertName('defineFlow moduleUrl', moduleUrl);
  assertFunction('defineFlow build', build);
  if (!moduleUrl.startsWith('file:')) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`defineFlow moduleUrl\` to be a file: URL (pass import.meta.url), got ${describeValue(moduleUrl)}`,
    );
  }
  return Object.freeze({
    kind: 'sluice.flow-module',
    moduleUrl,
    ...meta,
    build(params: Partial<P> = {}): Flow {
      const full = { ...(meta.defaults ?? {}), ...params } as P;
      const flow = build(full);
      if (!(flow instanceof Flow)) {
        throw new SluiceError(
          ErrorCode.FlowModuleInvalid,
          `The build function of flow module ${moduleUrl} returned ${describeValue(flow)} instead of a Flow`,
        );
      }
      if (flow.source === undefined && !flow.isFrozen) flow.setSource({ moduleUrl, params: full });
      return flow;
    },
  });
}

/**
 * True for a value made by {@link defineFlow}.
 *
 * @category Flows
 */
/** True for a path that names a flow file (`.yaml`, `.yml`, `.json`) rather than a flow module. */
export function isFlowFilePath(specifier: string): boolean {
  return /\.(ya?ml|json)$/i.test(specifier);
}

export function isFlowModule(value: unknown): value is FlowModule {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'sluice.flow-module';
}

/** Turns a path (relative to `cwd`) or a URL into a URL string for `import()`. */
export function toModuleUrl(specifier: string, cwd = process.cwd()): string {
  if (/^[a-z]+:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) return specifier;
  return pathToFileURL(isAbsolute(specifier) ? specifier : resolve(cwd, specifier)).href;
}

/**
 * Imports a flow module by path or URL and returns its {@link FlowModule} (the default export,
 * or an export named `flow`).
 * @category Flows
 */
export async function loadFlowModule(specifier: string): Promise<FlowModule> {
  const url = toModuleUrl(specifier);
  let mod: Record<string, unknown>;
  try {
    await ensureTypeScriptLoader(url);
    mod = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    throw new SluiceError(
      ErrorCode.FlowModuleInvalid,
      `Could not import flow module ${specifier}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
  const candidate = isFlowModule(mod.default) ? mod.default : mod.flow;
  if (!isFlowModule(candidate)) {
    throw new SluiceError(
      ErrorCode.FlowModuleInvalid,
      `Module ${specifier} does not export a flow: export default defineFlow(import.meta.url, build) (found exports: ` +
        `${Object.keys(mod).join(', ') || 'none'})`,
    );
  }
  return candidate;
}

/**
 * Loading TensorFlow.js and choosing its backend, best first:
 *
 * 1. `node-gpu`: `@tensorflow/tfjs-node-gpu` (libtensorflow with CUDA), only when a GPU is usable,
 * 2. `node`: `@tensorflow/tfjs-node` (libtensorflow on the CPU),
 * 3. `wasm`: `@tensorflow/tfjs` with `@tensorflow/tfjs-backend-wasm`, its `.wasm` binary read from
 *    the installed package on disk (nothing is fetched),
 * 4. `cpu`: `@tensorflow/tfjs`'s plain JavaScript backend.
 *
 * The two native packages are optional: sluice never lists them (their installers download
 * libtensorflow), so they are imported only here, at run time, guarded. The import function is
 * injectable, so tests can simulate any package being present, absent or failing to start.
 *
 * TensorFlow.js keeps one engine per thread, so the loaded backend is per thread as well: the
 * cache lives on `globalThis` under `Symbol.for('sluice.tensorflow')`, shared by every copy of
 * this module in the thread (a pool thread may load both `src/` and `dist/`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertFunction, assertKnownKeys, assertName, assertObject } from '../core/validate.ts';

/** The TensorFlow.js namespace (`import * as tf from '@tensorflow/tfjs'`). */
export type TensorFlow = typeof tfjs;

/** A backend sluice can choose; see the module comment for the order. */
export type BackendKind = 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** Every backend kind, best first: the `auto` chain. */
export const kBackendKinds: readonly BackendKind[] = Object.freeze(['node-gpu', 'node', 'wasm', 'cpu']);

/** The npm package each kind needs. */
export const kBackendPackages: Readonly<Record<BackendKind, string>> = Object.freeze({
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
});

/** Imports a package by name, like `import()`; tests pass one that pretends. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** Options of {@link loadTensorFlow} and {@link selectBackend}. */
export interface TensorFlowOptions {
  /**
   * Which backends to try: `'auto'` walks the whole chain (`node-gpu`, `node`, `wasm`, `cpu`);
   * a kind, or a list of kinds, tries only those, in that order.
   * @default 'auto'
   * @example
   * ```ts
   * await loadTensorFlow({ backend: ['wasm', 'cpu'] });
   * ```
   */
  backend?: 'auto' | BackendKind | readonly BackendKind[];
  /**
   * Imports a package by name.
   * @default (specifier) => import(specifier)
   */
  importModule?: ModuleImporter;
  /**
   * Tells whether a GPU is usable; asked before `@tensorflow/tfjs-node-gpu` is imported, so a
   * machine without one never loads CUDA.
   * @default looks for an NVIDIA device (`/dev/nvidia0` or `/proc/driver/nvidia/gpus/*`, Linux)
   */
  detectGpu?: () => boolean | Promise<boolean>;
  /**
   * The folder holding `@tensorflow/tfjs-backend-wasm`'s `.wasm` files.
   * @default the `dist/` folder of the installed package, resolved on disk
   */
  wasmPath?: string;
}

/** What happened when one backend was tried. */
export interface BackendAttempt {
  readonly kind: BackendKind;
  readonly package: string;
  readonly ok: boolean;
  /** Why it was skipped or failed (`not installed`, `no GPU found`, the error's message). */
  readonly reason?: string;
}

/** The backend in use, as reported in stats and logs. */
export interface BackendInfo {
  readonly kind: BackendKind;
  /** TensorFlow.js's name for it (`tensorflow`, `wasm`, `cpu`). */
  readonly backend: string;
  /** The package that provides it. */
  readonly package: string;
  /** True when tensors live in GPU memory. */
  readonly gpu: boolean;
  /** `@tensorflow/tfjs-core`'s version. */
  readonly version: string;
  /** Milliseconds the selection took (imports and initialisation). */
  readonly initMs: number;
  /** Every backend tried, in order. */
  readonly attempts: readonly BackendAttempt[];
}

/** TensorFlow.js with its backend ready. */
export interface LoadedTensorFlow {
  readonly tf: TensorFlow;
  readonly info: BackendInfo;
}

const kNotInstalled = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND']);
const kCacheKey = Symbol.for('sluice.tensorflow');
const require = createRequire(import.meta.url);

interface Resolved {
  readonly kinds: readonly BackendKind[];
  readonly importModule: ModuleImporter;
  readonly detectGpu: () => boolean | Promise<boolean>;
  readonly wasmPath: string | undefined;
}

/**
 * Looks for an NVIDIA GPU the way the driver exposes it on Linux. Other systems report none:
 * pass `detectGpu: () => true` there to try `@tensorflow/tfjs-node-gpu`.
 *
 * @example
 * ```ts
 * if (detectNvidiaGpu()) console.log('a GPU is present');
 * ```
 */
export function detectNvidiaGpu(): boolean {
  if (process.platform !== 'linux') return false;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/proc/driver/nvidia/gpus').length > 0;
  } catch {
    return false;
  }
}

/**
 * The folder of `@tensorflow/tfjs-backend-wasm`'s `.wasm` files in the installed package.
 *
 * @example
 * ```ts
 * defaultWasmPath(); // '/app/node_modules/@tensorflow/tfjs-backend-wasm/dist'
 * ```
 */
export function defaultWasmPath(): string {
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

function resolveOptions(options: TensorFlowOptions): Resolved {
  assertObject('TensorFlow options', options);
  assertKnownKeys('TensorFlow options', options as Record<string, unknown>, ['backend', 'importModule', 'detectGpu', 'wasmPath']);
  const backend = options.backend ?? 'auto';
  let kinds: readonly BackendKind[];
  if (backend === 'auto') kinds = kBackendKinds;
  else if (typeof backend === 'string') kinds = [backend];
  else kinds = backend;
  if (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((k) => !kBackendKinds.includes(k))) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`backend\` to be "auto", one of ${kBackendKinds.map((k) => `"${k}"`).join(', ')}, or a non-empty list of them, got ` +
        `${describeValue(backend)}`,
      { details: { name: 'backend' } },
    );
  }
  if (options.importModule !== undefined) assertFunction('importModule', options.importModule);
  if (options.detectGpu !== undefined) assertFunction('detectGpu', options.detectGpu);
  if (options.wasmPath !== undefined) assertName('wasmPath', options.wasmPath);
  return {
    kinds: [...new Set(kinds)],
    importModule: options.importModule ?? ((specifier) => import(specifier)),
    detectGpu: options.detectGpu ?? detectNvidiaGpu,
    wasmPath: options.wasmPath,
  };
}

/** The namespace of an imported CommonJS or ES module that looks like TensorFlow.js. */
function asTensorFlow(mod: unknown, specifier: string): TensorFlow {
  const looksRight = (m: unknown): m is TensorFlow =>
    typeof m === 'object' &&
    m !== null &&
    typeof (m as TensorFlow).setBackend === 'function' &&
    typeof (m as TensorFlow).tensor === 'function';
  if (looksRight(mod)) return mod;
  const fallback = (mod as { default?: unknown } | null)?.default;
  if (looksRight(fallback)) return fallback;
  throw new Error(`${specifier} does not export the TensorFlow.js API`);
}

function pick<T>(mod: unknown, name: string): T | undefined {
  const m = mod as Record<string, unknown> | null;
  return (m?.[name] ?? (m?.default as Record<string, unknown> | undefined)?.[name]) as T | undefined;
}

async function activate(tf: TensorFlow, name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend("${name}") failed`);
  await tf.ready();
}

async function tryKind(kind: BackendKind, o: Resolved): Promise<TensorFlow> {
  switch (kind) {
    case 'node-gpu':
    case 'node': {
      const specifier = kBackendPackages[kind];
      const tf = asTensorFlow(await o.importModule(specifier), specifier);
      await activate(tf, 'tensorflow');
      return tf;
    }
    case 'wasm': {
      const tf = asTensorFlow(await o.importModule('@tensorflow/tfjs'), '@tensorflow/tfjs');
      const wasm = await o.importModule(kBackendPackages.wasm);
      const setWasmPaths = pick<(prefix: string, usePlatformFetch?: boolean) => void>(wasm, 'setWasmPaths');
      if (typeof setWasmPaths !== 'function') throw new Error(`${kBackendPackages.wasm} does not export setWasmPaths`);
      // A path prefix on disk: emscripten reads it with fs in Node, nothing goes over the network.
      setWasmPaths(`${o.wasmPath ?? defaultWasmPath()}/`);
      await activate(tf, 'wasm');
      return tf;
    }
    case 'cpu': {
      const tf = asTensorFlow(await o.importModule('@tensorflow/tfjs'), '@tensorflow/tfjs');
      await activate(tf, 'cpu');
      return tf;
    }
  }
}

/**
 * TensorFlow.js is an optional peer of sluice: when a backend's package is missing, the npm
 * command that installs one.
 */
function installHint(attempts: readonly BackendAttempt[]): string {
  if (!attempts.some((a) => a.reason === 'not installed')) return '';
  return (
    `. TensorFlow.js is an optional peer dependency of sluice: install a backend with npm install @tensorflow/tfjs ` +
    `@tensorflow/tfjs-backend-wasm (portable) or npm install @tensorflow/tfjs @tensorflow/tfjs-node (native CPU)`
  );
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && kNotInstalled.has(code)) return 'not installed';
  const message = (error as Error | null)?.message ?? String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Walks the backend chain now, without the per-thread cache, and activates the first backend
 * that starts. Throws `SLUICE_ERR_BACKEND_UNAVAILABLE` (with every attempt in `details`) when
 * none does. Most code wants {@link loadTensorFlow}.
 *
 * @example
 * ```ts
 * const importModule = (s: string) => (s.includes('tfjs-node') ? Promise.reject(new Error('absent')) : import(s));
 * const { tf, info } = await selectBackend({ importModule });
 * info.kind; // 'wasm'
 * ```
 */
export async function selectBackend(options: TensorFlowOptions = {}): Promise<LoadedTensorFlow> {
  const o = resolveOptions(options);
  const started = performance.now();
  const attempts: BackendAttempt[] = [];
  for (const kind of o.kinds) {
    const pkg = kBackendPackages[kind];
    if (kind === 'node-gpu') {
      let gpu = false;
      try {
        gpu = (await o.detectGpu()) === true;
      } catch (error) {
        attempts.push({ kind, package: pkg, ok: false, reason: `GPU detection failed: ${reasonOf(error)}` });
        continue;
      }
      if (!gpu) {
        attempts.push({ kind, package: pkg, ok: false, reason: 'no GPU found' });
        continue;
      }
    }
    let tf: TensorFlow;
    try {
      tf = await tryKind(kind, o);
    } catch (error) {
      attempts.push({ kind, package: pkg, ok: false, reason: reasonOf(error) });
      continue;
    }
    attempts.push({ kind, package: pkg, ok: true });
    const info: BackendInfo = Object.freeze({
      kind,
      backend: tf.getBackend(),
      package: pkg,
      gpu: kind === 'node-gpu',
      version: String(tf.version_core ?? 'unknown'),
      initMs: performance.now() - started,
      attempts: Object.freeze(attempts.map((a) => Object.freeze(a))),
    });
    return Object.freeze({ tf, info });
  }
  throw new SluiceError(
    ErrorCode.BackendUnavailable,
    `No TensorFlow.js backend could be loaded (${attempts.map((a) => `${a.kind}: ${a.reason}`).join('; ')})${installHint(attempts)}`,
    { details: { attempts: attempts.map((a) => ({ ...a })) } },
  );
}

interface Cache {
  current?: { readonly promise: Promise<LoadedTensorFlow>; readonly kinds: readonly BackendKind[] };
}

function cache(): Cache {
  const g = globalThis as Record<symbol, unknown>;
  return (g[kCacheKey] ??= {}) as Cache;
}

/**
 * TensorFlow.js with the best available backend, loaded once per thread: later calls get the
 * same instance, unless they ask for kinds that exclude the one loaded (then the chain runs
 * again and switches the thread's backend). A failure is not cached.
 *
 * @example
 * ```ts
 * const { tf, info } = await loadTensorFlow();
 * console.log(`TensorFlow.js ${info.version} on ${info.kind}`);
 * ```
 */
export async function loadTensorFlow(options: TensorFlowOptions = {}): Promise<LoadedTensorFlow> {
  const o = resolveOptions(options);
  const c = cache();
  const current = c.current;
  if (current !== undefined) {
    const loaded = await current.promise.catch(() => undefined);
    if (loaded !== undefined && o.kinds.includes(loaded.info.kind)) return loaded;
  }
  const promise = selectBackend(options);
  const entry = { promise, kinds: o.kinds };
  c.current = entry;
  promise.catch(() => {
    if (c.current === entry) c.current = undefined;
  });
  return promise;
}

/**
 * Forgets this thread's loaded backend, so the next {@link loadTensorFlow} walks the chain
 * again. For tests.
 *
 * @example
 * ```ts
 * afterEach(() => resetTensorFlowCache());
 * ```
 */
export function resetTensorFlowCache(): void {
  cache().current = undefined;
}

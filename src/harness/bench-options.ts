/**
 * The options of {@link runBench}, declared once with their defaults, resolved once and
 * validated at the edge (coded `SLUICE_ERR_INVALID_ARGUMENT` errors naming the option and the
 * value received).
 */
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import type { FlowModule } from '../core/flow-module.ts';
import { isFlowModule } from '../core/flow-module.ts';
import { assertFunction, assertInteger, assertKnownKeys, assertName, assertNumber, assertObject } from '../core/validate.ts';
import type { Governor } from '../governor/index.ts';
import type { RuntimeOptions } from '../runtime/index.ts';

/**
 * Plain code doing the same work as the flow, timed in the same process over the same items,
 * so every configuration's throughput is also a ratio to it.
 *
 * @example
 * ```ts
 * const baseline: BenchBaseline = { name: 'plain loop', run: (items) => { for (const x of items) work(x); } };
 * ```
 */
export interface BenchBaseline {
  /** Shown in tables and charts. */
  readonly name: string;
  /** Called once before the first timed run (start a pool, open a file…); not timed. */
  setup?(): unknown;
  /** Does the work for every item; timed. May return a promise. */
  run(items: readonly unknown[]): unknown;
  /** Called once after the last timed run; not timed. */
  teardown?(): unknown;
}

/** What {@link BenchOptions.onProgress} receives. */
export interface BenchProgress {
  /** The configuration being measured, e.g. `threads=2 batch=64`. */
  readonly configuration: string;
  /** `'warmup'`, `'measure'` or `'baseline'`. */
  readonly phase: 'warmup' | 'measure' | 'baseline';
  /** Repetition number (from 1); 0 in the warm-up. */
  readonly repetition: number;
  /** Items posted so far in this phase. */
  readonly posted: number;
  /** Items this phase will post (an estimate for `durationMs` runs). */
  readonly total: number;
  /** Work units done in the whole sweep so far, and the whole sweep's units (for an ETA). */
  readonly sweepDone: number;
  readonly sweepTotal: number;
}

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** The flow module to measure (what `defineFlow()` returns). */
  module: FlowModule;
  /** Build parameters of the flow. @default the module's defaults */
  params?: Record<string, unknown>;
  /** The routine to post into. @default the module's `input.routine` */
  routine?: string;
  /** The slot to post into. @default the module's `input.slot` */
  slot?: string;
  /**
   * Items posted per repetition (ignored when `durationMs` is set).
   * @default 10000
   */
  items?: number;
  /**
   * The items to post, used in order and cycled; by default the module's `input.generate(i)`.
   */
  input?: readonly unknown[];
  /**
   * Posts per second, open loop: items are posted on a fixed schedule whether or not the flow
   * keeps up (a post refused by a full slot is counted in `jobs.refused`). By default the loop
   * is closed: as fast as backpressure allows.
   */
  rate?: number;
  /**
   * With `rate`: the rate at the end of each repetition, rising linearly from `rate` (a ramp).
   */
  rampTo?: number;
  /**
   * Length of each repetition in milliseconds; when set, `items` is ignored.
   * @default undefined (a fixed number of items)
   */
  durationMs?: number;
  /**
   * Effective pool sizes to sweep (`pool.threads`); the pool's `maxThreads` is the largest.
   * Ignored (with a note) for a flow without pool routines.
   * @default [the pool's default]
   */
  threads?: readonly number[];
  /**
   * Dispatch batch sizes to sweep (`pool.dispatchBatch`). Ignored (with a note) for a flow
   * without pool routines.
   * @default [the pool's default]
   */
  batch?: readonly number[];
  /**
   * Items posted to each configuration before it is measured (JIT, threads started); not counted.
   * @default min(1000, items)
   */
  warmup?: number;
  /**
   * Measured repetitions per configuration; the median is reported with the spread.
   * @default 3
   */
  repeat?: number;
  /**
   * Most jobs in flight in the closed loop.
   * @default the input slot's `maxQueueLength`
   */
  window?: number;
  /** Plain code doing the same work, measured in the same process (see {@link BenchBaseline}). */
  baseline?: BenchBaseline;
  /**
   * Makes a governor for each configuration: the runtime registers with it and the harness
   * records its decisions on the run's time axis.
   */
  governor?: () => Governor;
  /**
   * More Runtime options for every configuration (not `pool`, not `governor`).
   * @default { traceLimit: 0, historyLimit: 0 }
   */
  runtime?: Omit<RuntimeOptions, 'pool' | 'governor'>;
  /**
   * Longest wait for one repetition's jobs to end, in milliseconds.
   * @default 600000
   */
  timeoutMs?: number;
  /**
   * Interval of the RSS and pool-utilisation samples, in milliseconds.
   * @default 50
   */
  sampleIntervalMs?: number;
  /**
   * Width of one point of the timelines (latency percentiles, throughput, RSS), in milliseconds.
   * @default 250
   */
  timelineMs?: number;
  /** Progress reports (about every 1024 posts, and at phase ends). */
  onProgress?: (progress: BenchProgress) => void;
}

/** {@link BenchOptions} with every default filled in. */
export interface ResolvedBenchOptions {
  readonly module: FlowModule;
  readonly params: Record<string, unknown> | undefined;
  readonly routine: string;
  readonly slot: string;
  readonly items: number;
  readonly input: readonly unknown[] | undefined;
  readonly rate: number | undefined;
  readonly rampTo: number | undefined;
  readonly durationMs: number | undefined;
  readonly threads: readonly number[] | undefined;
  readonly batch: readonly number[] | undefined;
  readonly warmup: number;
  readonly repeat: number;
  readonly window: number | undefined;
  readonly baseline: BenchBaseline | undefined;
  readonly governor: (() => Governor) | undefined;
  readonly runtime: Omit<RuntimeOptions, 'pool' | 'governor'>;
  readonly timeoutMs: number;
  readonly sampleIntervalMs: number;
  readonly timelineMs: number;
  readonly onProgress: ((progress: BenchProgress) => void) | undefined;
}

const kKeys = [
  'module',
  'params',
  'routine',
  'slot',
  'items',
  'input',
  'rate',
  'rampTo',
  'durationMs',
  'threads',
  'batch',
  'warmup',
  'repeat',
  'window',
  'baseline',
  'governor',
  'runtime',
  'timeoutMs',
  'sampleIntervalMs',
  'timelineMs',
  'onProgress',
] as const;

function checkList(name: string, value: unknown, min: number): readonly number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`${name}\` to be a non-empty array of integers >= ${min}, got ${describeValue(value)}`,
      { details: { name } },
    );
  }
  value.forEach((v, i) => {
    assertInteger(`${name}[${i}]`, v, min);
  });
  return [...new Set(value as number[])];
}

/**
 * Validates `options` and fills in defaults.
 *
 * @example
 * ```ts
 * resolveBenchOptions({ module: cpu, threads: [0] });
 * // throws SLUICE_ERR_INVALID_ARGUMENT: Expected `threads[0]` to be an integer >= 1, got `0` (number)
 * ```
 */
export function resolveBenchOptions(options: BenchOptions): ResolvedBenchOptions {
  assertObject('bench options', options);
  assertKnownKeys('bench options', options as unknown as Record<string, unknown>, kKeys);
  if (!isFlowModule(options.module)) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`module\` to be a flow module (what defineFlow() returns), got ${describeValue(options.module)}`,
      { details: { name: 'module' } },
    );
  }
  const routine = options.routine ?? options.module.input?.routine;
  const slot = options.slot ?? options.module.input?.slot;
  if (routine === undefined || slot === undefined) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `The flow module ${options.module.moduleUrl} declares no input; give \`routine\` and \`slot\` (on the command line: --routine r ` +
        `--slot s)`,
      { details: { name: 'routine' } },
    );
  }
  assertName('routine', routine);
  assertName('slot', slot);
  const items = options.items ?? 10_000;
  assertInteger('items', items, 1);
  if (options.input !== undefined && (!Array.isArray(options.input) || options.input.length === 0)) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`input\` to be a non-empty array of items, got ${describeValue(options.input)}`,
      { details: { name: 'input' } },
    );
  }
  if (options.input === undefined && options.module.input?.generate === undefined) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `The flow module ${options.module.moduleUrl} has no input generator; give \`input\` items (on the command line: --input items.jsonl)`,
      { details: { name: 'input' } },
    );
  }
  if (options.rate !== undefined) assertNumber('rate', options.rate, 0.001);
  if (options.rampTo !== undefined) {
    assertNumber('rampTo', options.rampTo, 0.001);
    if (options.rate === undefined) throw new RangeError('`rampTo` needs `rate` (the rate at the start of the ramp)');
    if (options.durationMs === undefined) throw new RangeError('`rampTo` needs `durationMs` (the length of the ramp)');
  }
  if (options.durationMs !== undefined) assertNumber('durationMs', options.durationMs, 1);
  const threads = checkList('threads', options.threads, 1);
  const batch = checkList('batch', options.batch, 1);
  const warmup = options.warmup ?? Math.min(1000, items);
  assertInteger('warmup', warmup, 0);
  const repeat = options.repeat ?? 3;
  assertInteger('repeat', repeat, 1);
  if (options.window !== undefined) assertInteger('window', options.window, 1);
  if (options.baseline !== undefined) {
    assertObject('baseline', options.baseline);
    assertName('baseline.name', options.baseline.name);
    assertFunction('baseline.run', options.baseline.run);
  }
  if (options.governor !== undefined) assertFunction('governor', options.governor);
  assertObject('runtime', options.runtime, true);
  const timeoutMs = options.timeoutMs ?? 600_000;
  assertNumber('timeoutMs', timeoutMs, 0);
  const sampleIntervalMs = options.sampleIntervalMs ?? 50;
  assertNumber('sampleIntervalMs', sampleIntervalMs, 1);
  const timelineMs = options.timelineMs ?? 250;
  assertNumber('timelineMs', timelineMs, 1);
  if (options.onProgress !== undefined) assertFunction('onProgress', options.onProgress);
  return Object.freeze({
    module: options.module,
    params: options.params,
    routine,
    slot,
    items,
    input: options.input,
    rate: options.rate,
    rampTo: options.rampTo,
    durationMs: options.durationMs,
    threads,
    batch,
    warmup,
    repeat,
    window: options.window,
    baseline: options.baseline,
    governor: options.governor,
    runtime: { traceLimit: 0, historyLimit: 0, ...options.runtime },
    timeoutMs,
    sampleIntervalMs,
    timelineMs,
    onProgress: options.onProgress,
  });
}

/**
 * Parses a duration: milliseconds as a number, or a string with a unit (`500ms`, `10s`, `2m`).
 *
 * @example
 * ```ts
 * parseDuration('10s'); // 10000
 * parseDuration('250ms'); // 250
 * ```
 */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected a duration such as 500ms, 10s or 2m, got ${describeValue(value)}`, {
      details: { name: 'duration' },
    });
  }
  const n = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
}

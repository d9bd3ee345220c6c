/**
 * An inference routine as a subsystem of the governor: one `batch_size` knob applied through
 * `runtime.setBatchLimit()`, and the model's metrics — `tensor_bytes`, `batch_latency_ms`, and on
 * a GPU backend `vram_util` (the backend's tensor bytes over the GPU memory the system probe
 * reports). `createInferenceRules()` reduces the batch when latency or memory passes a threshold
 * and gives it back once they stay low; the default `vram-pressure` rule reads `vram_util` too.
 */
import type { Runtime } from '../runtime/index.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertFunction, assertInteger, assertKnownKeys, assertName, assertNumber, assertObject } from '../core/validate.ts';
import { Action, KnobKinds, PolicyRule, createGovernable, type Governable } from '../governor/index.ts';
import { createSystemInformationSource } from '../telemetry/index.ts';
import { readInferenceStats, type InferenceStats } from './inference-stats.ts';

/** The metric names an inference governable reports (as `<subsystem>.<metric>`). */
export const InferenceMetric = {
  /** Tensor bytes during the latest batch (weights, its input and output), bytes. */
  TensorBytes: 'tensor_bytes',
  /** Milliseconds of the latest batch; absent when no batch ran since the previous tick. */
  BatchLatencyMs: 'batch_latency_ms',
  /** Items in the latest batch. */
  BatchItems: 'batch_items',
  /** Tensor bytes over GPU memory, 0..1; only on a GPU backend whose memory size is known. */
  VramUtil: 'vram_util',
} as const;

/** The stats fields the governable reads (an {@link InferenceStats} has them all). */
export type InferenceReading = Partial<Pick<InferenceStats, 'batchBytes' | 'lastBatchMs' | 'lastBatchSize' | 'gpu' | 'updatedAt'>>;

/** Options of {@link createInferenceGovernable}. */
export interface InferenceGovernableOptions {
  /**
   * The smallest batch the governor may set.
   * @default 1
   */
  min?: number;
  /**
   * The largest batch (the governor never goes past it; more than the policy's `n` has no effect).
   * @default the routine's `batchSize` policy `n`
   */
  max?: number;
  /**
   * Where the batch rests without pressure; restoring goes back here.
   * @default max
   */
  baseline?: number;
  /**
   * The subsystem's name (metrics are reported as `<name>.<metric>`).
   * @default `inference:<flowId>/<routineId>`
   */
  name?: string;
  /**
   * Where the model's stats come from.
   * @default the newest stats the routine left in the state of the flow's workers
   */
  metrics?: () => InferenceReading | undefined;
  /**
   * GPU memory in bytes, for `vram_util` on a GPU backend.
   * @default the largest GPU's memory from the system probe (`systeminformation`), read once
   */
  vramTotalBytes?: number | (() => number | undefined);
}

const kKeys = ['min', 'max', 'baseline', 'name', 'metrics', 'vramTotalBytes'] as const;

function policyMax(runtime: Runtime, flowId: string, routineId: string): number {
  const entry = runtime.getFlow(flowId).getRoutine(routineId);
  if (entry === undefined) {
    throw new SluiceError(ErrorCode.RoutineNotFound, `Flow "${flowId}" has no routine "${routineId}"`, { details: { flowId, routineId } });
  }
  const policy = entry.routine.activationPolicy;
  if (policy.type !== 'batchSize') {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected routine "${routineId}" of flow "${flowId}" to have a batchSize policy, got ${describeValue(policy.type)}`,
      {
        details: { flowId, routineId },
      },
    );
  }
  return policy.config.n as number;
}

function newestStats(runtime: Runtime, flowId: string, routineId: string): InferenceStats | undefined {
  let newest: InferenceStats | undefined;
  for (const worker of runtime.listWorkers()) {
    if (worker.flowId !== flowId) continue;
    const stats = readInferenceStats(worker, routineId);
    if (stats !== undefined && (newest === undefined || stats.updatedAt > newest.updatedAt)) newest = stats;
  }
  return newest;
}

function probeVram(): () => number | undefined {
  let total: number | undefined;
  let asked = false;
  return () => {
    if (!asked) {
      asked = true;
      createSystemInformationSource()
        .gpus()
        .then((gpus) => {
          const sizes = gpus.map((g) => g.memoryTotalBytes).filter((b): b is number => typeof b === 'number' && b > 0);
          if (sizes.length > 0) total = Math.max(...sizes);
        })
        .catch(() => undefined);
    }
    return total;
  };
}

/**
 * Makes the governable subsystem of one inference routine. Register it with
 * `governor.register(governable, { rules: createInferenceRules({ name: governable.name, … }) })`.
 *
 * @example
 * ```ts
 * const governable = createInferenceGovernable(runtime, 'classify', 'infer', { min: 4, max: 128 });
 * governor.register(governable, { rules: createInferenceRules({ name: governable.name, maxBatchLatencyMs: 40 }) });
 * ```
 */
export function createInferenceGovernable(
  runtime: Runtime,
  flowId: string,
  routineId: string,
  options: InferenceGovernableOptions = {},
): Governable {
  assertObject('createInferenceGovernable options', options);
  assertKnownKeys('createInferenceGovernable options', options as Record<string, unknown>, kKeys);
  assertName('createInferenceGovernable flowId', flowId);
  assertName('createInferenceGovernable routineId', routineId);
  const n = policyMax(runtime, flowId, routineId);
  const min = options.min ?? 1;
  const max = options.max ?? n;
  assertInteger('createInferenceGovernable min', min, 1);
  assertInteger('createInferenceGovernable max', max, 1);
  if (min > max) throw new RangeError(`Expected \`min\` (${min}) <= \`max\` (${max}) in createInferenceGovernable`);
  const baseline = options.baseline ?? max;
  assertInteger('createInferenceGovernable baseline', baseline, min, max);
  const name = options.name ?? `inference:${flowId}/${routineId}`;
  assertName('createInferenceGovernable name', name);
  if (options.metrics !== undefined) assertFunction('createInferenceGovernable metrics', options.metrics);
  const vramOption = options.vramTotalBytes;
  if (typeof vramOption === 'number') assertNumber('createInferenceGovernable vramTotalBytes', vramOption, 1);
  else if (vramOption !== undefined) assertFunction('createInferenceGovernable vramTotalBytes', vramOption);
  const read = options.metrics ?? (() => newestStats(runtime, flowId, routineId));
  let vramTotal: (() => number | undefined) | undefined = typeof vramOption === 'number' ? () => vramOption : vramOption;

  // The Runtime has no getter for batch caps, so the knob remembers what it set.
  let value = baseline;
  if (baseline < n) runtime.setBatchLimit(flowId, routineId, baseline);
  let lastSeen: number | undefined;

  return createGovernable({
    name,
    knobs: {
      batch: {
        kind: KnobKinds.BatchSize,
        min,
        max,
        baseline,
        get: () => value,
        set: (next) => {
          runtime.setBatchLimit(flowId, routineId, next >= n ? undefined : next);
          value = next;
        },
      },
    },
    metrics: () => {
      const stats = read();
      if (stats === undefined) return {};
      const fresh = stats.updatedAt === undefined || stats.updatedAt !== lastSeen;
      lastSeen = stats.updatedAt;
      const out: Record<string, number | undefined> = {
        [InferenceMetric.TensorBytes]: stats.batchBytes,
        [InferenceMetric.BatchLatencyMs]: fresh ? stats.lastBatchMs : undefined,
        [InferenceMetric.BatchItems]: fresh ? stats.lastBatchSize : undefined,
      };
      if (stats.gpu === true && stats.batchBytes !== undefined) {
        vramTotal ??= probeVram();
        const total = vramTotal();
        if (total !== undefined && total > 0) out[InferenceMetric.VramUtil] = Math.min(1, stats.batchBytes / total);
      }
      return out;
    },
  });
}

/** Options of {@link createInferenceRules}. */
export interface InferenceRulesOptions {
  /** The governable's name: the rules are named `<name>:latency` and `<name>:memory`. */
  name: string;
  /** Reduce the batch when a batch takes longer than this (ms); no latency rule when absent. */
  maxBatchLatencyMs?: number;
  /** Reduce the batch when tensors hold more than this (bytes); no memory rule when absent. */
  maxTensorBytes?: number;
  /**
   * The batch is multiplied by this under pressure and divided by it when giving back.
   * @default 0.5
   */
  factor?: number;
  /**
   * Pressure counts as gone below `threshold × clearRatio`.
   * @default 0.6
   */
  clearRatio?: number;
  /**
   * Least time between two steps of one rule, ms.
   * @default 2000
   */
  cooldownMs?: number;
  /**
   * Cleared samples in a row before giving back a step.
   * @default 3
   */
  clearAfter?: number;
}

/**
 * Rules that reduce an inference routine's batch when its batch latency or tensor memory passes
 * a threshold and grow it back (to the knob's baseline) once they stay under the clear level.
 *
 * @example
 * ```ts
 * governor.register(governable, { rules: createInferenceRules({ name: governable.name, maxBatchLatencyMs: 40, maxTensorBytes: 256e6 }) });
 * ```
 */
export function createInferenceRules(options: InferenceRulesOptions): PolicyRule[] {
  assertObject('createInferenceRules options', options);
  assertKnownKeys('createInferenceRules options', options as unknown as Record<string, unknown>, [
    'name',
    'maxBatchLatencyMs',
    'maxTensorBytes',
    'factor',
    'clearRatio',
    'cooldownMs',
    'clearAfter',
  ]);
  assertName('createInferenceRules name', options.name);
  const factor = options.factor ?? 0.5;
  const clearRatio = options.clearRatio ?? 0.6;
  assertNumber('createInferenceRules factor', factor, Number.MIN_VALUE, 0.99);
  assertNumber('createInferenceRules clearRatio', clearRatio, 0, 1);
  const common = {
    action: Action.ReduceBatch,
    factor,
    restore: true,
    ...(options.cooldownMs === undefined ? {} : { cooldownMs: options.cooldownMs }),
    ...(options.clearAfter === undefined ? {} : { clearAfter: options.clearAfter }),
  };
  const rules: PolicyRule[] = [];
  if (options.maxBatchLatencyMs !== undefined) {
    assertNumber('createInferenceRules maxBatchLatencyMs', options.maxBatchLatencyMs, Number.MIN_VALUE);
    rules.push(
      new PolicyRule({
        ...common,
        name: `${options.name}:latency`,
        metric: InferenceMetric.BatchLatencyMs,
        threshold: options.maxBatchLatencyMs,
        clearThreshold: options.maxBatchLatencyMs * clearRatio,
      }),
    );
  }
  if (options.maxTensorBytes !== undefined) {
    assertNumber('createInferenceRules maxTensorBytes', options.maxTensorBytes, 1);
    rules.push(
      new PolicyRule({
        ...common,
        name: `${options.name}:memory`,
        metric: InferenceMetric.TensorBytes,
        threshold: options.maxTensorBytes,
        clearThreshold: options.maxTensorBytes * clearRatio,
      }),
    );
  }
  return rules;
}

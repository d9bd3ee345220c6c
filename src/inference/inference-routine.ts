/**
 * A routine that runs a TensorFlow.js Layers model over batches of items. Its policy is
 * `batchSize(maxBatch, { timeoutMs })`, so the batch is a run-time knob
 * (`runtime.setBatchLimit(flowId, routineId, n)`, which the governor turns through
 * {@link createInferenceGovernable}). Each item gets exactly one result, emitted for its own job.
 *
 * The model is a thread resource, not per-worker state: it is loaded on the first activation in
 * a thread and kept by the routine object for that thread (inline: the main thread; on the pool:
 * the routine each thread rebuilt from the flow module). It is never changed after loading.
 */
import { batchSize } from '../core/activation-policy.ts';
import type { ActivationContext } from '../core/context.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { Routine, type SlotItems } from '../core/routine.ts';
import type { SlotOptions } from '../core/slot.ts';
import { assertFunction, assertInteger, assertKnownKeys, assertNumber, assertObject } from '../core/validate.ts';
import { kInferenceStateKey } from './inference-stats.ts';
import { assertModelSource, describeModelSource, type ModelSource } from './model-source.ts';
import { ModelSession, type Prediction } from './model-session.ts';
import type { BackendInfo, TensorFlowOptions } from './tensorflow-backend.ts';

/** The slot an inference routine reads. */
export const kInferenceSlot = 'in';
/** The event an inference routine emits one result per item on. */
export const kPredictionEvent = 'prediction';

/**
 * An item for an inference routine: the input row itself (numbers, `inputSize` of them, laid
 * out in the model's input shape), or an object with the row under `input` and any other fields,
 * which are passed through to the result.
 */
export type InferenceItem = ArrayLike<number> | { readonly input: ArrayLike<number>; readonly [field: string]: unknown };

/**
 * What `prediction` carries: the item's other fields plus `output` (a `Float32Array`, or one per
 * output of a multi-output model).
 */
export interface InferenceResult {
  readonly output: Prediction;
  readonly [field: string]: unknown;
}

/** Says once per thread which backend and model were loaded. */
export type InferenceLog = (line: string, info: BackendInfo) => void;

/** Options of {@link InferenceRoutine}. */
export interface InferenceRoutineOptions {
  /** The model: `{ path }` on disk or `{ create(tf) }` in code. */
  model: ModelSource;
  /**
   * The largest batch: the `batchSize` policy's `n` and the governor's ceiling.
   * @default 32
   */
  maxBatch?: number;
  /**
   * Longest a partial batch waits for company, in milliseconds.
   * @default 10
   */
  timeoutMs?: number;
  /** Backend selection (which kinds, the import function, the wasm folder). */
  tensorflow?: TensorFlowOptions;
  /**
   * Options of the `in` slot.
   * @default { maxQueueLength: 1000, overflow: 'block' } (a fast upstream waits for the model)
   */
  slot?: SlotOptions;
  /**
   * Run one prediction when the model loads, so the first batch does not pay for kernel setup.
   * @default true
   */
  warmUp?: boolean;
  /**
   * Where the one line saying which backend was loaded goes; `false` for nowhere.
   * @default a line on stderr
   */
  log?: InferenceLog | false;
}

const kKeys = ['model', 'maxBatch', 'timeoutMs', 'tensorflow', 'slot', 'warmUp', 'log'] as const;

const defaultLog: InferenceLog = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * Batched model inference.
 *
 * @example
 * ```ts
 * const flow = new Flow('classify')
 *   .addRoutine(new InferenceRoutine({ model: { path: '.sluice/models/mlp' }, maxBatch: 64, timeoutMs: 5 }), 'infer')
 *   .addRoutine(new Sink(), 'sink')
 *   .connect('infer', 'prediction', 'sink', 'in');
 * runtime.post('classify', 'infer', 'in', { id: 7, input: new Float32Array(16) });
 * ```
 */
export class InferenceRoutine extends Routine {
  readonly #model: ModelSource;
  readonly #tensorflow: TensorFlowOptions | undefined;
  readonly #warmUp: boolean;
  readonly #log: InferenceLog | false;
  readonly #maxBatch: number;
  // The per-thread model (see the module comment); a failed load is forgotten so the next
  // activation tries again.
  #session: Promise<ModelSession> | undefined;

  constructor(options: InferenceRoutineOptions) {
    super();
    assertObject('InferenceRoutine options', options);
    assertKnownKeys('InferenceRoutine options', options as unknown as Record<string, unknown>, kKeys);
    assertModelSource('InferenceRoutine model', options.model);
    const maxBatch = options.maxBatch ?? 32;
    const timeoutMs = options.timeoutMs ?? 10;
    assertInteger('InferenceRoutine maxBatch', maxBatch, 1);
    assertNumber('InferenceRoutine timeoutMs', timeoutMs, 0);
    if (options.tensorflow !== undefined) assertObject('InferenceRoutine tensorflow', options.tensorflow);
    if (options.warmUp !== undefined && typeof options.warmUp !== 'boolean') {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`InferenceRoutine warmUp\` to be a boolean, got ${describeValue(options.warmUp)}`,
      );
    }
    if (options.log !== undefined && options.log !== false) assertFunction('InferenceRoutine log', options.log);
    this.#model = options.model;
    this.#tensorflow = options.tensorflow;
    this.#warmUp = options.warmUp ?? true;
    this.#log = options.log ?? defaultLog;
    this.#maxBatch = maxBatch;
    this.addSlot(kInferenceSlot, options.slot ?? { overflow: 'block' });
    this.addEvent(kPredictionEvent, ['output']);
    this.setActivationPolicy(batchSize(maxBatch, { timeoutMs }));
    this.setConfig({ maxBatch, timeoutMs, model: describeModelSource(options.model) });
  }

  /** The largest batch (the policy's `n`). */
  get maxBatch(): number {
    return this.#maxBatch;
  }

  /**
   * This thread's model, loaded on first use (also usable outside a flow, e.g. to compare with
   * plain `model.predict`).
   */
  session(): Promise<ModelSession> {
    if (this.#session === undefined) {
      const opening = ModelSession.open({
        model: this.#model,
        ...(this.#tensorflow === undefined ? {} : { tensorflow: this.#tensorflow }),
        warmUp: this.#warmUp,
        label: `the model of ${this.kind}`,
      });
      this.#session = opening;
      opening.then(
        (session) => {
          if (this.#log === false) return;
          const s = session.stats();
          this.#log(
            `[sluice] ${this.kind}: TensorFlow.js ${session.info.version} on ${session.info.kind} (${session.info.package}), model ` +
              `${describeModelSource(this.#model)}, input [${session.inputShape.join(', ')}], thread ${s.thread}, loaded in ` +
              `${Math.round(session.loadMs)} ms`,
            session.info,
          );
        },
        () => {
          if (this.#session === opening) this.#session = undefined;
        },
      );
    }
    return this.#session;
  }

  async logic(_items: SlotItems, ctx: ActivationContext): Promise<void> {
    const session = await this.session();
    const entries = ctx.entries(kInferenceSlot);
    const size = session.inputSize;
    // An item that belongs to several jobs appears once per job, in a row: predict it once.
    const rowOf: number[] = new Array(entries.length);
    const rows: unknown[] = [];
    for (let i = 0; i < entries.length; i++) {
      const data = (entries[i] as { data: unknown }).data;
      if (i > 0 && data === rows[rows.length - 1]) rowOf[i] = rows.length - 1;
      else rowOf[i] = rows.push(data) - 1;
    }
    const flat = new Float32Array(rows.length * size);
    rows.forEach((item, r) => {
      flat.set(this.#inputOf(ctx.routineId, item, r, size), r * size);
    });
    const predictions = await session.predict(flat, rows.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as { data: unknown; job: ActivationContext['job'] };
      const item = entry.data;
      const output = predictions[rowOf[i] as number] as Prediction;
      let result: InferenceResult;
      if (isWrapped(item)) {
        const { input: _input, ...rest } = item;
        result = { ...rest, output };
      } else {
        result = { output };
      }
      ctx.emit(kPredictionEvent, result, { job: entry.job });
    }
    ctx.setState({ [kInferenceStateKey]: session.stats() });
  }

  #inputOf(routineId: string, item: unknown, index: number, size: number): ArrayLike<number> {
    const input = isWrapped(item) ? item.input : item;
    const ok = (ArrayBuffer.isView(input) && !(input instanceof DataView)) || Array.isArray(input);
    const length = ok ? (input as ArrayLike<number>).length : undefined;
    if (!ok || length !== size) {
      throw new SluiceError(
        ErrorCode.InvalidInput,
        `Routine "${routineId}": item ${index} of the batch must be ${size} numbers (an array or typed array, alone or as \`input\`), ` +
          `got ${length === undefined ? describeValue(input) : `${length} numbers`}`,
        { details: { routineId, index, expected: size, received: length ?? null } },
      );
    }
    return input as ArrayLike<number>;
  }
}

function isWrapped(item: unknown): item is { input: ArrayLike<number>; [field: string]: unknown } {
  return typeof item === 'object' && item !== null && !Array.isArray(item) && !ArrayBuffer.isView(item) && 'input' in item;
}

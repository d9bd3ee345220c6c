/** Shared pieces of the inference tests: a small seeded model, a flow around it, a collector. */
import { Flow, Routine, type ActivationContext, type SlotItems } from '../../src/index.ts';
import { InferenceRoutine, type InferenceRoutineOptions, type TensorFlow } from '../../src/inference/index.ts';

export const kInputs = 6;
export const kOutputs = 3;

/** A seeded MLP (6 → 8 tanh → 3 softmax), the same in every thread. */
export function createSmallModel(tf: TensorFlow) {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 8,
        activation: 'tanh',
        inputShape: [kInputs],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }),
        biasInitializer: 'ones',
      }),
      tf.layers.dense({ units: kOutputs, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }) }),
    ],
  });
}

/** Input row `i`: deterministic numbers in [-1, 1]. */
export function row(i: number): number[] {
  return Array.from({ length: kInputs }, (_, k) => Math.sin(i * 1.7 + k * 0.9));
}

/** Writes each result into its own job's data. */
export class Collect extends Routine {
  constructor() {
    super();
    this.addSlot('in', { overflow: 'block', maxQueueLength: 10_000 });
  }

  logic(_items: SlotItems, ctx: ActivationContext): void {
    for (const { data, job } of ctx.entries('in')) {
      const r = data as { output: Float32Array; id?: number };
      job.data.output = Array.from(r.output);
      if (r.id !== undefined) job.data.id = r.id;
    }
  }
}

/** infer → collect, with the small model unless `options.model` says otherwise. */
export function inferenceFlow(id: string, options: Partial<InferenceRoutineOptions> = {}): { flow: Flow; routine: InferenceRoutine } {
  const routine = new InferenceRoutine({
    model: { create: createSmallModel },
    maxBatch: 16,
    timeoutMs: 1,
    tensorflow: { backend: 'wasm' },
    log: false,
    ...options,
  });
  const flow = new Flow(id)
    .addRoutine(routine, 'infer')
    .addRoutine(new Collect(), 'collect')
    .connect('infer', 'prediction', 'collect', 'in');
  return { flow, routine };
}

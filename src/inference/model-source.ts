/**
 * Where an inference routine's model comes from: a folder (or `model.json`, or `file:` URL) on
 * the local disk, or a function that builds it in code. Nothing is ever downloaded: a remote URL
 * is refused at the edge.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { fileSystemLoader, modelJsonPath } from './file-model-io.ts';
import type { TensorFlow } from './tensorflow-backend.ts';

/**
 * A model on disk (`{ path }`: a folder holding `model.json`, the `model.json` itself, or a
 * `file:` URL) or built in code (`{ create(tf) }`, which may also load or train it). The
 * function form runs once in every thread that runs the routine.
 *
 * @example
 * ```ts
 * const fromDisk: ModelSource = { path: '.sluice/models/mlp' };
 * const inCode: ModelSource = { create: (tf) => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] }) };
 * ```
 */
export type ModelSource = { readonly path: string } | { readonly create: (tf: TensorFlow) => tfjs.LayersModel | Promise<tfjs.LayersModel> };

/**
 * Checks a {@link ModelSource} at the public edge (`SLUICE_ERR_INVALID_ARGUMENT` naming `name`).
 *
 * @example
 * ```ts
 * assertModelSource('InferenceRoutine model', { path: 'models/mlp' });
 * ```
 */
export function assertModelSource(name: string, source: unknown): asserts source is ModelSource {
  const s = source as { path?: unknown; create?: unknown } | null;
  const ok =
    typeof s === 'object' &&
    s !== null &&
    ((typeof s.path === 'string' && s.path.length > 0 && s.create === undefined) ||
      (typeof s.create === 'function' && s.path === undefined));
  if (!ok) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`${name}\` to be { path: string } or { create: (tf) => LayersModel }, got ${describeValue(source)}`,
      {
        details: { name },
      },
    );
  }
  const path = (s as { path?: string }).path;
  if (path !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(path) && !path.startsWith('file:')) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`${name}.path\` to be a local path or a file: URL (models are never downloaded), got ${describeValue(path)}`,
      {
        details: { name },
      },
    );
  }
}

/** A short description of a source for logs: the path, or `create()`. */
export function describeModelSource(source: ModelSource): string {
  return 'path' in source ? modelJsonPath(source.path) : 'create()';
}

/**
 * Builds or loads the model of `source` with `tf`. Any failure is `SLUICE_ERR_MODEL_LOAD_FAILED`
 * naming `label` and the source, with the original error as `cause`.
 *
 * @example
 * ```ts
 * const { tf } = await loadTensorFlow();
 * const model = await loadModel(tf, { path: '.sluice/models/mlp' });
 * ```
 */
export async function loadModel(tf: TensorFlow, source: ModelSource, label = 'model'): Promise<tfjs.LayersModel> {
  assertModelSource(`${label} source`, source);
  let model: unknown;
  try {
    model = 'path' in source ? await tf.loadLayersModel(fileSystemLoader(source.path)) : await source.create(tf);
  } catch (cause) {
    throw new SluiceError(
      ErrorCode.ModelLoadFailed,
      `Could not load ${label} from ${describeModelSource(source)}: ${(cause as Error)?.message ?? String(cause)}`,
      {
        cause,
        details: { source: describeModelSource(source) },
      },
    );
  }
  const m = model as Partial<tfjs.LayersModel> | null;
  if (typeof m !== 'object' || m === null || typeof m.predict !== 'function' || !Array.isArray(m.inputs)) {
    throw new SluiceError(
      ErrorCode.ModelLoadFailed,
      `The create() function of ${label} returned ${describeValue(model)} instead of a tf.LayersModel`,
      {
        details: { source: describeModelSource(source) },
      },
    );
  }
  return model as tfjs.LayersModel;
}

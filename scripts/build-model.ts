/**
 * Builds the example model of flows/inference.ts: trains the MLP on synthetic readings
 * (deterministic, a few seconds) and saves it as model.json + weights.bin into
 * .sluice/models/blobs-mlp (git-ignored), or into the folder given as the first argument.
 *
 *   npm run build-model [-- <dir>]
 */
import { loadTensorFlow } from '../src/inference/index.ts';
import { kDefaultModelDir, trainModel } from '../flows/inference.ts';

const dir = process.argv[2] ?? kDefaultModelDir;
const { tf, info } = await loadTensorFlow();
const { accuracy, seconds } = await trainModel(tf, dir);
console.log(
  `model saved to ${dir}: training accuracy ${(accuracy * 100).toFixed(1)}% in ${seconds.toFixed(1)} s on ${info.kind} (${info.package})`,
);

/**
 * Saving and loading Layers models on the local file system in the format of
 * `model.save('file://…')`: a `model.json` (topology and weights manifest) beside one
 * `weights.bin`. `@tensorflow/tfjs` has no `file://` handler without `@tensorflow/tfjs-node`, so
 * sluice brings these two; they work with every backend and never touch the network.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { assertName } from '../core/validate.ts';

type ModelArtifacts = tfjs.io.ModelArtifacts;
type WeightsManifestConfig = tfjs.io.WeightsManifestConfig;

/** The name of the topology file in a model folder. */
export const kModelJson = 'model.json';
/** The name of the weights file {@link fileSystemSaver} writes. */
export const kWeightsBin = 'weights.bin';

/** A path, or a `file:` URL, as a path. */
export function toFsPath(pathOrUrl: string): string {
  return pathOrUrl.startsWith('file:') ? fileURLToPath(pathOrUrl) : pathOrUrl;
}

/** The `model.json` of a model folder or file path (or `file:` URL). */
export function modelJsonPath(pathOrUrl: string): string {
  const path = toFsPath(pathOrUrl);
  return path.endsWith('.json') ? path : join(path, kModelJson);
}

function toArrayBuffer(view: Uint8Array): ArrayBuffer {
  return view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
}

function joinBuffers(parts: readonly ArrayBuffer[]): ArrayBuffer {
  if (parts.length === 1) return parts[0] as ArrayBuffer;
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out.buffer;
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  // Several threads may build the same model at once: each writes its own temporary file and
  // renames it into place, so a reader never sees half a file.
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * A `tf.io.IOHandler` that saves a model into folder `dir` (created if missing) as
 * `model.json` + `weights.bin`. The weights are written first, so a `model.json` on disk always
 * has its weights.
 *
 * @example
 * ```ts
 * await model.save(fileSystemSaver('.sluice/models/mlp'));
 * ```
 */
export function fileSystemSaver(dir: string): tfjs.io.IOHandler {
  assertName('fileSystemSaver dir', dir);
  const folder = toFsPath(dir);
  return {
    async save(artifacts: ModelArtifacts): Promise<tfjs.io.SaveResult> {
      await mkdir(folder, { recursive: true });
      const data = artifacts.weightData;
      const weights = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? joinBuffers(data) : (data as ArrayBuffer);
      const manifest: WeightsManifestConfig = [{ paths: [kWeightsBin], weights: artifacts.weightSpecs ?? [] }];
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig === undefined ? {} : { trainingConfig: artifacts.trainingConfig }),
        ...(artifacts.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: artifacts.userDefinedMetadata }),
        weightsManifest: manifest,
      };
      const text = JSON.stringify(json);
      await writeAtomically(join(folder, kWeightsBin), new Uint8Array(weights));
      await writeAtomically(join(folder, kModelJson), text);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}

/**
 * A `tf.io.IOHandler` that loads a model saved by {@link fileSystemSaver} or by
 * `model.save('file://…')` from a folder, a `model.json` path or a `file:` URL. Weight files
 * are read relative to the `model.json`.
 *
 * @example
 * ```ts
 * const model = await tf.loadLayersModel(fileSystemLoader('.sluice/models/mlp'));
 * ```
 */
export function fileSystemLoader(pathOrUrl: string): tfjs.io.IOHandler {
  assertName('fileSystemLoader path', pathOrUrl);
  const jsonPath = modelJsonPath(pathOrUrl);
  return {
    async load(): Promise<ModelArtifacts> {
      const json = JSON.parse(await readFile(jsonPath, 'utf8')) as {
        modelTopology?: object;
        weightsManifest?: WeightsManifestConfig;
        format?: string;
        generatedBy?: string;
        convertedBy?: string | null;
        trainingConfig?: ModelArtifacts['trainingConfig'];
        userDefinedMetadata?: Record<string, unknown>;
      };
      if (typeof json.modelTopology !== 'object' || json.modelTopology === null) throw new Error(`${jsonPath} has no modelTopology`);
      const folder = dirname(jsonPath);
      const weightSpecs: tfjs.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        weightSpecs.push(...group.weights);
        for (const path of group.paths) buffers.push(toArrayBuffer(await readFile(join(folder, path))));
      }
      const artifacts: ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: joinBuffers(buffers.length === 0 ? [new ArrayBuffer(0)] : buffers),
      };
      if (json.format !== undefined) artifacts.format = json.format;
      if (json.generatedBy !== undefined) artifacts.generatedBy = json.generatedBy;
      if (json.convertedBy !== undefined) artifacts.convertedBy = json.convertedBy;
      if (json.trainingConfig !== undefined) artifacts.trainingConfig = json.trainingConfig;
      if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata as Record<string, object>;
      return artifacts;
    },
  };
}

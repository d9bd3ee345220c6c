import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode, isSluiceError } from '../../src/index.ts';
import { loadTensorFlow, resetTensorFlowCache, selectBackend, type ModuleImporter } from '../../src/inference/index.ts';

const realImport: ModuleImporter = (specifier) => import(specifier);

function notInstalled(specifier: string): Error {
  return Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
}

/** A stand-in for a native package: the TensorFlow.js API surface selection touches. */
function fakeNative(name: string, options: { starts?: boolean } = {}) {
  let backend = 'cpu';
  return {
    name,
    tensor: () => undefined,
    setBackend: vi.fn(async (b: string) => {
      if (options.starts === false) return false;
      backend = b;
      return true;
    }),
    ready: async () => undefined,
    getBackend: () => backend,
    version_core: `fake-${name}`,
  };
}

/** An importer where only the packages in `present` exist (real tfjs for the rest when `real`). */
function importer(
  present: Record<string, unknown>,
  real: readonly string[] = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'],
): ModuleImporter & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (specifier: string) => {
    calls.push(specifier);
    if (specifier in present) {
      const value = present[specifier];
      if (value instanceof Error) throw value;
      return value;
    }
    if (real.includes(specifier)) return realImport(specifier);
    throw notInstalled(specifier);
  };
  return Object.assign(fn, { calls });
}

// The whole file runs offline: the first wasm initialisation happens under this stub.
const fetchSpy = vi.fn(async (url: unknown) => {
  throw new Error(`network access is not allowed in this test (fetch ${String(url)})`);
});
beforeAll(() => vi.stubGlobal('fetch', fetchSpy));
afterAll(() => vi.unstubAllGlobals());
afterEach(() => resetTensorFlowCache());

describe('backend selection: node-gpu, node, wasm, cpu', () => {
  it('without the native packages, picks wasm and says why the others were skipped', async () => {
    const imports = importer({});
    const { tf, info } = await selectBackend({ importModule: imports, detectGpu: () => false });
    expect(info).toMatchObject({ kind: 'wasm', backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm', gpu: false });
    expect(tf.getBackend()).toBe('wasm');
    expect(info.attempts).toEqual([
      { kind: 'node-gpu', package: '@tensorflow/tfjs-node-gpu', ok: false, reason: 'no GPU found' },
      { kind: 'node', package: '@tensorflow/tfjs-node', ok: false, reason: 'not installed' },
      { kind: 'wasm', package: '@tensorflow/tfjs-backend-wasm', ok: true },
    ]);
    // No GPU: the GPU package is never even imported.
    expect(imports.calls).not.toContain('@tensorflow/tfjs-node-gpu');
  });

  it('with a GPU and tfjs-node-gpu installed, picks node-gpu', async () => {
    const gpu = fakeNative('gpu');
    const { tf, info } = await selectBackend({ importModule: importer({ '@tensorflow/tfjs-node-gpu': gpu }), detectGpu: () => true });
    expect(info).toMatchObject({ kind: 'node-gpu', backend: 'tensorflow', gpu: true, version: 'fake-gpu' });
    expect(tf).toBe(gpu);
    expect(gpu.setBackend).toHaveBeenCalledWith('tensorflow');
  });

  it('a CommonJS namespace (the API under default) is accepted', async () => {
    const node = fakeNative('node');
    const { tf, info } = await selectBackend({
      importModule: importer({ '@tensorflow/tfjs-node': { default: node } }),
      detectGpu: () => false,
    });
    expect(info.kind).toBe('node');
    expect(tf).toBe(node);
  });

  it('tfjs-node-gpu that cannot load CUDA falls back to tfjs-node', async () => {
    const cuda = new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
    const node = fakeNative('node');
    const { info } = await selectBackend({
      importModule: importer({ '@tensorflow/tfjs-node-gpu': cuda, '@tensorflow/tfjs-node': node }),
      detectGpu: () => true,
    });
    expect(info.kind).toBe('node');
    expect(info.attempts[0]).toEqual({
      kind: 'node-gpu',
      package: '@tensorflow/tfjs-node-gpu',
      ok: false,
      reason: 'libcudart.so.11.0: cannot open shared object file: No such file or directory',
    });
  });

  it('tfjs-node-gpu that imports but fails to initialise (no usable GPU) falls back to tfjs-node', async () => {
    const gpu = fakeNative('gpu', { starts: false });
    const node = fakeNative('node');
    const { info } = await selectBackend({
      importModule: importer({ '@tensorflow/tfjs-node-gpu': gpu, '@tensorflow/tfjs-node': node }),
      detectGpu: () => true,
    });
    expect(info.kind).toBe('node');
    expect(info.attempts[0]?.reason).toBe('tf.setBackend("tensorflow") failed');
  });

  it('a GPU detector that throws counts as no GPU', async () => {
    const { info } = await selectBackend({
      importModule: importer({ '@tensorflow/tfjs-node': fakeNative('node') }),
      detectGpu: () => {
        throw new Error('nvidia-smi hung');
      },
    });
    expect(info.kind).toBe('node');
    expect(info.attempts[0]?.reason).toBe('GPU detection failed: nvidia-smi hung');
  });

  it('without the wasm package, falls back to the plain cpu backend', async () => {
    const { tf, info } = await selectBackend({ importModule: importer({}, ['@tensorflow/tfjs']), detectGpu: () => false });
    expect(info.kind).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.attempts.map((a) => [a.kind, a.ok])).toEqual([
      ['node-gpu', false],
      ['node', false],
      ['wasm', false],
      ['cpu', true],
    ]);
  });

  it('with nothing loadable, throws SLUICE_ERR_BACKEND_UNAVAILABLE listing every attempt', async () => {
    const error = await selectBackend({ importModule: importer({}, []), detectGpu: () => false }).catch((e: unknown) => e);
    expect(isSluiceError(error) && error.code).toBe(ErrorCode.BackendUnavailable);
    expect((error as Error).message).toContain('node: not installed');
    expect((error as { details: { attempts: unknown[] } }).details.attempts).toHaveLength(4);
  });

  it('a kind named explicitly is the only one tried', async () => {
    const error = await selectBackend({ backend: 'node', importModule: importer({}) }).catch((e: unknown) => e);
    expect(isSluiceError(error) && error.code).toBe(ErrorCode.BackendUnavailable);
    expect((error as { details: { attempts: unknown[] } }).details.attempts).toEqual([
      { kind: 'node', package: '@tensorflow/tfjs-node', ok: false, reason: 'not installed' },
    ]);
  });

  it('rejects unknown backends and options with coded errors naming them', async () => {
    await expect(selectBackend({ backend: 'tpu' as never })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('`"tpu"` (string)'),
    });
    await expect(selectBackend({ backend: [] })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(selectBackend({ gpu: true } as never)).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('`TensorFlow options.gpu`'),
    });
    await expect(selectBackend({ importModule: 'x' as never })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('rejects a blank wasmPath', async () => {
    await expect(selectBackend({ wasmPath: ' ' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('`wasmPath`'),
    });
  });

  it('loadTensorFlow loads once per thread and reuses it', async () => {
    const imports = importer({});
    const first = await loadTensorFlow({ importModule: imports, detectGpu: () => false, backend: ['wasm', 'cpu'] });
    const calls = imports.calls.length;
    const second = await loadTensorFlow({ importModule: imports, detectGpu: () => false, backend: ['wasm', 'cpu'] });
    expect(second).toBe(first);
    expect(imports.calls.length).toBe(calls);
    // Asking for a kind the loaded one is not runs the chain again.
    const cpu = await loadTensorFlow({ importModule: imports, backend: 'cpu' });
    expect(cpu.info.kind).toBe('cpu');
  });

  it('the wasm backend read its binary from disk: nothing in this file fetched anything', async () => {
    const { tf, info } = await selectBackend({ backend: 'wasm' });
    expect(info.kind).toBe('wasm');
    const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])));
    expect(Array.from(await y.data())).toEqual([4, 6]);
    y.dispose();
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

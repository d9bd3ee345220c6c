import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);

describe('the inference example', () => {
  it('npm run build-model trains and saves the model into the folder given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-model-'));
    try {
      const { stdout } = await run('npm', ['run', '-s', 'build-model', '--', join(dir, 'mlp')], { cwd: root, timeout: 120_000 });
      expect(stdout).toMatch(/model saved to .*mlp: training accuracy [\d.]+% in [\d.]+ s on (wasm|cpu|node|node-gpu)/);
      expect(existsSync(join(dir, 'mlp', 'model.json'))).toBe(true);
      expect(existsSync(join(dir, 'mlp', 'weights.bin'))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('npm run inference prints the backend, throughput and accuracy', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'inference', '--', '--items', '500'], { cwd: root, timeout: 120_000 });
    expect(stdout).toMatch(/^backend: (wasm|cpu|node|node-gpu) /m);
    expect(stdout).toMatch(/flow inference: 500 items in [\d.]+ s = [\d,]+ items\/s \(0 failed\)/);
    expect(stdout).toMatch(/accuracy: (9\d|100)\.\d% over 501 items/);
  }, 120_000);
});

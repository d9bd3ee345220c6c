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

  it('sluice run flows/inference.ts prints the throughput, then the backend, batches and accuracy', async () => {
    const { stdout } = await run(
      process.execPath,
      ['bin/sluice.js', 'run', 'flows/inference.ts', '--items', '500', '--threads', '1', '--param', 'maxBatch=16', '--no-record'],
      { cwd: root, timeout: 120_000 },
    );
    expect(stdout).toMatch(/^flow inference: 500 items in [\d.]+ s = [\d,]+ items\/s$/m);
    expect(stdout).toMatch(/^jobs: 500 completed, 0 failed, 0 cancelled$/m);
    expect(stdout).toMatch(/^backend: (wasm|cpu|node|node-gpu) /m);
    expect(stdout).toMatch(/^batches: \d+ \(mean ([\d.]+) items/m);
    expect(Number(/mean ([\d.]+) items/.exec(stdout)?.[1])).toBeLessThanOrEqual(16);
    expect(stdout).toMatch(/^accuracy: (9\d|100)\.\d% over 500 items$/m);
  }, 120_000);

  it('sluice run flows/inference.ts --items abc is a usage error, never NaN items/s', async () => {
    const failed = await run(process.execPath, ['bin/sluice.js', 'run', 'flows/inference.ts', '--items', 'abc'], {
      cwd: root,
      timeout: 60_000,
    }).catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect(failed).toMatchObject({ code: 2, stdout: '' });
    expect((failed as { stderr: string }).stderr).toMatch(/SLUICE_ERR_USAGE: option '--items <n>' argument 'abc' is invalid/);
    expect((failed as { stderr: string }).stderr).not.toMatch(/NaN/);
  }, 60_000);
});

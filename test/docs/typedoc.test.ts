/**
 * `npm run docs` builds the API reference without a warning: typedoc.json treats warnings as
 * errors, so an export referring to a type the reference does not include, a broken link in a
 * guide or a TSDoc tag typedoc does not know fails this test.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'sluice-typedoc-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run docs', () => {
  it('builds the API reference and the guides with no warning', async () => {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], {
      cwd: root,
      timeout: 240_000,
      maxBuffer: 16 * 2 ** 20,
    });
    const text = `${stdout}\n${stderr}`;
    expect(text).not.toMatch(/\[warning\]/);
    expect(text).not.toMatch(/\[error\]/);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    // One module per entry (sluice, sluice/bus, …), the guides listed by their titles.
    expect(existsSync(join(out, 'functions', 'sluice_harness.runBench.html'))).toBe(true);
    const modules = ['sluice', 'sluice_bus', 'sluice_store', 'sluice_governor', 'sluice_resilience', 'sluice_testing', 'sluice_inference'];
    for (const entry of modules) {
      expect(existsSync(join(out, 'modules', `${entry}.html`)), entry).toBe(true);
    }
    expect(existsSync(join(out, 'documents', 'Getting_started.html'))).toBe(true);
  }, 240_000);
});

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
    expect(['runBench.html', 'index.runBench.html'].some((f) => existsSync(join(out, 'functions', f)))).toBe(true);
    expect(existsSync(join(out, 'documents'))).toBe(true);
  }, 240_000);
});

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };

function quickStartCommands(): string[] {
  const section = readme.split(/^## Quick start$/m)[1]?.split(/^## /m)[0] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

describe('README quick start', () => {
  it('is exactly two commands: install and run the main job, then the tests', () => {
    expect(quickStartCommands()).toEqual(['npm ci && npm start', 'npm test']);
  });

  it('.ci/run performs the same clean install and the same test command', () => {
    const ci = readFileSync(new URL('.ci/run', root), 'utf8');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
    // The test command first makes sure of what the tests need from the machine
    // (test/ensure-system.mjs), then typechecks the whole tree (src, flows, bench, test, scripts)
    // and checks lint and formatting (Biome) before the tests run.
    expect(pkg.scripts.test).toBe('node test/ensure-system.mjs && tsc -p tsconfig.json --noEmit && biome ci . && vitest run');
    expect(ci).not.toMatch(/apt-get/);
  });

  it('npm start runs the pipeline example and reports items, seconds and items/s', async () => {
    const { stdout } = await run('npm', ['start', '--silent', '--', '--items', '20000', '--quiet'], { cwd: root, timeout: 120_000 });
    expect(stdout).toMatch(/flow pipeline: 20,000 items in [\d.]+ s = [\d,]+ items\/s/);
    expect(stdout).toMatch(/jobs: 20,000 completed, 0 failed, 0 cancelled/);
  }, 120_000);
});

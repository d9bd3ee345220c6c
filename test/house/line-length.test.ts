/**
 * The house rule the formatter cannot enforce alone: no line of code, comment or string in the
 * tree is longer than 140 characters (Biome wraps code at 140; text inside comments and
 * literals is wrapped by hand).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const kLimit = 140;
const root = new URL('../../', import.meta.url);

describe('line length', () => {
  it(`no tracked source line is longer than ${kLimit} characters`, () => {
    const args = ['ls-files', '--cached', '--others', '--exclude-standard', 'src', 'test', 'bench', 'flows', 'scripts', 'bin'];
    const files = execFileSync('git', args, { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => /\.(ts|mts|js|mjs)$/.test(f));
    expect(files.length).toBeGreaterThan(100);
    const long: string[] = [];
    for (const file of files) {
      const lines = readFileSync(new URL(file, root), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if ([...line].length > kLimit) long.push(`${file}:${i + 1} (${[...line].length})`);
      });
    }
    expect(long).toEqual([]);
  });
});

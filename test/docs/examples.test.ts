/**
 * Runs the examples of docs/*.md that are marked runnable: a ```ts fence right after a
 * `<!-- run -->` line. Each is written to a temporary .mts file with `'sluice'` mapped to this
 * repository's src/index.ts (and `./flows/…`, `./src/…` to the repository's files), then run
 * with `node --import tsx`; it must exit 0 (examples assert what they show by throwing).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const docs = join(root, 'docs');
const dir = mkdtempSync(join(tmpdir(), 'sluice-doc-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Example {
  file: string;
  line: number;
  code: string;
}

/** The runnable examples of a Markdown text. */
export function extractExamples(file: string, text: string): Example[] {
  const examples: Example[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '<!-- run -->') continue;
    if (!/^```(ts|typescript)\s*$/.test(lines[i + 1] ?? '')) throw new Error(`${file}:${i + 1}: <!-- run --> must be followed by a \`\`\`ts fence`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith('```'));
    if (end < 0) throw new Error(`${file}:${i + 2}: unterminated fence`);
    examples.push({ file, line: i + 2, code: lines.slice(i + 2, end).join('\n') });
    i = end;
  }
  return examples;
}

/** Maps the imports an example shows to this repository. */
export function mapImports(code: string): string {
  const src = join(root, 'src/index.ts');
  return code
    .replace(/from 'sluice'/g, `from '${src}'`)
    .replace(/import\('sluice'\)/g, `import('${src}')`)
    .replace(/from '\.\/(flows|src|bench)\//g, `from '${root}$1/`);
}

const examples = readdirSync(docs)
  .filter((f) => f.endsWith('.md'))
  .sort()
  .flatMap((f) => extractExamples(f, readFileSync(join(docs, f), 'utf8')));

describe('runnable examples in docs/', () => {
  it('finds examples in the guides', () => {
    expect(examples.length).toBeGreaterThanOrEqual(6);
    for (const guide of ['routines-and-policies.md', 'flows-in-modules.md', 'benchmarking.md']) expect(examples.some((e) => e.file === guide), guide).toBe(true);
  });

  it('maps sluice imports to the repository', () => {
    expect(mapImports("import { Runtime } from 'sluice';\nimport cpu from './flows/cpu.ts';")).toBe(`import { Runtime } from '${root}src/index.ts';\nimport cpu from '${root}flows/cpu.ts';`);
  });

  for (const example of examples) {
    it(`${example.file}:${example.line} runs`, async () => {
      const file = join(dir, `${example.file.replace(/\W/g, '_')}_${example.line}.mts`);
      writeFileSync(file, mapImports(example.code));
      try {
        await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 60_000 });
      } catch (error) {
        const e = error as { stderr?: string; stdout?: string; message: string };
        throw new Error(`docs/${example.file}:${example.line} failed:\n${e.stderr || e.stdout || e.message}`);
      }
    }, 90_000);
  }
});

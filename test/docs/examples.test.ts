/**
 * Runs every TypeScript example of README.md and docs/*.md: each ```ts fence, with the code of a
 * `<!-- setup … -->` comment right before it prepended (the context the text has introduced:
 * imports, a runtime, a helper the example calls) and the code of a `<!-- check … -->` comment
 * right after it appended (assertions, cleanup). The reader sees the example; the test runs the
 * whole. Each is written to a temporary .mts file with `'sluice'` and `'sluice/inference'` mapped
 * to this repository's sources (and `./flows/…`, `./src/…` to the repository's files), then run
 * with `node --import tsx` in a fresh temporary directory; it must exit 0 (examples assert what
 * they show by throwing). A fence that only declares types runs too: tsx strips them.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const docs = join(root, 'docs');
/** tsx's loader, by path: examples run in temporary folders, where `--import tsx` would not resolve. */
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const dir = mkdtempSync(join(tmpdir(), 'sluice-doc-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Example {
  file: string;
  line: number;
  code: string;
}

/** The lines of an HTML comment `<!-- name … -->` that spans lines `from`…`to` (inclusive), or undefined. */
function commentBody(lines: readonly string[], from: number, to: number, name: string): string | undefined {
  if (lines[from]?.trim() !== `<!-- ${name}` || lines[to]?.trim() !== '-->') return undefined;
  return lines.slice(from + 1, to).join('\n');
}

/** The examples of a Markdown text: every ```ts fence with its setup and check comments. */
function extractExamples(file: string, text: string): Example[] {
  const examples: Example[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i] ?? '')) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`${file}:${i + 1}: unterminated fence`);
    let setup = '';
    if (lines[i - 1]?.trim().endsWith('-->') === true) {
      const start = lines.slice(0, i).findLastIndex((l) => l.trim().startsWith('<!--'));
      const body = start < 0 ? undefined : commentBody(lines, start, i - 1, 'setup');
      if (body === undefined)
        throw new Error(`${file}:${i}: the comment before a \`\`\`ts fence must be <!-- setup (code on its own lines) -->`);
      setup = body;
    }
    let check = '';
    if (lines[end + 1]?.trim() === '<!-- check') {
      const close = lines.findIndex((l, j) => j > end + 1 && l.trim() === '-->');
      if (close < 0) throw new Error(`${file}:${end + 2}: unterminated <!-- check`);
      check = commentBody(lines, end + 1, close, 'check') as string;
    }
    examples.push({ file, line: i + 1, code: [setup, lines.slice(i + 1, end).join('\n'), check].join('\n') });
    i = end;
  }
  return examples;
}

/** Maps the imports an example shows to this repository. */
function mapImports(code: string): string {
  const src = join(root, 'src/index.ts');
  const inference = join(root, 'src/inference/index.ts');
  return code
    .replace(/from 'sluice'/g, `from '${src}'`)
    .replace(/from 'sluice\/inference'/g, `from '${inference}'`)
    .replace(/from 'sluice\/([a-z-]+)'/g, (_, sub: string) => `from '${join(root, `src/entry/${sub}.ts`)}'`)
    .replace(/import\('sluice'\)/g, `import('${src}')`)
    .replace(/from '\.\/(flows|src|bench|test)\//g, `from '${root}$1/`);
}

const files = [
  'README.md',
  ...readdirSync(docs)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const examples = files.flatMap((f) => extractExamples(f, readFileSync(join(root, f), 'utf8')));

describe('every TypeScript example in README.md and docs/', () => {
  it('finds the examples of the README and the guides', () => {
    expect(examples.length).toBeGreaterThanOrEqual(30);
    for (const file of [
      'README.md',
      'docs/getting-started.md',
      'docs/routines-and-policies.md',
      'docs/flows-in-modules.md',
      'docs/pool.md',
      'docs/bus-and-log.md',
      'docs/governor.md',
      'docs/inference.md',
    ]) {
      expect(
        examples.some((e) => e.file === file),
        file,
      ).toBe(true);
    }
  });

  it('maps sluice imports to the repository', () => {
    expect(
      mapImports(
        "import { Runtime } from 'sluice';\nimport { InferenceRoutine } from 'sluice/inference';\nimport cpu from './flows/cpu.ts';",
      ),
    ).toBe(
      `import { Runtime } from '${root}src/index.ts';\nimport { InferenceRoutine } from '${root}src/inference/index.ts';\nimport cpu ` +
        `from '${root}flows/cpu.ts';`,
    );
  });

  it('takes setup before and check after an example', () => {
    const [example] = extractExamples(
      'x.md',
      'text\n<!-- setup\nconst a = 1;\n-->\n```ts\nconsole.log(a);\n```\n<!-- check\nif (a !== 1) throw new Error();\n-->\n',
    );
    expect(example).toEqual({ file: 'x.md', line: 5, code: 'const a = 1;\nconsole.log(a);\nif (a !== 1) throw new Error();' });
    expect(() => extractExamples('y.md', '<!-- note -->\n```ts\n1;\n```\n')).toThrow(/must be <!-- setup/);
  });

  for (const example of examples) {
    it.concurrent(`${example.file}:${example.line} runs`, async () => {
      const name = `${example.file.replace(/\W/g, '_')}_${example.line}`;
      const cwd = join(dir, name);
      mkdirSync(cwd);
      const file = join(cwd, 'example.mts');
      writeFileSync(file, mapImports(example.code));
      try {
        await run(process.execPath, ['--import', tsx, file], { cwd, timeout: 60_000 });
      } catch (error) {
        const e = error as { stderr?: string; stdout?: string; message: string };
        throw new Error(`${example.file}:${example.line} failed:\n${e.stderr || e.stdout || e.message}`);
      }
    }, 90_000);
  }
});

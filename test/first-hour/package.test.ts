/**
 * The package as a stranger installs it: `npm pack` (which builds dist/ through `prepack`), the
 * tarball installed into an empty project, and the installed `sluice` command run from there on
 * a TypeScript and a JavaScript flow module. Also the install's size without TensorFlow.js (an
 * optional peer) and a consumer's strict typecheck with `skipLibCheck: false`.
 *
 * Installing compiles better-sqlite3 from source (about a minute here); packages come from npm's
 * cache or registry only.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-consumer-'));
const project = join(dir, 'project');
const npmFlags = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** Bytes a folder takes on disk, as `du` counts them: files only, each inode once (esbuild hard-links its binary). */
function sizeOf(path: string, seen = new Set<string>()): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) total += sizeOf(full, seen);
    else if (entry.isFile()) {
      const stat = statSync(full);
      const key = `${stat.dev}:${stat.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      total += stat.size;
    }
  }
  return total;
}

/** Runs the installed `sluice` in the project; resolves with its output and exit code. */
async function sluice(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(join(project, 'node_modules/.bin/sluice'), args, { cwd: project, timeout: 120_000 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

const flowSource = (lang: 'ts' | 'js'): string => `import { Flow, Routine, defineFlow } from 'sluice';

class Celsius extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }
  logic(${lang === 'ts' ? '{ in: items }: { in: Array<{ f: number }> }' : '{ in: items }'}) {
    for (const item of items) this.emit('out', { c: ((item.f - 32) * 5) / 9 });
  }
}

class Sink extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }
  logic() {}
}

export default defineFlow(import.meta.url, () =>
  new Flow('convert-${lang}')
    .addRoutine(new Celsius(), 'convert', { placement: 'pool' })
    .addRoutine(new Sink(), 'sink')
    .pipe('convert', 'sink'),
  { description: 'Fahrenheit to Celsius on the pool', input: { routine: 'convert', slot: 'in', generate: (i${
    lang === 'ts' ? ': ' + 'number' : ''
  }) => ({ f: i % 200 }) } },
);
`;

beforeAll(async () => {
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir, '--loglevel=error'], {
    cwd: root,
    timeout: 300_000,
    maxBuffer: 64 * 2 ** 20,
  });
  const packed = (JSON.parse(stdout) as Array<{ filename: string }>)[0];
  if (packed === undefined) throw new Error(`npm pack printed no file: ${stdout}`);
  const { filename } = packed;
  await exec('mkdir', ['-p', project]);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2),
  );
  await exec('npm', ['install', join(dir, filename as string), ...npmFlags], { cwd: project, timeout: 600_000, maxBuffer: 64 * 2 ** 20 });
  writeFileSync(join(project, 'flow.ts'), flowSource('ts'));
  writeFileSync(join(project, 'flow.js'), flowSource('js'));
}, 900_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice installed from its tarball', () => {
  it('installs small: no TensorFlow.js, node_modules under 60 MB', () => {
    expect(existsSync(join(project, 'node_modules/@tensorflow'))).toBe(false);
    const mb = sizeOf(join(project, 'node_modules')) / 2 ** 20;
    console.log(`consumer node_modules: ${mb.toFixed(1)} MB`);
    expect(mb).toBeLessThanOrEqual(60);
    // The package holds the build and the command, not the sources or the tests.
    const files = readdirSync(join(project, 'node_modules/sluice'));
    expect(files.sort()).toEqual(expect.arrayContaining(['bin', 'dist', 'package.json']));
    expect(files).not.toContain('src');
    expect(files).not.toContain('test');
  });

  it('sluice --version and --help work', async () => {
    const version = await sluice('--version');
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    const help = await sluice('--help');
    expect(help.code).toBe(0);
    for (const command of ['run', 'bench', 'inspect', 'runs', 'replay', 'tail'])
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    const runHelp = await sluice('run', '--help');
    expect(runHelp.stdout).toMatch(/^Usage: sluice run \[options\] <flow-module>/);
  }, 60_000);

  it.each(['ts', 'js'])(
    'sluice run a .%s flow module with a pool routine: every job completes, the run is recorded',
    async (lang) => {
      const result = await sluice('run', `flow.${lang}`, '--items', '2000', '--threads', '1');
      expect(result.stderr).toContain(`recording to ${join(project, '.sluice/runs.sqlite')} (--no-record to turn off)`);
      expect(result.stdout).toMatch(new RegExp(`^flow convert-${lang}: 2,000 items in [\\d.]+ s = [\\d,]+ items/s$`, 'm'));
      expect(result.stdout).toMatch(/^jobs: 2,000 completed, 0 failed, 0 cancelled$/m);
      expect(result.code).toBe(0);
    },
    120_000,
  );

  it('sluice serve from the installed package serves the API and the dashboard with its assets', async () => {
    const token = 'packed-token-0123456789abcdef';
    const child = spawn(join(project, 'node_modules/.bin/sluice'), ['serve', 'flow.js', '--port', '0', '--no-record'], {
      cwd: project,
      env: { ...process.env, SLUICE_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 30_000;
      while (!/sluice serve: (http:\/\/\S+) /.test(stdout)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sluice serve did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const url = /sluice serve: (http:\/\/\S+) /.exec(stdout)?.[1] as string;
      const headers = { authorization: `Bearer ${token}` };
      for (const path of ['/', '/assets/app.js', '/assets/style.css', '/assets/uPlot.iife.min.js', '/api/v1/flows/convert-js']) {
        const res = await fetch(`${url}${path}`, { headers });
        expect(res.status, path).toBe(200);
        expect((await res.text()).length, path).toBeGreaterThan(100);
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);

  it('sluice inspect and sluice runs', async () => {
    const inspect = await sluice('inspect', 'flow.ts');
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/^flow convert-ts — Fahrenheit to Celsius on the pool$/m);
    expect(inspect.stdout).toMatch(/convert \(Celsius\) placement=pool/);
    const runs = await sluice('runs', '--json');
    expect(runs.code).toBe(0);
    expect(runs.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('sluice/inference without TensorFlow.js installed: a coded error that names the npm command', async () => {
    writeFileSync(
      join(project, 'inference-check.mjs'),
      `import { loadTensorFlow } from 'sluice/inference';
try {
  await loadTensorFlow();
  console.log(JSON.stringify({ loaded: true }));
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message }));
}
`,
    );
    const { stdout } = await exec(process.execPath, ['inference-check.mjs'], { cwd: project, timeout: 60_000 });
    const result = JSON.parse(stdout) as { code: string; message: string };
    expect(result.code).toBe('SLUICE_ERR_BACKEND_UNAVAILABLE');
    expect(result.message).toContain('wasm: not installed');
    expect(result.message).toContain('npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm');
  }, 60_000);

  it('sluice/redis without ioredis installed: a coded error that names the npm command', async () => {
    writeFileSync(
      join(project, 'redis-check.mjs'),
      `try {
  await import('sluice/redis');
  console.log(JSON.stringify({ loaded: true }));
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message }));
}
`,
    );
    const { stdout } = await exec(process.execPath, ['redis-check.mjs'], { cwd: project, timeout: 60_000 });
    const result = JSON.parse(stdout) as { code: string; message: string };
    expect(result).toEqual({ code: 'SLUICE_ERR_BACKEND_UNAVAILABLE', message: expect.stringContaining('npm install ioredis@6') });
  }, 60_000);

  it('every documented entry loads from the installed package; internals are not exported', async () => {
    const entries = [
      'sluice',
      'sluice/bus',
      'sluice/store',
      'sluice/governor',
      'sluice/resilience',
      'sluice/telemetry',
      'sluice/pool',
      'sluice/serve',
    ];
    writeFileSync(
      join(project, 'entries-check.mjs'),
      `const out = {};
const entries = ${JSON.stringify([...entries, 'sluice/harness', 'sluice/testing'])};
for (const entry of entries) out[entry] = Object.keys(await import(entry)).length;
const root = await import('sluice');
out.internals = ['RingQueue', 'Ema', 'renderChart', 'BatchEncoder', 'DropOldestQueue'].filter((name) => name in root);
console.log(JSON.stringify(out));
`,
    );
    const { stdout } = await exec(process.execPath, ['entries-check.mjs'], { cwd: project, timeout: 60_000 });
    const result = JSON.parse(stdout) as Record<string, number> & { internals: string[] };
    for (const entry of [...entries, 'sluice/harness', 'sluice/testing']) expect(result[entry], entry).toBeGreaterThan(0);
    expect(result.internals).toEqual([]);
  }, 60_000);

  it('a strict consumer typechecks against the published types (skipLibCheck: false)', async () => {
    await exec('npm', ['install', '--save-dev', 'typescript@~5.9.3', '@types/node@^20.19.0', ...npmFlags], {
      cwd: project,
      timeout: 300_000,
    });
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: ['node'],
        },
        include: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { Flow, Routine, Runtime, defineFlow, isSluiceError, type SlotItems } from 'sluice';
import { EventBus } from 'sluice/bus';
import { SqliteEventLog, type RunInfo } from 'sluice/store';
import { Governor } from 'sluice/governor';
import { SluiceBreaker } from 'sluice/resilience';
import { LatencyTracker } from 'sluice/telemetry';
import { ThreadPool } from 'sluice/pool';
import { validateBenchResult } from 'sluice/harness';
import { ManualClock, MemoryEventLog } from 'sluice/testing';
import { createServer, type SluiceServer } from 'sluice/serve';

class Double extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }
  logic({ in: items }: SlotItems<{ in: number }>): void {
    for (const n of items) this.emit('out', n * 2);
  }
}

export default defineFlow(import.meta.url, () => new Flow('double').addRoutine(new Double(), 'double'));
const runtime = new Runtime({ pool: { threads: 1 }, clock: new ManualClock() });
const stats: number = runtime.stats().activeJobs;
const runs: Promise<RunInfo[]> = new MemoryEventLog().runs();
const server: Promise<SluiceServer> = createServer(runtime, { port: 0 });
export const checks = [stats, runs, isSluiceError(new Error('x')), server];
export const classes = [EventBus, SqliteEventLog, Governor, SluiceBreaker, LatencyTracker, ThreadPool, validateBenchResult];
`,
    );
    const tsc = await exec(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: project,
      timeout: 120_000,
    }).catch((e: { stdout: string }) => e);
    expect((tsc as { stdout: string }).stdout).toBe('');
  }, 300_000);
});

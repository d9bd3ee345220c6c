import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const out = new URL('.sluice/dist-test/', root);

describe('flows load in pool threads from the built dist/', () => {
  it('runs flows/cpu.js on the pool with plain node (no TypeScript loader anywhere)', async () => {
    // tsc emits even when some unrelated file of the project has a type error; the run below
    // is what this test checks (the typecheck has its own command).
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', '.sluice/dist-test'], {
      cwd: root,
      timeout: 180_000,
    }).catch(() => undefined);
    expect(existsSync(new URL('src/pool/worker-entry.js', out))).toBe(true);
    const script = new URL('run-cpu.mjs', out);
    writeFileSync(
      script,
      `import { Runtime } from './src/index.js';
import cpu from './flows/cpu.js';
const runtime = new Runtime({ pool: { threads: 2, dispatchBatch: 4 } });
runtime.register(cpu, { rounds: 4 });
const worker = runtime.exec('cpu');
for (let i = 0; i < 40; i++) runtime.post('cpu', 'source', 'in', { id: i, seed: i + 1 }, { workerId: worker.workerId });
const drained = await runtime.waitUntilAllJobsFinished({ timeout: 30000 });
const pool = runtime.stats().pool;
await runtime.close();
const count = worker.getRoutineState('sink').count;
console.log(JSON.stringify({ drained, processed: worker.counters.jobsProcessed, count, sent: pool.activationsSent }));
`,
    );
    const { stdout } = await run(process.execPath, [script.pathname], { cwd: root, timeout: 60_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ drained: true, processed: 40, count: 40, sent: 40 });
  }, 240_000);
});

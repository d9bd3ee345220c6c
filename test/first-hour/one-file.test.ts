/**
 * A newcomer's first one-file program: a flow with a pool routine and a Runtime started at the
 * module's top level. Pool threads import the module to rebuild the pool routine, which used to
 * start the program again in every thread (nested runtimes, jobs that never finished, no error).
 * Now the unguarded program ends at once with its job failed and one warning that names the
 * cause and the fix; the guarded program (`if (isMainThread)`) runs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ErrorCode, Runtime } from '../../src/index.ts';
import nested from './fixtures/nested-pool.ts';
import { isPoolThread } from '../../src/pool/index.ts';

const run = promisify(execFile);
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('a one-file program with a pool routine', () => {
  it('unguarded: its job fails with SLUICE_ERR_RUNTIME_IN_POOL_THREAD and one warning names the module and the fix', async () => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', fixture('one-file-unguarded.ts')], { timeout: 60_000 });
    expect(stdout.trim()).toBe(`job failed ${ErrorCode.RuntimeInPoolThread}`);
    const warnings = stderr.split('\n').filter((l) => l.includes(`[${ErrorCode.RuntimeInPoolThread}]`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('one-file-unguarded.ts constructs a Runtime at its top level, inside a pool thread');
    expect(warnings[0]).toContain('if (isMainThread)');
  }, 90_000);

  it('guarded with isMainThread: the program runs and its job completes', async () => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', fixture('one-file-guarded.ts')], { timeout: 60_000 });
    expect(stdout.trim().split('\n')).toEqual(['result 49', 'job completed']);
    expect(stderr).not.toContain(ErrorCode.RuntimeInPoolThread);
  }, 90_000);

  it('a Runtime made by logic in a pool thread may not start a pool of its own', async () => {
    await using runtime = new Runtime({ pool: { threads: 1 } });
    runtime.register(nested);
    const [, job] = runtime.post('nest', 'nest', 'in', 1);
    await job.done();
    expect(job.status).toBe('failed');
    expect(job.error?.message).toContain('cannot start a pool of its own');
  }, 60_000);

  it('outside a pool thread nothing is refused', async () => {
    expect(isPoolThread()).toBe(false);
    await using runtime = new Runtime({ pool: { threads: 1 } });
    expect(runtime.pool.threads).toBe(1);
  });
});

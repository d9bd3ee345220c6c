/**
 * Fault: a log on read-only storage. `sluice runs` and `replay` must list and replay it without
 * trying to create, migrate or write anything. The storage is made read-only for the reading
 * process: a folder and file without write permission; when the suite runs as root, the reader
 * runs without the capabilities that let root ignore permission bits (setpriv drops them).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.ts';
import { SqliteEventLog } from '../../src/store/index.ts';

const root = new URL('../../', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'sluice-read-only-'));
afterAll(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI as a process that cannot write to `dir`. */
function cliReadOnly(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'setpriv' : process.execPath;
  const argv = asRoot
    ? ['--bounding-set', '-dac_override,-dac_read_search,-fowner', process.execPath, 'bin/sluice.js', ...args]
    : ['bin/sluice.js', ...args];
  return spawnSync(command, argv, { cwd: root, encoding: 'utf8', timeout: 30_000 });
}

describe('logs on read-only storage', () => {
  it('sluice runs and sluice replay open the log read-only and work; nothing is created or written', async () => {
    const db = join(dir, 'runs.sqlite');
    const run = spawnSync(process.execPath, ['bin/sluice.js', 'run', 'flows/pipeline.ts', '--items', '500', '--db', db, '--json'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const { runId } = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as { runId: string };
    chmodSync(db, 0o444);
    chmodSync(dir, 0o555);
    // The read-only reader really cannot write here: a recording run fails to open the log.
    const write = cliReadOnly(['run', 'flows/pipeline.ts', '--items', '10', '--db', db]);
    expect(write.status).not.toBe(0);
    const runs = cliReadOnly(['runs', '--db', db]);
    expect(runs.status, runs.stderr).toBe(0);
    expect(runs.stdout).toContain(runId);
    const replay = cliReadOnly(['replay', runId, '--db', db, '--topic', 'run.']);
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('run.started');
    expect(replay.stdout).toContain('run.stopped');
    // In code: a read-only log reads, and refuses writes with a coded error naming the file.
    const log = await SqliteEventLog.open({ path: db, readonly: true });
    try {
      expect((await log.runs()).map((r) => r.runId)).toContain(runId);
      await expect(log.append([{ runId, seq: 1_000_000, time: new Date().toISOString(), topic: 'x', payload: {} }])).rejects.toMatchObject({
        code: ErrorCode.StoreFailed,
        message: expect.stringContaining('opened read-only'),
      });
    } finally {
      await log.close();
    }
    await expect(SqliteEventLog.open({ path: join(dir, 'missing.sqlite'), readonly: true })).rejects.toMatchObject({
      code: ErrorCode.StoreFailed,
    });
  }, 90_000);
});

/**
 * Fault: a full disk under `sluice run`. The file-size limit (`ulimit -f`, 128 KB: a recorded job takes a few bytes) makes every
 * write past it fail as a full disk does; the run's own results must stand, the recording must
 * fail loudly — one line naming the file and the SQLite error, the count of events not persisted,
 * exit code 4 — and never claim the run was recorded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'sluice-full-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a full disk is loud', () => {
  it('sluice run on a 128 KB file-size limit: the flow completes, one stderr line names the file and the SQLite error, events not ' +
    'persisted are counted, exit 4, no "recorded as"', () => {
    const db = join(dir, 'runs.sqlite');
    const out = spawnSync(
      'bash',
      ['-c', `ulimit -f 128; exec "${process.execPath}" bin/sluice.js run flows/pipeline.ts --items 100000 --db "${db}" --json`],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(out.status, out.stderr).toBe(4);
    const lines = out.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('sluice: recording'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(db);
    expect(lines[0]).toMatch(/\(SQLITE_(FULL|IOERR)[A-Z_]*\)/);
    expect(lines[0]).toMatch(/[\d,]+ events not persisted/);
    const summary = JSON.parse(out.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
    expect(summary).toMatchObject({ completed: 100_000, failed: 0, cancelled: 0 });
    expect(summary.recordedTo).toBeUndefined();
    expect(summary.notPersisted).toBeGreaterThan(0);
    expect((summary.recordingError as { code: string }).code).toBe('SLUICE_ERR_STORE_FAILED');
    // Text mode never claims the run was recorded either.
    const text = spawnSync(
      'bash',
      [
        '-c',
        `ulimit -f 128; exec "${process.execPath}" bin/sluice.js run flows/pipeline.ts --items 50000 --db "${join(dir, 'text.sqlite')}" -q`,
      ],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(text.status, text.stderr).toBe(4);
    expect(text.stdout).not.toContain('recorded as');
    expect(text.stdout).toContain('50,000 completed');
  }, 120_000);
});

/**
 * Defaults that fit a first run: a recording runtime creates the folder of its log.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Routine, Runtime, isSluiceError } from '../../src/index.ts';
import { SqliteEventLog } from '../../src/entry/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-defaults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class Noop extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }
  logic() {}
}

describe('record: { log } in a folder that does not exist', () => {
  it('creates the folder and records the run there', async () => {
    const path = join(dir, 'some/dir/runs.sqlite');
    const runtime = new Runtime({ record: { log: path } });
    runtime.register(new Flow('noop').addRoutine(new Noop(), 'noop'));
    await runtime.start();
    const [, job] = runtime.post('noop', 'noop', 'in', 1);
    await job.done();
    const report = await runtime.close();
    expect(report.flushed).toBe(true);
    expect(existsSync(path)).toBe(true);
    const log = await SqliteEventLog.open({ path, readonly: true });
    try {
      expect((await log.runs()).map((r) => r.runId)).toEqual([runtime.runId]);
    } finally {
      await log.close();
    }
  });

  it('a folder that cannot be made (a file is in the way) is SLUICE_ERR_STORE_FAILED naming the path', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const path = join(dir, 'a-file/runs.sqlite');
    const error = await SqliteEventLog.open({ path }).catch((e: unknown) => e);
    expect(isSluiceError(error) && error.code).toBe(ErrorCode.StoreFailed);
    expect((error as Error).message).toContain(path);
  });
});

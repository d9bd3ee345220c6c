import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/bus/index.ts';
import { ErrorCode, type SluiceError } from '../../src/core/errors.ts';
import { DurableSink, SqliteEventLog, kSchemaVersion } from '../../src/store/index.ts';
import { createTempDir } from './temp-dir.ts';

function ev(seq: number): BusEvent {
  return { seq, time: new Date().toISOString(), runId: 'r', topic: 't', payload: { seq } };
}

describe('SQLite failures surface as coded errors and health, never a crash or a silent loss', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('a database refusing writes makes the sink degraded then unhealthy; it recovers and loses nothing', async () => {
    const path = temp.file('refusing.sqlite');
    const log = await SqliteEventLog.open({ path });
    const sink = new DurableSink({ log, batchSize: 4, retryInitialMs: 5, retryMaxMs: 20, unhealthyAfterFailures: 3 });
    const errors: SluiceError[] = [];
    sink.onError((e) => void errors.push(e));
    // Another connection makes every insert fail, as a read-only or full disk would.
    const admin = new Database(path);
    admin.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database (injected)'); END;",
    );
    for (let i = 1; i <= 10; i++) sink.onEvent(ev(i));
    await expect.poll(() => sink.health().status, { timeout: 5000 }).toBe('unhealthy');
    const health = sink.health();
    expect(health.lastError?.code).toBe(ErrorCode.StoreFailed);
    expect(health.lastError?.message).toMatch(/readonly database \(injected\)/);
    expect(health.lastError?.message).toContain(path);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(sink.stats().committed).toBe(0);
    expect(sink.stats().pending).toBe(10);

    admin.exec('DROP TRIGGER refuse');
    admin.close();
    expect(await sink.flush({ timeout: 5000 })).toBe(true);
    expect(sink.health().status).toBe('healthy');
    expect((await log.since('r', 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await sink.close();
    await log.close();
  });

  it('a file from a newer schema is refused with a coded error and left untouched', async () => {
    const path = temp.file('future.sqlite');
    const db = new Database(path);
    db.pragma(`user_version = ${kSchemaVersion + 1}`);
    db.close();
    await expect(SqliteEventLog.open({ path })).rejects.toMatchObject({
      code: ErrorCode.StoreSchemaUnsupported,
      details: { found: kSchemaVersion + 1, supported: kSchemaVersion },
    });
    const again = new Database(path);
    expect(again.pragma('user_version', { simple: true })).toBe(kSchemaVersion + 1);
    expect(again.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(again.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'events'").pluck().get()).toBe(0);
    again.close();
  });

  it('a path that cannot be opened (a folder) rejects with SLUICE_ERR_STORE_FAILED; a missing folder is created', async () => {
    const folder = temp.file('a-folder');
    mkdirSync(folder);
    await expect(SqliteEventLog.open({ path: folder })).rejects.toMatchObject({ code: ErrorCode.StoreFailed });
    const log = await SqliteEventLog.open({ path: temp.file('no/such/dir/x.sqlite') });
    await log.close();
  });

  it(
    'migrates a new file to the current version and sets WAL while open; a clean close leaves a rollback journal (readable from ' +
      'read-only storage)',
    async () => {
      const path = temp.file('fresh.sqlite');
      const log = await SqliteEventLog.open({ path });
      const open = new Database(path);
      expect(open.pragma('user_version', { simple: true })).toBe(kSchemaVersion);
      expect(open.pragma('journal_mode', { simple: true })).toBe('wal');
      open.close();
      await log.close();
      const db = new Database(path);
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      db.close();
    },
  );

  it('a payload JSON cannot represent is stored as a marker; the event is not lost', async () => {
    const log = await SqliteEventLog.open({ path: temp.file('odd.sqlite'), writer: 'inline' });
    await log.append([{ ...ev(1), payload: { big: 10n } }]);
    const [stored] = await log.since('r', 0);
    expect(stored?.payload).toEqual({ $unserializable: expect.stringMatching(/BigInt/) });
    await log.close();
  });

  it('options are validated with coded messages', async () => {
    await expect(SqliteEventLog.open({ path: ':memory:' })).rejects.toThrow(/`:memory:` needs `writer: 'inline'`/);
    await expect(SqliteEventLog.open({ path: 'x', writer: 'fast' as never })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(SqliteEventLog.open({ path: 'x', busyTimeoutMs: -1 })).rejects.toThrow(
      'Expected `busyTimeoutMs` to be an integer >= 0, got `-1` (number)',
    );
  });
});

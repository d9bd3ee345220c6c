/**
 * The run registry on logs written by an older sluice (schema 1): read as they are when opened
 * read-only (the registry computed from the events), and migrated with a backfill when opened
 * for writing; both agree with what the writer folds for new events.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteEventLog, kSchemaVersion } from '../../src/store/index.ts';
import { createTempDir } from './temp-dir.ts';

const kSchema1 =
  `CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, topic TEXT NOT NULL, payload ` +
  `TEXT, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
  CREATE TABLE runs (run_id TEXT NOT NULL PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, count INTEGER NOT NULL,
    first_time TEXT NOT NULL, last_time TEXT NOT NULL) WITHOUT ROWID;
  CREATE INDEX runs_by_last_time ON runs (last_time);`;

const kEvents: Array<[number, string, string, unknown]> = [
  [1, '2025-03-01T00:00:00.000Z', 'run.started', {}],
  [2, '2025-03-01T00:00:00.010Z', 'worker.started', { workerId: 'w1', flowId: 'pipeline' }],
  [3, '2025-03-01T00:00:00.020Z', 'run.heartbeat', { intervalMs: 5_000 }],
  [4, '2025-03-01T00:00:00.030Z', 'job.completed', {}],
  [5, '2025-03-01T00:00:00.040Z', 'job.failed', { error: { code: 'SLUICE_ERR_ITEM_DROPPED', message: 'evicted' } }],
  [6, '2025-03-01T00:00:00.050Z', 'slot.overflow', {}],
  [7, '2025-03-01T00:00:00.060Z', 'bus.overflow', { dropped: 3 }],
  [8, '2025-03-01T00:00:01.000Z', 'run.stopped', {}],
];

const kExpected = {
  runId: 'old',
  flow: 'pipeline',
  status: 'failed',
  jobs: { completed: 1, failed: 1, cancelled: 0, dropped: 1 },
  overflows: 4,
  endTime: '2025-03-01T00:00:01.000Z',
  durationMs: 1_000,
  heartbeatMs: 5_000,
  count: 8,
};

describe('the run registry on a log of schema 1', () => {
  let temp: ReturnType<typeof createTempDir>;
  let path: string;

  beforeEach(() => {
    temp = createTempDir();
    path = temp.file('v1.sqlite');
    const db = new Database(path);
    db.exec(kSchema1);
    const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?)');
    for (const [seq, time, topic, payload] of kEvents) insert.run('old', seq, time, topic, JSON.stringify(payload));
    db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)').run('old', 1, 8, 8, kEvents[0]![1], kEvents[7]![1]);
    db.pragma('user_version = 1');
    db.close();
  });
  afterEach(() => temp.remove());

  it('read-only: read as it is, the registry computed from its events', async () => {
    const log = await SqliteEventLog.open({ path, readonly: true });
    try {
      expect(await log.runs()).toMatchObject([kExpected]);
    } finally {
      await log.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
  });

  it('for writing: migrated to the current schema with the same registry, and new events fold in', async () => {
    const log = await SqliteEventLog.open({ path, writer: 'inline' });
    try {
      expect(await log.runs()).toMatchObject([kExpected]);
      await log.append([{ runId: 'old', seq: 9, time: '2025-03-01T00:00:01.100Z', topic: 'job.cancelled', payload: {} }]);
      expect((await log.runs())[0]).toMatchObject({ jobs: { completed: 1, failed: 1, cancelled: 1, dropped: 1 }, count: 9 });
    } finally {
      await log.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(kSchemaVersion);
    db.close();
  });
});

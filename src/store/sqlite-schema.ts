/**
 * The versioned SQLite schema of the event log. The version lives in `PRAGMA user_version`;
 * each migration moves it up by one inside a transaction. A file written by a newer sluice
 * (a higher version than {@link kSchemaVersion}) is refused with a coded error, never altered.
 *
 * Version 1:
 * ```sql
 * events(run_id TEXT, seq INTEGER, time TEXT, topic TEXT, payload TEXT,
 *        PRIMARY KEY (run_id, seq)) WITHOUT ROWID   -- the (run_id, seq) index is the table
 * runs(run_id TEXT PRIMARY KEY, first_seq, last_seq, count, first_time, last_time) WITHOUT ROWID
 * runs_by_last_time ON runs(last_time)              -- retention
 * ```
 *
 * Version 2 (the run registry; backfilled from the events by the migration):
 * ```sql
 * runs + flow TEXT, jobs_completed, jobs_failed, jobs_cancelled, jobs_dropped, overflows INTEGER,
 *        stopped_time TEXT, heartbeat_ms INTEGER, recording_failed INTEGER, bytes INTEGER,
 *        lost INTEGER  -- events the recording took that the log lacks, at the last checkpoint
 * ```
 *
 * Version 3 (completed jobs packed: one row stands for a run of `job.completed` events, stored
 * under the last one's seq with its jobs as columns in `payload`; see job-outcome-pack.ts):
 * ```sql
 * events + packed INTEGER  -- 1 for a packed row, 0 for one event
 * ```
 */
import type Database from 'better-sqlite3';
import { ErrorCode, SluiceError } from '../core/errors.ts';

/** The schema version this code reads and writes. */
export const kSchemaVersion = 3;

/**
 * The registry's columns computed from a run's events (`runs.run_id`), as run-tally.ts folds
 * them: the backfill of migration 2, and what a read-only log of schema 1 reports.
 */
const kTallyColumns: ReadonlyArray<readonly [string, string]> = [
  [
    'flow',
    `(SELECT json_extract(payload, '$.flowId') FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'worker.started' ORDER BY seq ` +
      `LIMIT 1)`,
  ],
  ['jobs_completed', `(SELECT count(*) FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'job.completed')`],
  ['jobs_failed', `(SELECT count(*) FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'job.failed')`],
  ['jobs_cancelled', `(SELECT count(*) FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'job.cancelled')`],
  [
    'jobs_dropped',
    `(SELECT count(*) FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'job.failed' AND instr(e.payload, ` +
      `'"SLUICE_ERR_ITEM_DROPPED"') > 0)`,
  ],
  [
    'overflows',
    `((SELECT count(*) FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'slot.overflow')
      + (SELECT coalesce(sum(max(coalesce(json_extract(payload, '$.dropped'), 1), 1)), 0) FROM events e
         WHERE e.run_id = runs.run_id AND e.topic = 'bus.overflow'))`,
  ],
  ['stopped_time', `(SELECT max(time) FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'run.stopped')`],
  [
    'heartbeat_ms',
    `(SELECT coalesce(json_extract(payload, '$.heartbeatMs'), json_extract(payload, '$.intervalMs')) FROM events e
      WHERE e.run_id = runs.run_id AND e.topic IN ('run.started', 'run.heartbeat')
        AND coalesce(json_extract(payload, '$.heartbeatMs'), json_extract(payload, '$.intervalMs')) > 0 ORDER BY seq LIMIT 1)`,
  ],
  ['recording_failed', `EXISTS (SELECT 1 FROM events e WHERE e.run_id = runs.run_id AND e.topic = 'run.recording_failed')`],
  [
    'bytes',
    `(SELECT coalesce(sum(length(run_id) + length(time) + length(topic) + coalesce(length(payload), 0) + 16), 0) FROM events e WHERE ` +
      `e.run_id = runs.run_id)`,
  ],
  // Schema 1 runtimes did not count what they recorded.
  ['lost', '0'],
];

/** `SELECT` list of a read-only log of schema 1: the registry's columns computed from the events. */
export const kTallySelectV1 = kTallyColumns.map(([name, expr]) => `${expr} AS ${name}`).join(',\n  ');

const kMigrations: readonly string[] = [
  `CREATE TABLE events (
     run_id  TEXT    NOT NULL,
     seq     INTEGER NOT NULL,
     time    TEXT    NOT NULL,
     topic   TEXT    NOT NULL,
     payload TEXT,
     PRIMARY KEY (run_id, seq)
   ) WITHOUT ROWID;
   CREATE TABLE runs (
     run_id     TEXT    NOT NULL PRIMARY KEY,
     first_seq  INTEGER NOT NULL,
     last_seq   INTEGER NOT NULL,
     count      INTEGER NOT NULL,
     first_time TEXT    NOT NULL,
     last_time  TEXT    NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX runs_by_last_time ON runs (last_time);`,
  // 2: the run registry (flow, job outcomes, overflows, stop, heartbeat), backfilled from the events.
  `ALTER TABLE runs ADD COLUMN flow TEXT;
   ALTER TABLE runs ADD COLUMN jobs_completed INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN jobs_failed INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN jobs_cancelled INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN jobs_dropped INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN overflows INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN stopped_time TEXT;
   ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER;
   ALTER TABLE runs ADD COLUMN recording_failed INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
   UPDATE runs SET ${kTallyColumns.map(([name, expr]) => `${name} = ${expr}`).join(',\n')};`,
  // 3: packed rows of completed jobs (one row stands for many job.completed events, stored under the last one's seq).
  'ALTER TABLE events ADD COLUMN packed INTEGER NOT NULL DEFAULT 0;',
];

/**
 * Sets the connection pragmas every sluice connection uses: WAL (readers never wait for the
 * writer), `synchronous=NORMAL` (a commit survives a process crash; an OS crash may lose the
 * last commits, never corrupt the file), and a busy timeout.
 *
 * @example
 * ```ts
 * configureConnection(new Database('events.sqlite'), 5000);
 * ```
 */
export function configureConnection(db: Database.Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  if (db.name !== ':memory:' && !db.readonly) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
}

/**
 * Brings the database to {@link kSchemaVersion}; returns the version found before.
 *
 * @example
 * ```ts
 * migrate(db); // 0 on a new file, 1 afterwards
 * ```
 */
export function migrate(db: Database.Database): number {
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > kSchemaVersion) {
    throw new SluiceError(
      ErrorCode.StoreSchemaUnsupported,
      `The event log \`${db.name}\` has schema version ${found}; this sluice reads versions up to ${kSchemaVersion}`,
      { details: { path: db.name, found, supported: kSchemaVersion } },
    );
  }
  for (let version = found; version < kSchemaVersion; version++) {
    db.transaction(() => {
      db.exec(kMigrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return found;
}

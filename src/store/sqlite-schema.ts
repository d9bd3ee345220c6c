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
 */
import type Database from 'better-sqlite3';
import { ErrorCode, SluiceError } from '../core/errors.ts';

/** The schema version this code reads and writes. */
export const kSchemaVersion = 1;

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

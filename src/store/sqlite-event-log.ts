/**
 * The SQLite {@link EventLog} (better-sqlite3, WAL, `synchronous=NORMAL`). Reads run on the
 * caller's thread over their own connection (WAL readers never wait for the writer); writes and
 * prunes go to a {@link SqliteWriter}, by default a worker thread owning the write connection.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { BusEvent } from '../bus/index.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import {
  CommitWatch,
  replayInPages,
  runInfo,
  waitForSeq,
  type WaitForOptions,
  type AppendResult,
  type EventLog,
  type PruneOptions,
  type PruneResult,
  type ReplayOptions,
  type RunInfo,
  type SinceOptions,
} from './event-log.ts';
import { kTakesPacks } from './job-outcome-pack.ts';
import { type EventRow, decodeRows } from './sqlite-codec.ts';
import { configureConnection, kSchemaVersion, kTallySelectV1, migrate } from './sqlite-schema.ts';
import { InlineSqliteWriter, ReadOnlySqliteWriter, type SqliteWriter, ThreadSqliteWriter } from './sqlite-writer.ts';
import { checkInteger, checkPruneOptions, checkRunId, failOption, storeClosedError } from './store-checks.ts';

/** Options of {@link SqliteEventLog.open}. */
export interface SqliteEventLogOptions {
  /** The database file; created (with its folder and its schema) when missing. `':memory:'` needs `writer: 'inline'`. */
  path: string;
  /**
   * Where writes run: `'thread'` (a worker thread; a stalled disk cannot block the event loop)
   * or `'inline'` (synchronously on this thread).
   * @default 'thread'
   */
  writer?: 'thread' | 'inline';
  /**
   * How long a connection waits for a lock held by another connection before failing, in ms.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Opens an existing file for reading only: nothing is created, migrated or written (writes
   * reject with `SLUICE_ERR_STORE_FAILED`), so a log on read-only storage can be listed and
   * replayed. `sluice runs`, `replay` and `tail` open logs this way.
   * @default false
   */
  readonly?: boolean;
}

/** How often `waitFor()` looks for rows written by another connection, in ms. */
const kPollMs = 25;

interface RunRow {
  run_id: string;
  first_seq: number;
  last_seq: number;
  count: number;
  first_time: string;
  last_time: string;
  flow: string | null;
  jobs_completed: number;
  jobs_failed: number;
  jobs_cancelled: number;
  jobs_dropped: number;
  overflows: number;
  stopped_time: string | null;
  heartbeat_ms: number | null;
  recording_failed: number;
  bytes: number;
  lost: number;
}

const kRunColumns = 'run_id, first_seq, last_seq, count, first_time, last_time';
const kRegistryColumns =
  'flow, jobs_completed, jobs_failed, jobs_cancelled, jobs_dropped, overflows, stopped_time, heartbeat_ms, recording_failed, bytes, lost';

/**
 * Opens (creating and migrating as needed) an event log in a SQLite file.
 *
 * @example
 * ```ts
 * const log = await SqliteEventLog.open({ path: '.sluice/events.sqlite' });
 * await log.append(events);
 * for await (const event of log.replay('run-1')) console.log(event.seq);
 * await log.close();
 * ```
 */
export class SqliteEventLog implements EventLog {
  /** Stores packs of completed jobs as packed rows (the durable sink hands them over as they are). */
  readonly [kTakesPacks] = true;
  readonly #path: string;
  readonly #db: Database.Database;
  readonly #writer: SqliteWriter;
  readonly #since: Database.Statement;
  readonly #sinceLimit: Database.Statement;
  readonly #lastSeq: Database.Statement;
  readonly #runs: Database.Statement;
  #closed = false;
  readonly #commits = new CommitWatch();

  private constructor(path: string, db: Database.Database, writer: SqliteWriter, schema = kSchemaVersion) {
    this.#path = path;
    this.#db = db;
    this.#writer = writer;
    // Schema 3 stores packed rows of completed jobs; a read-only log of an older schema has none.
    const columns = `run_id, seq, time, topic, payload, ${schema >= 3 ? 'packed' : '0 AS packed'}`;
    this.#since = db.prepare(`SELECT ${columns} FROM events WHERE run_id = ? AND seq > ? ORDER BY seq`);
    this.#sinceLimit = db.prepare(`SELECT ${columns} FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`);
    this.#lastSeq = db.prepare('SELECT max(seq) FROM events WHERE run_id = ?').pluck();
    // A read-only log of schema 1 has no registry columns: they are computed from its events.
    const registry = schema >= 2 ? kRegistryColumns : kTallySelectV1;
    this.#runs = db.prepare(`SELECT ${kRunColumns}, ${registry} FROM runs ORDER BY last_time DESC, run_id ASC`);
  }

  /** Opens the log; rejects with a coded error when the file cannot be opened or migrated. */
  static async open(options: SqliteEventLogOptions): Promise<SqliteEventLog> {
    if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
    const { path } = options;
    if (typeof path !== 'string' || path.length === 0) failOption('path', 'a non-empty file path', path);
    const mode = options.writer ?? 'thread';
    if (mode !== 'thread' && mode !== 'inline') failOption('writer', '"thread" or "inline"', mode);
    if (mode === 'thread' && path === ':memory:') failOption('path', "a file path (`:memory:` needs `writer: 'inline'`)", path);
    const busyTimeoutMs = checkInteger('busyTimeoutMs', options.busyTimeoutMs ?? 5000, 0);
    const readonly = options.readonly ?? false;
    if (typeof readonly !== 'boolean') failOption('readonly', 'a boolean', readonly);
    if (readonly) return SqliteEventLog.#openReadOnly(path, busyTimeoutMs);
    let db: Database.Database | undefined;
    try {
      // A log in a folder that does not exist yet (`.sluice/runs.sqlite` in a fresh project) gets it.
      if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(resolve(path)), { recursive: true });
      db = new Database(path);
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // Migrate (or refuse a newer schema) before switching the file to WAL, so a refused file
      // is left exactly as found.
      migrate(db);
      configureConnection(db, busyTimeoutMs);
    } catch (err) {
      db?.close();
      if (err instanceof SluiceError) throw err;
      throw new SluiceError(ErrorCode.StoreFailed, `Opening the event log \`${path}\` failed: ${(err as Error).message}`, {
        cause: err,
        details: { path, sqliteCode: (err as { code?: string }).code },
      });
    }
    if (mode === 'inline') return new SqliteEventLog(path, db, new InlineSqliteWriter(db));
    const writer = new ThreadSqliteWriter({ path, busyTimeoutMs });
    try {
      await writer.start();
    } catch (err) {
      db.close();
      await writer.destroy();
      throw err;
    }
    return new SqliteEventLog(path, db, writer);
  }

  static #openReadOnly(path: string, busyTimeoutMs: number): SqliteEventLog {
    let db: Database.Database | undefined;
    let schema = kSchemaVersion;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      const found = db.pragma('user_version', { simple: true }) as number;
      if (found > kSchemaVersion) {
        throw new SluiceError(
          ErrorCode.StoreSchemaUnsupported,
          `The event log \`${path}\` has schema version ${found}; this sluice reads versions up to ${kSchemaVersion}`,
          {
            details: { path, found, supported: kSchemaVersion },
          },
        );
      }
      if (found < 1) {
        throw new SluiceError(
          ErrorCode.StoreFailed,
          `The event log \`${path}\` has no sluice schema (version ${found}) and was opened read-only, so it cannot be created; open ` +
            `it once with write access`,
          {
            details: { path, found, supported: kSchemaVersion },
          },
        );
      }
      // A read is what fails on read-only storage (a WAL file without its -shm): fail here, coded.
      db.prepare('SELECT count(*) FROM runs').pluck().get();
      // Schema 1 is read as it is (the registry computed from the events), never migrated.
      schema = found;
    } catch (err) {
      db?.close();
      if (err instanceof SluiceError) throw err;
      throw new SluiceError(ErrorCode.StoreFailed, `Opening the event log \`${path}\` read-only failed: ${(err as Error).message}`, {
        cause: err,
        details: { path, sqliteCode: (err as { code?: string }).code },
      });
    }
    return new SqliteEventLog(path, db, new ReadOnlySqliteWriter(path), schema);
  }

  /** The database file. */
  get path(): string {
    return this.#path;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  async append(events: readonly BusEvent[]): Promise<AppendResult> {
    this.#assertOpen();
    if (events.length === 0) return { inserted: 0, ignored: 0 };
    const result = await this.#writer.write(events);
    this.#commits.notify();
    return result;
  }

  waitFor(runId: string, seq: number, options: WaitForOptions = {}): Promise<boolean> {
    this.#assertOpen();
    checkRunId(runId);
    // Writes through this object wake the wait at once; another process's are seen by polling.
    return waitForSeq(this, this.#commits, runId, seq, options, kPollMs);
  }

  async since(runId: string, afterSeq: number, options: SinceOptions = {}): Promise<BusEvent[]> {
    this.#assertOpen();
    checkRunId(runId);
    checkInteger('afterSeq', afterSeq, 0);
    // A packed row yields at least one event after `afterSeq`, so `limit` rows hold `limit` events.
    const limit = options.limit === undefined ? undefined : checkInteger('limit', options.limit, 1);
    const rows = (limit === undefined ? this.#since.all(runId, afterSeq) : this.#sinceLimit.all(runId, afterSeq, limit)) as EventRow[];
    return decodeRows(rows, afterSeq, limit);
  }

  async lastSeq(runId: string): Promise<number> {
    this.#assertOpen();
    return (this.#lastSeq.get(checkRunId(runId)) as number | null) ?? 0;
  }

  async runs(): Promise<RunInfo[]> {
    this.#assertOpen();
    const now = Date.now();
    return (this.#runs.all() as RunRow[]).map((r) =>
      runInfo(
        {
          runId: r.run_id,
          firstSeq: r.first_seq,
          lastSeq: r.last_seq,
          count: r.count,
          firstTime: r.first_time,
          lastTime: r.last_time,
          bytes: r.bytes,
        },
        {
          flow: r.flow ?? undefined,
          jobsCompleted: r.jobs_completed,
          jobsFailed: r.jobs_failed,
          jobsCancelled: r.jobs_cancelled,
          jobsDropped: r.jobs_dropped,
          overflows: r.overflows,
          stoppedTime: r.stopped_time ?? undefined,
          heartbeatMs: r.heartbeat_ms ?? undefined,
          recordingFailed: r.recording_failed !== 0,
          check: undefined,
          lost: r.lost,
        },
        now,
      ),
    );
  }

  replay(runId: string, options: ReplayOptions = {}): AsyncIterableIterator<BusEvent> {
    return replayInPages(this, runId, options);
  }

  async prune(options: PruneOptions): Promise<PruneResult> {
    this.#assertOpen();
    return this.#writer.prune(checkPruneOptions(options));
  }

  /**
   * Gives the space of pruned runs back to the file system: rewrites the database (`VACUUM`) and
   * truncates its WAL. Blocks this thread while it runs (seconds for a large log): for
   * maintenance such as `sluice runs prune`, not for a busy runtime. Open the log with
   * `writer: 'inline'` for it: with the writer thread's connection open beside this one, SQLite
   * may wait up to `busyTimeoutMs` for it.
   *
   * @example
   * ```ts
   * await log.prune({ keepRuns: 10 });
   * await log.compact();
   * ```
   */
  async compact(): Promise<void> {
    this.#assertOpen();
    if (this.#db.readonly)
      throw new SluiceError(ErrorCode.StoreFailed, `Compacting the event log \`${this.#path}\` failed: the log was opened read-only`, {
        details: { path: this.#path, sqliteCode: 'SQLITE_READONLY' },
      });
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
      this.#db.exec('VACUUM');
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      throw new SluiceError(ErrorCode.StoreFailed, `Compacting the event log \`${this.#path}\` failed: ${(err as Error).message}`, {
        cause: err,
        details: { path: this.#path, sqliteCode: (err as { code?: string }).code },
      });
    }
  }

  /** Finishes queued writes, then closes both connections; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#writer.close();
      this.#leaveWal();
    } finally {
      this.#db.close();
    }
  }

  /**
   * Closes at once, abandoning writes not yet committed: what a crash does. Committed batches
   * stay; for tests and emergency exits.
   */
  async destroy(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.destroy();
    this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * On a clean close, when no other connection holds the file, it goes back to a rollback
   * journal: a WAL-mode file cannot be read from read-only storage without its `-shm` file, so
   * a log closed this way can be archived, mounted read-only and still be listed and replayed.
   * The next writer switches it to WAL again.
   */
  #leaveWal(): void {
    if (this.#db.readonly || this.#db.memory) return;
    try {
      this.#db.pragma('busy_timeout = 0');
      this.#db.pragma('journal_mode = DELETE');
    } catch {
      // Another connection still has the file open: it stays in WAL mode, which is fine.
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError(`event log \`${this.#path}\``);
  }
}

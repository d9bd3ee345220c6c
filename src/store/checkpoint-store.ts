/**
 * Checkpoints in SQLite: one row per checkpoint (worker, flow, time, format version, counts) with
 * its contents as a V8-serialised blob (structured-clone data: typed arrays, Maps and Dates
 * survive). Each call opens the file, does its work in one transaction and closes it again, so
 * it never holds a connection beside the event log's writer (checkpoints are rare; a commit is
 * durable when the call returns, which is what a resume after kill -9 needs).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import Database from 'better-sqlite3';
import type { CheckpointInfo } from '../core/checkpoint-info.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';

export type { CheckpointInfo };

/** The format of what a checkpoint holds; a resume refuses any other. */
export const kCheckpointFormat = 'sluice.checkpoint/1';
const kVersion = 1;

/** What a checkpoint holds (the blob). */
export interface CheckpointContents {
  readonly format: typeof kCheckpointFormat;
  readonly workerId: string;
  readonly flowId: string;
  /** The flow as it was: per routine its class and its slots and events, in order. */
  readonly signature: ReadonlyArray<{
    readonly id: string;
    readonly kind: string;
    readonly slots: readonly string[];
    readonly events: readonly string[];
  }>;
  readonly states: Readonly<Record<string, Record<string, unknown>>>;
  readonly slots: ReadonlyArray<{
    readonly routineId: string;
    readonly slot: string;
    readonly items: ReadonlyArray<{ readonly data: unknown; readonly jobIds: readonly string[] }>;
  }>;
  readonly jobs: ReadonlyArray<{
    readonly jobId: string;
    readonly metadata: Record<string, unknown>;
    readonly data: Record<string, unknown>;
    readonly createdAt: number;
  }>;
}

function open(path: string, readonly: boolean): Database.Database {
  try {
    if (!readonly) mkdirSync(dirname(resolve(path)), { recursive: true });
    const db = readonly ? new Database(path, { readonly: true, fileMustExist: true }) : new Database(path);
    db.pragma('busy_timeout = 5000');
    if (!readonly) {
      db.exec(`CREATE TABLE IF NOT EXISTS checkpoints (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        worker_id TEXT NOT NULL,
        flow_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL,
        items INTEGER NOT NULL,
        jobs INTEGER NOT NULL,
        contents BLOB NOT NULL
      )`);
    }
    return db;
  } catch (cause) {
    throw new SluiceError(ErrorCode.StoreFailed, `Opening the checkpoint store \`${path}\` failed: ${(cause as Error).message}`, {
      cause,
      details: { path, sqliteCode: (cause as { code?: string }).code },
    });
  }
}

interface Row {
  id: number;
  worker_id: string;
  flow_id: string;
  created_at: string;
  version: number;
  items: number;
  jobs: number;
}

const infoOf = (row: Row): CheckpointInfo => ({
  checkpointId: row.id,
  workerId: row.worker_id,
  flowId: row.flow_id,
  createdAt: row.created_at,
  version: row.version,
  items: row.items,
  jobs: row.jobs,
});

/** The checkpoints of one SQLite file. */
export class CheckpointStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Saves `contents`; durable when this returns. */
  save(contents: CheckpointContents): CheckpointInfo {
    let blob: Buffer;
    try {
      blob = serialize(contents);
    } catch (cause) {
      throw new SluiceError(
        ErrorCode.NotClonable,
        `A checkpoint of worker "${contents.workerId}" holds a value that cannot be saved: ${(cause as Error).message}`,
        { cause },
      );
    }
    const items = contents.slots.reduce((n, s) => n + s.items.length, 0);
    const db = open(this.path, false);
    try {
      const createdAt = new Date().toISOString();
      const result = db
        .prepare('INSERT INTO checkpoints (worker_id, flow_id, created_at, version, items, jobs, contents) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(contents.workerId, contents.flowId, createdAt, kVersion, items, contents.jobs.length, blob);
      return {
        checkpointId: Number(result.lastInsertRowid),
        workerId: contents.workerId,
        flowId: contents.flowId,
        createdAt,
        version: kVersion,
        items,
        jobs: contents.jobs.length,
      };
    } catch (cause) {
      throw new SluiceError(ErrorCode.StoreFailed, `Saving a checkpoint to \`${this.path}\` failed: ${(cause as Error).message}`, {
        cause,
      });
    } finally {
      db.close();
    }
  }

  /** Checkpoints, newest first, of `flowId` when given. */
  list(flowId?: string): CheckpointInfo[] {
    const db = open(this.path, false);
    try {
      const sql = 'SELECT id, worker_id, flow_id, created_at, version, items, jobs FROM checkpoints';
      const rows = (
        flowId === undefined
          ? db.prepare(`${sql} ORDER BY id DESC`).all()
          : db.prepare(`${sql} WHERE flow_id = ? ORDER BY id DESC`).all(flowId)
      ) as Row[];
      return rows.map(infoOf);
    } finally {
      db.close();
    }
  }

  /**
   * The newest checkpoint of `flowId` taken by worker `which` (or by any worker, for `'latest'`):
   * its info and contents. `SLUICE_ERR_CHECKPOINT_NOT_FOUND` when there is none;
   * `SLUICE_ERR_CHECKPOINT_INCOMPATIBLE` for a format this version cannot read.
   */
  load(flowId: string, which: string): { info: CheckpointInfo; contents: CheckpointContents } {
    const db = open(this.path, false);
    try {
      const sql = 'SELECT id, worker_id, flow_id, created_at, version, items, jobs, contents FROM checkpoints WHERE flow_id = ?';
      const row = (
        which === 'latest'
          ? db.prepare(`${sql} ORDER BY id DESC LIMIT 1`).get(flowId)
          : db.prepare(`${sql} AND worker_id = ? ORDER BY id DESC LIMIT 1`).get(flowId, which)
      ) as (Row & { contents: Buffer }) | undefined;
      if (row === undefined) {
        throw new SluiceError(
          ErrorCode.CheckpointNotFound,
          `No checkpoint of flow "${flowId}"${which === 'latest' ? '' : ` by worker "${which}"`} in ${this.path}`,
          { details: { flowId, worker: which, path: this.path } },
        );
      }
      const contents = row.version === kVersion ? (deserialize(row.contents) as CheckpointContents) : undefined;
      if (contents?.format !== kCheckpointFormat) {
        throw new SluiceError(
          ErrorCode.CheckpointIncompatible,
          `Checkpoint ${row.id} of flow "${flowId}" has format version ${row.version}; this sluice reads ${kCheckpointFormat}`,
          { details: { checkpointId: row.id, version: row.version } },
        );
      }
      return { info: infoOf(row), contents };
    } finally {
      db.close();
    }
  }
}

/**
 * The durable log the CLI reads and writes: `--db <path>`, by default `.sluice/runs.sqlite` in
 * the working directory.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SqliteEventLog } from '../store/index.ts';
import { UsageError } from './cli-error.ts';

/** The default database of `sluice run`, `runs`, `replay` and `tail`. */
export const kDefaultDb = '.sluice/runs.sqlite';

/** The absolute path of `--db`, with its folder created when `create` is set. */
export function dbPath(value: string | undefined, create: boolean): string {
  const path = resolve(value ?? kDefaultDb);
  if (create) mkdirSync(dirname(path), { recursive: true });
  return path;
}

/** The absolute path of an existing log; a missing file is a usage error naming it. */
export function existingLogPath(value: string | undefined): string {
  const path = dbPath(value, false);
  if (!existsSync(path))
    throw new UsageError(`No event log at ${path}; run a flow first (sluice run …) or pass --db <path>`, { helpHint: false });
  return path;
}

/** Opens an existing log for reading; a missing file is a usage error naming it. */
export async function openExistingLog(value: string | undefined): Promise<SqliteEventLog> {
  return SqliteEventLog.open({ path: existingLogPath(value), readonly: true });
}

/** ` --db <path>` when `value` names a log other than the default, so a printed hint can be followed as is. */
export function dbHint(value: string | undefined): string {
  if (value === undefined || resolve(value) === resolve(kDefaultDb)) return '';
  return /^[\w@%+=:,./-]+$/.test(value) ? ` --db ${value}` : ` --db '${value.replace(/'/g, "'\\''")}'`;
}

/**
 * The run a command names: `latest` is the run recorded last; any other id must be in the log
 * (a usage error names the log searched and how to list its runs).
 */
export async function resolveRunId(log: SqliteEventLog, runId: string, db: string | undefined): Promise<string> {
  if (runId === 'latest') {
    const runs = await log.runs();
    const latest = runs.sort((a, b) => b.lastTime.localeCompare(a.lastTime))[0];
    if (latest === undefined)
      throw new UsageError(`No runs in the event log ${dbPath(db, false)}; run a flow first (sluice run …)`, { helpHint: false });
    return latest.runId;
  }
  if ((await log.lastSeq(runId)) === 0)
    throw new UsageError(`No run "${runId}" in the event log ${dbPath(db, false)} (see sluice runs${dbHint(db)})`, { helpHint: false });
  return runId;
}

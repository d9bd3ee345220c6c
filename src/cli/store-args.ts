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

/** Opens an existing log for reading; a missing file is a usage error naming it. */
export async function openExistingLog(value: string | undefined): Promise<SqliteEventLog> {
  const path = dbPath(value, false);
  if (!existsSync(path)) throw new UsageError(`No event log at ${path}; run a flow first (sluice run …) or pass --db <path>`);
  return SqliteEventLog.open({ path, readonly: true });
}

/**
 * `sluice runs`: the run registry of the durable log — each run's flow, status, job outcomes,
 * overflows, start and duration, newest first (`--flow`, `--status` filter) — one run in detail
 * (`sluice runs <runId|latest>`), and `sluice runs prune` to bound the log.
 */
import { statSync } from 'node:fs';
import type { PruneResult, RunInfo, RunStatus } from '../../store/index.ts';
import { ExitCode, UsageError } from '../cli-error.ts';
import { formatCount, openOutput, type CliIO } from '../output.ts';
import { jsonTerminalSafe, terminalSafe } from '../safe-text.ts';
import { dbHint, dbPath, existingLogPath, openExistingLog, resolveRunId } from '../store-args.ts';

/** The options of `sluice runs [runId]`. */
export interface RunsOptions {
  db?: string;
  json?: true | string;
  flow?: string;
  status?: RunStatus;
}

/** The options of `sluice runs prune`. */
export interface PruneCliOptions {
  db?: string;
  keep?: number;
  olderThan?: Date;
  maxMb?: number;
}

/** Bytes the log's files take on disk: the database and its WAL. */
export function logSize(path: string): number {
  let bytes = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      bytes += statSync(file).size;
    } catch {
      // No WAL file: nothing to add.
    }
  }
  return bytes;
}

/** Bytes as a person reads them: 512 B, 3.4 kB, 12.0 MB, 1.2 GB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1_000;
  let unit = 0;
  while (value >= 1_000 && unit < units.length - 1) {
    value /= 1_000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A duration as a person reads it: 850 ms, 12.3 s, 4 m 05 s, 2 h 10 m. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const s = Math.round(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3_600)} h ${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')} m`;
}

function jobsText(r: RunInfo): string {
  const { completed, failed, cancelled, dropped } = r.jobs;
  const drops = dropped > 0 ? ` (${formatCount(dropped)} dropped)` : '';
  return `${formatCount(completed)}/${formatCount(failed)}/${formatCount(cancelled)}${drops}`;
}

/** Runs `sluice runs [runId]` and returns the exit code. */
export async function runsCommand(run: string | undefined, values: RunsOptions, io: CliIO): Promise<number> {
  const log = await openExistingLog(values.db);
  const path = dbPath(values.db, false);
  try {
    let runs = await log.runs();
    if (run !== undefined) {
      const runId = await resolveRunId(log, run, values.db);
      runs = runs.filter((r) => r.runId === runId);
    }
    if (values.flow !== undefined) runs = runs.filter((r) => r.flow === values.flow);
    if (values.status !== undefined) runs = runs.filter((r) => r.status === values.status);
    if (values.json !== undefined) {
      const out = openOutput(values.json, io);
      for (const r of runs) out.write(`${jsonTerminalSafe(JSON.stringify(r))}\n`);
      await out.close();
      return ExitCode.Ok;
    }
    if (run !== undefined && runs[0] !== undefined) {
      writeDetail(io, runs[0], values.db);
      return ExitCode.Ok;
    }
    const all = await log.runs();
    const filtered = runs.length === all.length ? '' : `, ${formatCount(runs.length)} shown`;
    io.stdout.write(`${terminalSafe(path)}: ${formatBytes(logSize(path))}, ${formatCount(all.length)} runs${filtered}\n`);
    if (runs.length === 0) {
      io.stdout.write(all.length === 0 ? 'no runs recorded\n' : 'no run matches\n');
      return ExitCode.Ok;
    }
    const rows = runs.map((r) => [
      r.runId,
      r.flow ?? '-',
      r.status,
      jobsText(r),
      formatCount(r.overflows),
      r.firstTime,
      formatDuration(r.durationMs),
      formatCount(r.count),
    ]);
    const head = ['run', 'flow', 'status', 'jobs ok/failed/cancelled', 'overflows', 'started', 'duration', 'events'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
    const line = (cells: readonly string[]): string =>
      cells
        .map((c, i) => (i >= 3 && i !== 5 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd();
    io.stdout.write(`${line(head)}\n`);
    for (const row of rows) io.stdout.write(`${terminalSafe(line(row))}\n`);
  } finally {
    await log.close();
  }
  return ExitCode.Ok;
}

function writeDetail(io: CliIO, r: RunInfo, db: string | undefined): void {
  const lines = [
    `run ${r.runId}`,
    `flow: ${r.flow ?? '-'}`,
    `status: ${r.status}${r.recordingFailed ? ' (its recording failed: events were lost)' : ''}`,
    `jobs: ${formatCount(r.jobs.completed)} completed, ${formatCount(r.jobs.failed)} failed (${formatCount(r.jobs.dropped)} dropped), ` +
      `${formatCount(r.jobs.cancelled)} cancelled`,
    `overflows: ${formatCount(r.overflows)}`,
    `started: ${r.firstTime}`,
    `ended: ${r.endTime ?? (r.status === 'running' ? '(running)' : `(no run.stopped; last event ${r.lastTime})`)}`,
    `duration: ${formatDuration(r.durationMs)}`,
    `events: ${formatCount(r.count)} (seq ${r.firstSeq}–${r.lastSeq}), ${formatBytes(r.bytes)}`,
    `heartbeat: ${r.heartbeatMs === undefined ? 'none' : `every ${formatDuration(r.heartbeatMs)}`}`,
  ];
  if (r.jobs.failed > 0) lines.push(`failures: sluice replay ${r.runId} --topic job.failed${dbHint(db)}`);
  io.stdout.write(`${lines.map(terminalSafe).join('\n')}\n`);
}

/** Runs `sluice runs prune` and returns the exit code. */
export async function pruneCommand(runIds: readonly string[], values: PruneCliOptions, io: CliIO): Promise<number> {
  if (runIds.length === 0 && values.keep === undefined && values.olderThan === undefined && values.maxMb === undefined) {
    throw new UsageError('Say what to prune: --keep <n>, --older-than <age|date>, --max-mb <n>, or run ids');
  }
  // Opened for writing, but a missing log is the user's mistake, not a new file to create.
  const path = existingLogPath(values.db);
  const { SqliteEventLog } = await import('../../store/index.ts');
  const before = logSize(path);
  // One connection (inline writer): VACUUM needs the file to itself.
  const log = await SqliteEventLog.open({ path, writer: 'inline' });
  let result: PruneResult;
  try {
    const ids: string[] = [];
    for (const id of runIds) ids.push(await resolveRunId(log, id, values.db));
    result = await log.prune({
      ...(ids.length === 0 ? {} : { runIds: ids }),
      ...(values.keep === undefined ? {} : { keepRuns: values.keep }),
      ...(values.olderThan === undefined ? {} : { olderThan: values.olderThan }),
      ...(values.maxMb === undefined ? {} : { maxBytes: Math.floor(values.maxMb * 1_000_000) }),
    });
    if (result.runs > 0) await log.compact();
  } finally {
    await log.close();
  }
  io.stdout.write(
    `pruned ${formatCount(result.runs)} runs (${formatCount(result.events)} events) from ${terminalSafe(path)}: ${formatBytes(before)} ` +
      `→ ${formatBytes(logSize(path))}\n`,
  );
  return ExitCode.Ok;
}

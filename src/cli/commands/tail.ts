/**
 * `sluice tail <runId>`: follows a run from the durable log while another process records it.
 * New events are read when the database's WAL file changes (a file watch), with a slow timer as
 * a fallback for file systems that do not report changes. It stops when the run stops, on
 * SIGINT/SIGTERM, or after `--idle` ms without events; it says when the run looks stalled
 * (no event, not even a heartbeat, for longer than the heartbeats promise).
 */
import { watch, type FSWatcher } from 'node:fs';
import { parseArgs } from 'node:util';
import { LivenessMonitor } from '../../bus/index.ts';
import { ExitCode, UsageError } from '../cli-error.ts';
import { writeEvent } from '../event-format.ts';
import type { CliIO } from '../output.ts';
import { dbPath, openExistingLog } from '../store-args.ts';
import { parseSince } from './replay.ts';

export const tailHelp = `Usage: sluice tail <runId> [options]

Follows a run from the durable log: prints its events as they are recorded, until the run
stops (run.stopped), you press Ctrl-C, or --idle ms pass without a new event.

Options:
  --since <seq>   start after this seq (default 0: print the run from its start)
  --idle <ms>     give up after this long without events (default: wait for the run to stop)
  --db <path>     the event log (default .sluice/runs.sqlite)
  --json          one JSON event per line
  -h, --help      this help
`;

export async function tailCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { since: { type: 'string' }, idle: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    io.stdout.write(tailHelp);
    return ExitCode.Ok;
  }
  const runId = positionals[0];
  if (runId === undefined) throw new UsageError('sluice tail needs a run id (see sluice runs)');
  const idle = values.idle === undefined ? Number.POSITIVE_INFINITY : Number(values.idle);
  if (!(idle > 0)) throw new UsageError(`Expected --idle to be a number of ms > 0, got "${values.idle}"`);
  let cursor = parseSince(values.since);
  const log = await openExistingLog(values.db);
  const liveness = new LivenessMonitor();
  let stopped = false;
  let lastEventAt = performance.now();
  let warnedStall = false;
  let reading = false;
  let again = false;
  let wake: (() => void) | undefined;
  const readNew = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        for (;;) {
          const events = await log.since(runId, cursor, { limit: 1000 });
          for (const event of events) {
            cursor = event.seq;
            liveness.observe(event);
            writeEvent((t) => io.stdout.write(t), event, values.json === true);
            if (event.topic === 'run.stopped') stopped = true;
          }
          if (events.length > 0) {
            lastEventAt = performance.now();
            warnedStall = false;
          }
          if (events.length < 1000) break;
        }
      } while (again && !stopped);
    } finally {
      reading = false;
    }
    wake?.();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(`${dbPath(values.db, false)}-wal`, () => void readNew());
  } catch {
    // No WAL file yet (or no watch support): the fallback timer below still reads.
  }
  const onSignal = (): void => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await readNew();
    while (!stopped) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        // Fallback read and stall check; the watch wakes us sooner when the file changes.
        setTimeout(resolve, 1_000).unref();
      });
      wake = undefined;
      if (stopped) break;
      await readNew();
      if (liveness.status(runId) === 'stalled' && !warnedStall) {
        warnedStall = true;
        io.stderr.write(`sluice tail: run "${runId}" looks stalled: no event or heartbeat for longer than its heartbeats promise\n`);
      }
      if (performance.now() - lastEventAt > idle) {
        io.stderr.write(`sluice tail: no new event for ${idle} ms; stopping\n`);
        break;
      }
    }
  } finally {
    watcher?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await log.close();
  }
  return ExitCode.Ok;
}

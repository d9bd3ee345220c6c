/**
 * `sluice tail <runId|latest>`: follows a run from the durable log while another process records
 * it: one line per event, or one line a second at high volume (see tail-view.ts).
 * New events are read when the database's WAL file changes (a file watch), with a slow timer as
 * a fallback for file systems that do not report changes. It stops when the run stops, on
 * SIGINT/SIGTERM, or after `--idle` ms without events; it says when the run looks stalled
 * (no event, not even a heartbeat, for longer than the heartbeats promise).
 */
import { watch, type FSWatcher } from 'node:fs';
import { LivenessMonitor } from '../../bus/index.ts';
import { ExitCode } from '../cli-error.ts';
import { writeEvent } from '../event-format.ts';
import { TailView } from '../tail-view.ts';
import { openOutput, type CliIO } from '../output.ts';
import { dbPath, openExistingLog, resolveRunId } from '../store-args.ts';

/** The options of `sluice tail`, as the command line parsed them. */
export interface TailOptions {
  since: number;
  idle?: number;
  topic?: string;
  /** One line per event, also at high volume. */
  events?: boolean;
  db?: string;
  json?: true | string;
}

/** Runs `sluice tail <runId>` and returns the exit code. */
export async function tailCommand(run: string, values: TailOptions, io: CliIO): Promise<number> {
  const idle = values.idle ?? Number.POSITIVE_INFINITY;
  let cursor = values.since;
  const log = await openExistingLog(values.db);
  // `latest` is the run recorded last; another id may name a run that has not started yet.
  const runId = run === 'latest' ? await resolveRunId(log, run, values.db) : run;
  const out = openOutput(values.json ?? true, io);
  // JSON is for programs: every event. Text is for people: a summary line a second at high volume.
  const view =
    values.json === undefined
      ? new TailView((t) => out.write(t), { mode: values.events === true ? 'events' : 'auto', truncate: io.stdout.isTTY === true })
      : undefined;
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
            if (event.topic === 'run.stopped') stopped = true;
            if (values.topic !== undefined && !event.topic.startsWith(values.topic)) continue;
            if (view !== undefined) view.push(event);
            else writeEvent((t) => out.write(t), event, true);
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
      view?.tick();
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
    view?.end();
    await out.close();
    await log.close();
  }
  return ExitCode.Ok;
}

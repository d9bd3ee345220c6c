/**
 * The write side of the SQLite log, synchronous: one transaction per batch, prepared once.
 * It runs inside the writer thread (the default) or inline on the caller's thread.
 */
import type Database from 'better-sqlite3';
import type { EventColumns } from './sqlite-codec.ts';
import { selectPruned, type PruneSpec } from './retention.ts';
import { isTallied, newTally, storedSize, tallyEvent } from './run-tally.ts';

/** What a batch write did. */
export interface WriteOutcome {
  inserted: number;
  ignored: number;
}

/** What a prune did. */
export interface PruneOutcome {
  runs: number;
  events: number;
}

/** @internal Owns the prepared write statements of one connection. */
export class SqliteWriterCore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #upsertRun: Database.Statement;
  readonly #checkLost: Database.Statement;
  readonly #writeTx: (columns: EventColumns) => WriteOutcome;
  readonly #pruneTx: (spec: PruneSpec) => PruneOutcome;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare('INSERT OR IGNORE INTO events (run_id, seq, time, topic, payload, packed) VALUES (?, ?, ?, ?, ?, ?)');
    this.#upsertRun = db.prepare(
      `INSERT INTO runs (run_id, first_seq, last_seq, count, first_time, last_time,
                         flow, jobs_completed, jobs_failed, jobs_cancelled, jobs_dropped, overflows, stopped_time, heartbeat_ms,
                         recording_failed, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET
         first_seq = min(first_seq, excluded.first_seq), last_seq = max(last_seq, excluded.last_seq),
         count = count + excluded.count,
         first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time),
         flow = coalesce(flow, excluded.flow),
         jobs_completed = jobs_completed + excluded.jobs_completed, jobs_failed = jobs_failed + excluded.jobs_failed,
         jobs_cancelled = jobs_cancelled + excluded.jobs_cancelled, jobs_dropped = jobs_dropped + excluded.jobs_dropped,
         overflows = overflows + excluded.overflows,
         stopped_time = coalesce(max(stopped_time, excluded.stopped_time), stopped_time, excluded.stopped_time),
         heartbeat_ms = coalesce(heartbeat_ms, excluded.heartbeat_ms),
         recording_failed = max(recording_failed, excluded.recording_failed),
         bytes = bytes + excluded.bytes`,
    );
    this.#checkLost = db.prepare('UPDATE runs SET lost = max(lost, ? - (count - ?)) WHERE run_id = ?');
    const selectRuns = db.prepare('SELECT run_id AS runId, last_time AS lastTime, bytes FROM runs ORDER BY last_time DESC, run_id ASC');
    const deleteEvents = db.prepare('DELETE FROM events WHERE run_id = ?');
    const deleteRun = db.prepare('DELETE FROM runs WHERE run_id = ?');

    this.#writeTx = db.transaction((c: EventColumns): WriteOutcome => {
      const insert = this.#insert;
      const { packedCounts, firstSeqs } = c;
      // Counted in events: a packed row of completed jobs counts its jobs.
      let inserted = 0;
      let ignored = 0;
      // Per-run aggregate of the rows actually inserted, flushed when the run changes.
      let run: string | undefined;
      let first = 0,
        last = 0,
        count = 0,
        firstTime = '',
        lastTime = '';
      let tally = newTally();
      let bytes = 0;
      const flushRun = (): void => {
        if (run === undefined || count === 0) return;
        const t = tally;
        this.#upsertRun.run(
          run,
          first,
          last,
          count,
          firstTime,
          lastTime,
          t.flow ?? null,
          t.jobsCompleted,
          t.jobsFailed,
          t.jobsCancelled,
          t.jobsDropped,
          t.overflows,
          t.stoppedTime ?? null,
          t.heartbeatMs ?? null,
          t.recordingFailed ? 1 : 0,
          bytes,
        );
        // Events up to the checkpoint = the run's count now, less this batch's events after it.
        if (t.check !== undefined) this.#checkLost.run(t.check.recorded, count - t.check.position, run);
      };
      for (let i = 0; i < c.seqs.length; i++) {
        const runId = c.runIds[i]!;
        const seq = c.seqs[i]!;
        const time = c.times[i]!;
        const topic = c.topics[i]!;
        const jobs = packedCounts?.[i] ?? 0;
        const packed = jobs > 0 ? 1 : 0;
        const n = packed === 1 ? jobs : 1;
        if (insert.run(runId, seq, time, topic, c.payloads[i], packed).changes === 0) {
          ignored += n;
          continue;
        }
        inserted += n;
        if (runId !== run) {
          flushRun();
          run = runId;
          first = last = seq;
          count = 0;
          firstTime = lastTime = time;
          tally = newTally();
          bytes = 0;
        }
        const payload = c.payloads[i];
        bytes += storedSize(runId, time, topic, payload);
        if (packed === 1) {
          count += n;
          tally.jobsCompleted += n;
          const from = firstSeqs?.[i] ?? seq;
          if (from < first) first = from;
        } else {
          count++;
          if (isTallied(topic)) tallyEvent(tally, topic, payload, time, count);
        }
        if (seq < first) first = seq;
        if (seq > last) last = seq;
        if (time < firstTime) firstTime = time;
        if (time > lastTime) lastTime = time;
      }
      flushRun();
      return { inserted, ignored };
    });

    this.#pruneTx = db.transaction((spec: PruneSpec): PruneOutcome => {
      const doomed = selectPruned(selectRuns.all() as Array<{ runId: string; lastTime: string; bytes: number }>, spec);
      let events = 0;
      for (const id of doomed) {
        events += deleteEvents.run(id).changes;
        deleteRun.run(id);
      }
      return { runs: doomed.size, events };
    });
  }

  /** Writes one batch in one transaction. */
  write(columns: EventColumns): WriteOutcome {
    return this.#writeTx(columns);
  }

  /** Removes whole runs. */
  prune(spec: PruneSpec): PruneOutcome {
    return this.#pruneTx(spec);
  }

  /** Closes the connection. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

/**
 * The write side of the SQLite log, synchronous: one transaction per batch, prepared once.
 * It runs inside the writer thread (the default) or inline on the caller's thread.
 */
import type Database from 'better-sqlite3';
import type { EventColumns } from './sqlite-codec.ts';

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
  readonly #writeTx: (columns: EventColumns) => WriteOutcome;
  readonly #pruneTx: (olderThan: string | undefined, keepRuns: number | undefined) => PruneOutcome;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare('INSERT OR IGNORE INTO events (run_id, seq, time, topic, payload) VALUES (?, ?, ?, ?, ?)');
    this.#upsertRun = db.prepare(
      `INSERT INTO runs (run_id, first_seq, last_seq, count, first_time, last_time) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET
         first_seq = min(first_seq, excluded.first_seq), last_seq = max(last_seq, excluded.last_seq),
         count = count + excluded.count,
         first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time)`,
    );
    const selectRuns = db.prepare('SELECT run_id FROM runs ORDER BY last_time DESC, run_id ASC');
    const deleteEvents = db.prepare('DELETE FROM events WHERE run_id = ?');
    const deleteRun = db.prepare('DELETE FROM runs WHERE run_id = ?');
    const selectOld = db.prepare('SELECT run_id FROM runs WHERE last_time < ?').pluck();

    this.#writeTx = db.transaction((c: EventColumns): WriteOutcome => {
      const insert = this.#insert;
      let inserted = 0;
      // Per-run aggregate of the rows actually inserted, flushed when the run changes.
      let run: string | undefined;
      let first = 0, last = 0, count = 0, firstTime = '', lastTime = '';
      const flushRun = (): void => {
        if (run !== undefined && count > 0) this.#upsertRun.run(run, first, last, count, firstTime, lastTime);
      };
      for (let i = 0; i < c.seqs.length; i++) {
        const runId = c.runIds[i]!;
        const seq = c.seqs[i]!;
        const time = c.times[i]!;
        if (insert.run(runId, seq, time, c.topics[i], c.payloads[i]).changes === 0) continue;
        inserted++;
        if (runId !== run) {
          flushRun();
          run = runId;
          first = last = seq;
          count = 0;
          firstTime = lastTime = time;
        }
        count++;
        if (seq < first) first = seq;
        if (seq > last) last = seq;
        if (time < firstTime) firstTime = time;
        if (time > lastTime) lastTime = time;
      }
      flushRun();
      return { inserted, ignored: c.seqs.length - inserted };
    });

    this.#pruneTx = db.transaction((olderThan: string | undefined, keepRuns: number | undefined): PruneOutcome => {
      const doomed = new Set<string>();
      if (olderThan !== undefined) for (const id of selectOld.all(olderThan) as string[]) doomed.add(id);
      if (keepRuns !== undefined) {
        const all = (selectRuns.all() as { run_id: string }[]).map((r) => r.run_id);
        for (const id of all.slice(keepRuns)) doomed.add(id);
      }
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
  prune(olderThan: string | undefined, keepRuns: number | undefined): PruneOutcome {
    return this.#pruneTx(olderThan, keepRuns);
  }

  /** Closes the connection. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

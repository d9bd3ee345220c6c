/**
 * An {@link EventLog} in memory: for tests, short scripts, and as the reference the SQLite log
 * is checked against (both run the same conformance suite).
 */
import type { BusEvent } from '../bus/index.ts';
import { type EventRow, decodeRow, encodeEvents } from './sqlite-codec.ts';
import { selectPruned } from './retention.ts';
import { newTally, storedSize, tallyEvent, type RunTally } from './run-tally.ts';
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
import { checkInteger, checkPruneOptions, checkRunId, storeClosedError } from './store-checks.ts';

interface MemoryRun {
  /** Rows by seq, kept sorted; payloads as JSON text, as SQLite keeps them. */
  readonly events: EventRow[];
  readonly seqs: Set<number>;
  /** The registry's facts, folded as events are stored. */
  readonly tally: RunTally;
  /** What its events take (see `RunInfo.bytes`). */
  bytes: number;
}

/**
 * Keeps events in memory with the SQLite log's semantics: payloads are stored as JSON text (so
 * later mutation does not change history, and what JSON cannot represent becomes the same
 * `$unserializable` marker) and decoded on the way out.
 *
 * @example
 * ```ts
 * const log = new MemoryEventLog();
 * await log.append([{ seq: 1, time: new Date().toISOString(), runId: 'r', topic: 't', payload: 1 }]);
 * await log.since('r', 0); // [that event]
 * ```
 */
export class MemoryEventLog implements EventLog {
  readonly #commits = new CommitWatch();
  readonly #runs = new Map<string, MemoryRun>();
  #closed = false;

  get isClosed(): boolean {
    return this.#closed;
  }

  async append(events: readonly BusEvent[]): Promise<AppendResult> {
    this.#assertOpen();
    const { columns } = encodeEvents(events);
    let inserted = 0;
    let ignored = 0;
    const seen = new Set<string>();
    for (let i = 0; i < columns.seqs.length; i++) {
      const event: EventRow = {
        run_id: columns.runIds[i]!,
        seq: columns.seqs[i]!,
        time: columns.times[i]!,
        topic: columns.topics[i]!,
        payload: columns.payloads[i]!,
      };
      let run = this.#runs.get(event.run_id);
      const key = `${event.run_id}\u0000${event.seq}`;
      if (run?.seqs.has(event.seq) || seen.has(key)) {
        ignored++;
        continue;
      }
      seen.add(key);
      if (run === undefined) {
        run = { events: [], seqs: new Set(), tally: newTally(), bytes: 0 };
        this.#runs.set(event.run_id, run);
      }
      run.seqs.add(event.seq);
      tallyEvent(run.tally, event.topic, event.payload, event.time, run.events.length + 1);
      run.bytes += storedSize(event.run_id, event.time, event.topic, event.payload);
      const last = run.events.at(-1);
      run.events.push(event);
      if (last !== undefined && last.seq > event.seq) run.events.sort((a, b) => a.seq - b.seq);
      inserted++;
    }
    if (inserted > 0) this.#commits.notify();
    return { inserted, ignored };
  }

  waitFor(runId: string, seq: number, options: WaitForOptions = {}): Promise<boolean> {
    this.#assertOpen();
    checkRunId(runId);
    // Only this object writes to a memory log: no polling needed.
    return waitForSeq(this, this.#commits, runId, seq, options, Number.POSITIVE_INFINITY);
  }

  async since(runId: string, afterSeq: number, options: SinceOptions = {}): Promise<BusEvent[]> {
    this.#assertOpen();
    checkRunId(runId);
    checkInteger('afterSeq', afterSeq, 0);
    const limit = options.limit === undefined ? Number.MAX_SAFE_INTEGER : checkInteger('limit', options.limit, 1);
    const events = this.#runs.get(runId)?.events ?? [];
    // Binary search for the first seq > afterSeq.
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (events[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return events.slice(lo, lo + limit).map(decodeRow);
  }

  async lastSeq(runId: string): Promise<number> {
    this.#assertOpen();
    return this.#runs.get(checkRunId(runId))?.events.at(-1)?.seq ?? 0;
  }

  async runs(): Promise<RunInfo[]> {
    this.#assertOpen();
    const out: RunInfo[] = [];
    for (const [runId, run] of this.#runs) {
      const first = run.events[0];
      const last = run.events.at(-1);
      if (first === undefined || last === undefined) continue;
      let firstTime = first.time;
      let lastTime = first.time;
      for (const e of run.events) {
        if (e.time < firstTime) firstTime = e.time;
        if (e.time > lastTime) lastTime = e.time;
      }
      out.push(
        runInfo(
          { runId, firstSeq: first.seq, lastSeq: last.seq, count: run.events.length, firstTime, lastTime, bytes: run.bytes },
          run.tally,
        ),
      );
    }
    return out.sort((a, b) => (a.lastTime < b.lastTime ? 1 : a.lastTime > b.lastTime ? -1 : a.runId < b.runId ? -1 : 1));
  }

  replay(runId: string, options: ReplayOptions = {}): AsyncIterableIterator<BusEvent> {
    return replayInPages(this, runId, options);
  }

  async prune(options: PruneOptions): Promise<PruneResult> {
    this.#assertOpen();
    const doomed = selectPruned(await this.runs(), checkPruneOptions(options));
    let events = 0;
    for (const runId of doomed) {
      events += this.#runs.get(runId)?.events.length ?? 0;
      this.#runs.delete(runId);
    }
    return { runs: doomed.size, events };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError('memory event log');
  }
}

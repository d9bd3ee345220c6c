/**
 * How events cross into SQLite (and into the writer thread): as columns of primitives, with
 * the payload as JSON text. Columns clone across threads far cheaper than event objects.
 */
import type { BusEvent } from '../bus/index.ts';

/** A batch of events as parallel columns. */
export interface EventColumns {
  runIds: string[];
  seqs: number[];
  times: string[];
  topics: string[];
  /** JSON text, or null for an `undefined` payload. */
  payloads: (string | null)[];
}

/** The marker stored in place of a payload JSON cannot represent. */
export interface UnserializablePayload {
  readonly $unserializable: string;
}

/**
 * Encodes events as columns; returns them with the count of payloads that could not be
 * serialized (stored as `{ "$unserializable": reason }` so the event itself is never lost).
 *
 * @example
 * ```ts
 * const { columns } = encodeEvents(batch);
 * ```
 */
export function encodeEvents(events: readonly BusEvent[]): { columns: EventColumns; unserializable: number } {
  const n = events.length;
  const columns: EventColumns = { runIds: new Array(n), seqs: new Array(n), times: new Array(n), topics: new Array(n), payloads: new Array(n) };
  let unserializable = 0;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    columns.runIds[i] = e.runId;
    columns.seqs[i] = e.seq;
    columns.times[i] = e.time;
    columns.topics[i] = e.topic;
    let json: string | undefined;
    try {
      json = JSON.stringify(e.payload);
    } catch (err) {
      unserializable++;
      const marker: UnserializablePayload = { $unserializable: err instanceof Error ? err.message : String(err) };
      json = JSON.stringify(marker);
    }
    columns.payloads[i] = json ?? null;
  }
  return { columns, unserializable };
}

/** A stored row. */
export interface EventRow {
  run_id: string;
  seq: number;
  time: string;
  topic: string;
  payload: string | null;
}

/**
 * Turns a stored row back into an event.
 *
 * @example
 * ```ts
 * decodeRow({ run_id: 'r', seq: 1, time: '…', topic: 't', payload: '{"a":1}' }).payload; // { a: 1 }
 * ```
 */
export function decodeRow(row: EventRow): BusEvent {
  return { seq: row.seq, time: row.time, runId: row.run_id, topic: row.topic, payload: row.payload === null ? undefined : JSON.parse(row.payload) };
}

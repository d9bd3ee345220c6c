/**
 * How events cross into SQLite (and into the writer thread): as columns of primitives, with
 * the payload as JSON text. Columns clone across threads far cheaper than event objects.
 */
import type { BusEvent } from '../bus/index.ts';
import { JobOutcomePack } from './job-outcome-pack.ts';

/** A batch of events as parallel columns. */
export interface EventColumns {
  runIds: string[];
  seqs: number[];
  times: string[];
  topics: string[];
  /** JSON text, or null for an `undefined` payload. */
  payloads: (string | null)[];
  /**
   * Per event, the jobs of a packed row of completed jobs (see {@link JobOutcomePack}), 0 for an
   * ordinary event. Absent: the batch holds no pack.
   */
  packedCounts?: number[];
  /** Per event, the seq of its first job (a pack), else its own seq. Absent: `seqs`. */
  firstSeqs?: number[];
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
  const raw: RawColumns = { runIds: new Array(n), seqs: new Array(n), times: new Array(n), topics: new Array(n), payloads: new Array(n) };
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    raw.runIds[i] = e.runId;
    raw.seqs[i] = e.seq;
    raw.times[i] = e.time;
    raw.topics[i] = e.topic;
    raw.payloads[i] = e.payload;
  }
  Object.assign(raw, findPacks(raw.seqs, raw.payloads));
  const unserializable = encodePayloads(raw.payloads);
  return { columns: raw as EventColumns, unserializable };
}

/** A batch as columns with the payloads as they were published, not yet encoded. */
export interface RawColumns {
  runIds: string[];
  seqs: number[];
  times: string[];
  topics: string[];
  payloads: unknown[];
  packedCounts?: number[];
  firstSeqs?: number[];
}

/** `packedCounts` and `firstSeqs` of a batch that holds a pack (read before the payloads are encoded); undefined when none does. */
function findPacks(seqs: ArrayLike<number>, payloads: readonly unknown[]): { packedCounts: number[]; firstSeqs: number[] } | undefined {
  if (!payloads.some((p) => p instanceof JobOutcomePack)) return undefined;
  return {
    packedCounts: payloads.map((p) => (p instanceof JobOutcomePack ? p.count : 0)),
    firstSeqs: payloads.map((p, i) => (p instanceof JobOutcomePack ? p.firstSeq : seqs[i]!)),
  };
}

/**
 * Encodes payloads in place as JSON text (null for `undefined`), a payload JSON cannot represent
 * as the `$unserializable` marker; returns how many were. `skip` lists indices already encoded.
 */
export function encodePayloads(payloads: unknown[], skip?: ReadonlySet<number>): number {
  let unserializable = 0;
  for (let i = 0; i < payloads.length; i++) {
    if (skip?.has(i) === true) continue;
    let json: string | undefined;
    try {
      json = JSON.stringify(payloads[i]);
    } catch (err) {
      unserializable++;
      const marker: UnserializablePayload = { $unserializable: err instanceof Error ? err.message : String(err) };
      json = JSON.stringify(marker);
    }
    payloads[i] = json ?? null;
  }
  return unserializable;
}

/**
 * A batch packed to cross threads cheaply: run ids, times and topics repeat from event to event,
 * so each distinct one is sent once and events refer to it; numbers travel in typed arrays
 * (transferred, not copied); payloads go as published, for the writer thread to encode.
 */
export interface PackedBatch {
  /** The distinct run ids, times and topics. */
  readonly strings: string[];
  /** Per event: the index in `strings` of its run id, time and topic. */
  readonly refs: Uint32Array<ArrayBuffer>;
  readonly seqs: Float64Array<ArrayBuffer>;
  readonly payloads: unknown[];
  /** Per event, the jobs of a pack (0 for an ordinary event) and its first seq, when the batch holds a pack. */
  readonly packs?: { readonly packedCounts: number[]; readonly firstSeqs: number[] };
}

/** Packs `events` (see {@link PackedBatch}). */
export function packEvents(events: readonly BusEvent[]): PackedBatch {
  const n = events.length;
  const strings: string[] = [];
  const index = new Map<string, number>();
  const refs = new Uint32Array(3 * n);
  const seqs = new Float64Array(n);
  const payloads = new Array<unknown>(n);
  const ref = (value: string): number => {
    let i = index.get(value);
    if (i === undefined) {
      i = strings.length;
      strings.push(value);
      index.set(value, i);
    }
    return i;
  };
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    refs[3 * i] = ref(e.runId);
    refs[3 * i + 1] = ref(e.time);
    refs[3 * i + 2] = ref(e.topic);
    seqs[i] = e.seq;
    payloads[i] = e.payload;
  }
  const packs = findPacks(seqs, payloads);
  return { strings, refs, seqs, payloads, ...(packs === undefined ? {} : { packs }) };
}

/** The columns of a packed batch, payloads as they came. */
export function unpackEvents(batch: PackedBatch): RawColumns {
  const n = batch.seqs.length;
  const { strings, refs } = batch;
  const columns: RawColumns = {
    runIds: new Array(n),
    seqs: Array.from(batch.seqs),
    times: new Array(n),
    topics: new Array(n),
    payloads: batch.payloads,
    ...batch.packs,
  };
  for (let i = 0; i < n; i++) {
    columns.runIds[i] = strings[refs[3 * i]!]!;
    columns.times[i] = strings[refs[3 * i + 1]!]!;
    columns.topics[i] = strings[refs[3 * i + 2]!]!;
  }
  return columns;
}

/**
 * True when a payload must be encoded before it crosses threads, because a structured clone
 * would not keep what JSON.stringify reads: an object with its own `toJSON`, or one of a class.
 * (Plain objects, arrays, primitives, Dates and typed arrays encode the same on either side;
 * a class instance nested inside a plain object is cloned as a plain object.)
 */
export function encodesOnlyHere(payload: unknown): boolean {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || payload instanceof Date || ArrayBuffer.isView(payload))
    return false;
  const proto = Object.getPrototypeOf(payload) as object | null;
  return (proto !== Object.prototype && proto !== null) || typeof (payload as { toJSON?: unknown }).toJSON === 'function';
}

/** A stored row. */
export interface EventRow {
  run_id: string;
  seq: number;
  time: string;
  topic: string;
  payload: string | null;
  /** 1 for a packed row of completed jobs (schema 3); absent or 0 for one event. */
  packed?: number;
}

/**
 * Turns a stored row of one event back into the event ({@link decodeRows} also expands packed rows).
 *
 * @example
 * ```ts
 * decodeRow({ run_id: 'r', seq: 1, time: '…', topic: 't', payload: '{"a":1}' }).payload; // { a: 1 }
 * ```
 */
export function decodeRow(row: EventRow): BusEvent {
  return {
    seq: row.seq,
    time: row.time,
    runId: row.run_id,
    topic: row.topic,
    payload: row.payload === null ? undefined : JSON.parse(row.payload),
  };
}

/**
 * The events stored rows stand for, those with `seq > afterSeq`, at most `limit`: a packed row
 * is expanded into its completed jobs (it is stored under its last job's seq, so rows in seq
 * order give events in seq order).
 */
export function decodeRows(rows: readonly EventRow[], afterSeq: number, limit = Number.POSITIVE_INFINITY): BusEvent[] {
  const out: BusEvent[] = [];
  for (const row of rows) {
    if (out.length >= limit) break;
    if (row.packed === 1 && row.payload !== null) {
      for (const e of JobOutcomePack.expand(row.payload, row.run_id, afterSeq)) {
        if (out.length >= limit) break;
        out.push(e);
      }
    } else {
      out.push(decodeRow(row));
    }
  }
  return out;
}

/**
 * Completed jobs recorded as columns: a recording runtime whose only listener on
 * `job.completed` is its durable log stores a run of completed jobs as one packed row instead of
 * one event each (see docs/bus-and-log.md, "How completed jobs are stored"). Every job keeps its
 * own `seq`, time and payload: reading the log expands a pack back into the `job.completed`
 * events it stands for, so readers see no difference. The pack is what travels through the
 * durable sink (counted as `count` events) and what the SQLite writer stores.
 */
import type { BusEvent } from '../bus/index.ts';

/** The topic a pack stands for. */
export const kPackedTopic = 'job.completed';

/** The payload of a `job.completed` event of a job that ended without error. */
export interface JobCompletedPayload {
  readonly jobId: string;
  readonly flowId: string;
  readonly workerId: string;
  readonly status: 'completed';
  readonly durationMs: number;
}

/**
 * A pack as stored (JSON), compact because a pack holds thousands of jobs and the log's cost is
 * its bytes: seqs, times and job numbers as run-length-coded deltas (`[delta, times, …]`),
 * flows and workers as run-length-coded indices into their distinct values, durations in ms (as
 * the job measured them). A job id is `idPrefix` + its number (the runtime's serial), or listed
 * in `ids` (`[index, id, …]`) when it was given at post time.
 */
interface StoredPack {
  readonly v: 1;
  readonly n: number;
  readonly seqs: number[];
  readonly times: number[];
  readonly idPrefix: string;
  readonly idNums: number[];
  readonly ids: (number | string)[];
  readonly flows: string[];
  readonly flow: number[];
  readonly workers: string[];
  readonly worker: number[];
  readonly durations: number[];
}

/** Distinct strings, each with its index. */
class Dictionary {
  readonly values: string[] = [];
  readonly #index = new Map<string, number>();
  #last: string | undefined;
  #lastAt = -1;

  /** The index of `value` (added when new). */
  indexOf(value: string): number {
    if (value === this.#last) return this.#lastAt;
    let at = this.#index.get(value);
    if (at === undefined) {
      at = this.values.length;
      this.values.push(value);
      this.#index.set(value, at);
    }
    this.#last = value;
    this.#lastAt = at;
    return at;
  }
}

const kInitialCapacity = 256;

/**
 * Completed jobs of one run, in seq order, as typed columns (a job costs a few stores and no
 * allocation); the stored form is computed once, when the pack is written.
 */
export class JobOutcomePack {
  #n = 0;
  #seqs = new Float64Array(kInitialCapacity);
  #times = new Float64Array(kInitialCapacity);
  /** The number after `#idPrefix` of each job id, -1 for an id given at post time (kept in `#ids`). */
  #idNums = new Float64Array(kInitialCapacity);
  #flow = new Int32Array(kInitialCapacity);
  #worker = new Int32Array(kInitialCapacity);
  #durations = new Float64Array(kInitialCapacity);
  readonly #ids: (number | string)[] = [];
  readonly #flows = new Dictionary();
  readonly #workers = new Dictionary();
  readonly #idPrefix: string;

  /** A pack whose job ids are `idPrefix` + a serial number, when `add` is given that number. */
  constructor(idPrefix = '') {
    this.#idPrefix = idPrefix;
  }

  /**
   * Adds a job; `seq` must be above the last one added, `timeMs` is wall time (ms since the
   * epoch). `serial` > 0 says `jobId` is the pack's `idPrefix` followed by it (it is stored as a
   * number); any other value stores `jobId` as it is.
   */
  add(seq: number, timeMs: number, jobId: string, serial: number, flowId: string, workerId: string, durationMs: number): void {
    const i = this.#n++;
    if (i === this.#seqs.length) this.#grow();
    this.#seqs[i] = seq;
    this.#times[i] = timeMs;
    if (serial > 0) this.#idNums[i] = serial;
    else {
      this.#idNums[i] = -1;
      this.#ids.push(i, jobId);
    }
    this.#flow[i] = this.#flows.indexOf(flowId);
    this.#worker[i] = this.#workers.indexOf(workerId);
    this.#durations[i] = durationMs;
  }

  #grow(): void {
    const size = this.#seqs.length * 2;
    const grow = <T extends Float64Array | Int32Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.#seqs = grow(this.#seqs, new Float64Array(size));
    this.#times = grow(this.#times, new Float64Array(size));
    this.#idNums = grow(this.#idNums, new Float64Array(size));
    this.#flow = grow(this.#flow, new Int32Array(size));
    this.#worker = grow(this.#worker, new Int32Array(size));
    this.#durations = grow(this.#durations, new Float64Array(size));
  }

  /** Jobs in the pack. */
  get count(): number {
    return this.#n;
  }

  /** The seq of its first job (0 when empty). */
  get firstSeq(): number {
    return this.#n === 0 ? 0 : this.#seqs[0]!;
  }

  /** The seq of its last job, under which the pack is stored (0 when empty). */
  get lastSeq(): number {
    return this.#n === 0 ? 0 : this.#seqs[this.#n - 1]!;
  }

  /** The wall time of its last job, ms since the epoch (0 when empty). */
  get lastTime(): number {
    return this.#n === 0 ? 0 : this.#times[this.#n - 1]!;
  }

  /** The pack as one event of `runId`, stored under its last job's seq and time. */
  toEvent(runId: string): BusEvent<JobOutcomePack> {
    return { runId, seq: this.lastSeq, time: new Date(this.lastTime).toISOString(), topic: kPackedTopic, payload: this };
  }

  /** The `job.completed` events of `runId` it stands for, those with `seq > afterSeq`. */
  toEvents(runId: string, afterSeq = 0): BusEvent<JobCompletedPayload>[] {
    return expand(this.toJSON(), runId, afterSeq);
  }

  /** The stored form (what `JSON.stringify` writes). */
  toJSON(): StoredPack {
    const n = this.#n;
    const idNums = this.#idNums.slice(0, n);
    // An id of another form repeats the number before it: a delta of 0 keeps the runs long.
    for (let i = 0; i < n; i++) if (idNums[i]! < 0) idNums[i] = i === 0 ? 0 : idNums[i - 1]!;
    return {
      v: 1,
      n,
      seqs: runs(this.#seqs, n, true),
      times: runs(this.#times, n, true),
      idPrefix: this.#idPrefix,
      idNums: runs(idNums, n, true),
      ids: this.#ids,
      flows: this.#flows.values,
      flow: runs(this.#flow, n, false),
      workers: this.#workers.values,
      worker: runs(this.#worker, n, false),
      durations: Array.from(this.#durations.subarray(0, n)),
    };
  }

  /**
   * The `job.completed` events of `runId` a stored pack (its JSON text) stands for, those with
   * `seq > afterSeq`; throws a `TypeError` naming what is wrong when the text is not a pack.
   */
  static expand(json: string, runId: string, afterSeq = 0): BusEvent<JobCompletedPayload>[] {
    return expand(JSON.parse(json) as Partial<StoredPack> | null, runId, afterSeq, json);
  }
}

function expand(stored: Partial<StoredPack> | null, runId: string, afterSeq: number, text?: string): BusEvent<JobCompletedPayload>[] {
  const n = stored?.n;
  const bad = (): TypeError =>
    new TypeError(`Expected a packed job.completed row (version 1), got ${(text ?? JSON.stringify(stored)).slice(0, 80)}`);
  if (
    stored === null ||
    stored === undefined ||
    stored.v !== 1 ||
    typeof n !== 'number' ||
    stored.durations?.length !== n ||
    !Array.isArray(stored.ids)
  )
    throw bad();
  const seqs = unRuns(stored.seqs, n, true);
  const times = unRuns(stored.times, n, true);
  const idNums = unRuns(stored.idNums, n, true);
  const flow = unRuns(stored.flow, n, false);
  const worker = unRuns(stored.worker, n, false);
  if (seqs === undefined || times === undefined || idNums === undefined || flow === undefined || worker === undefined) throw bad();
  const given = new Map<number, string>();
  for (let i = 0; i + 1 < stored.ids.length; i += 2) given.set(stored.ids[i] as number, String(stored.ids[i + 1]));
  const out: BusEvent<JobCompletedPayload>[] = [];
  let isoMs = Number.NaN;
  let iso = '';
  for (let i = 0; i < n; i++) {
    const seq = seqs[i]!;
    if (seq <= afterSeq) continue;
    const ms = times[i]!;
    if (ms !== isoMs) {
      isoMs = ms;
      iso = new Date(ms).toISOString();
    }
    out.push({
      seq,
      time: iso,
      runId,
      topic: kPackedTopic,
      payload: {
        jobId: given.get(i) ?? `${stored.idPrefix ?? ''}${idNums[i]!}`,
        flowId: stored.flows?.[flow[i]!] ?? '',
        workerId: stored.workers?.[worker[i]!] ?? '',
        status: 'completed',
        durationMs: stored.durations[i]!,
      },
    });
  }
  return out;
}

/** How many events `event` stands for: a pack's count, else 1. */
export function eventWeight(event: BusEvent): number {
  return event.payload instanceof JobOutcomePack ? event.payload.count : 1;
}

/** `events` with every pack expanded into the events it stands for. */
export function expandPacks(events: readonly BusEvent[]): BusEvent[] {
  if (!events.some((e) => e.payload instanceof JobOutcomePack)) return [...events];
  return events.flatMap((e) => (e.payload instanceof JobOutcomePack ? e.payload.toEvents(e.runId) : [e]));
}

/** The first `n` values of `column` run-length coded (`[value, count, …]`), of their deltas when `deltas`. */
function runs(column: Float64Array | Int32Array, n: number, deltas: boolean): number[] {
  const out: number[] = [];
  let previous = 0;
  let last = Number.NaN;
  for (let i = 0; i < n; i++) {
    const value = deltas ? column[i]! - previous : column[i]!;
    previous = column[i]!;
    if (value === last) out[out.length - 1]!++;
    else {
      out.push(value, 1);
      last = value;
    }
  }
  return out;
}

/** The `n` values of a run-length-coded column (summed when `deltas`); undefined when it does not hold `n`. */
function unRuns(runs: unknown, n: number, deltas: boolean): number[] | undefined {
  if (!Array.isArray(runs)) return undefined;
  const out: number[] = [];
  let value = 0;
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const run = runs[i] as number;
    for (let k = 0; k < (runs[i + 1] as number) && out.length < n; k++) out.push(deltas ? (value += run) : run);
  }
  return out.length === n ? out : undefined;
}

/** Marks an event log whose `append` stores packs itself; the durable sink expands packs for any other. */
export const kTakesPacks: unique symbol = Symbol.for('sluice.takesJobOutcomePacks');

/** True when `log` stores packs itself (see {@link kTakesPacks}). */
export function takesPacks(log: object): boolean {
  return (log as { [kTakesPacks]?: unknown })[kTakesPacks] === true;
}

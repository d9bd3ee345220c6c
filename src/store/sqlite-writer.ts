/**
 * Where the SQLite log's writes run. Two real implementations behind one small interface:
 * {@link ThreadSqliteWriter} (the default: a worker thread owns the write connection, so a
 * slow or stalled disk never blocks the main event loop) and {@link InlineSqliteWriter} (writes
 * synchronously on the caller's thread: simplest, and the baseline the thread is measured
 * against).
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { PruneSpec } from './retention.ts';
import { encodeEvents, encodesOnlyHere, packEvents, type EventColumns, type PackedBatch } from './sqlite-codec.ts';
import type { BusEvent } from '../bus/index.ts';
import { type PruneOutcome, SqliteWriterCore, type WriteOutcome } from './sqlite-writer-core.ts';

/** @internal Data the writer thread starts with. */
export interface WriterThreadData {
  path: string;
  busyTimeoutMs: number;
}

/** @internal Requests to the writer thread. */
export type WriterRequest =
  | { type: 'write'; id: number; columns: EventColumns }
  /** A packed batch, payloads as published: encoded by the thread, but for the indices in `encoded` (done here). */
  | { type: 'write-packed'; id: number; batch: PackedBatch; encoded: number[] }
  | { type: 'prune'; id: number; spec: PruneSpec }
  | { type: 'close'; id: number };

/** @internal Replies from the writer thread. */
export type WriterReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; inserted: number; ignored: number; runs: number; events: number }
  | { type: 'failed'; id: number; message: string; sqliteCode: string | undefined };

/** The write side of a SQLite event log. */
export interface SqliteWriter {
  /** Writes one batch in one transaction. */
  write(events: readonly BusEvent[]): Promise<WriteOutcome>;
  /** Removes whole runs. */
  prune(spec: PruneSpec): Promise<PruneOutcome>;
  /** Finishes queued requests, then closes the connection. */
  close(): Promise<void>;
  /** Abandons queued requests at once (a crash, as far as the database can tell). */
  destroy(): Promise<void>;
}

function storeFailed(path: string, what: string, message: string, sqliteCode?: string, cause?: unknown): SluiceError {
  return new SluiceError(ErrorCode.StoreFailed, `${what} in the event log \`${path}\` failed: ${message}`, {
    cause,
    details: { path, sqliteCode },
  });
}

/**
 * Writes on the calling thread. Every write blocks the event loop for as long as the disk takes.
 *
 * @example
 * ```ts
 * const log = await SqliteEventLog.open({ path: ':memory:', writer: 'inline' });
 * ```
 */
export class InlineSqliteWriter implements SqliteWriter {
  readonly #path: string;
  readonly #core: SqliteWriterCore;

  /** @param db a configured, migrated connection; its owner (the log) closes it. */
  constructor(db: Database.Database) {
    this.#path = db.name;
    this.#core = new SqliteWriterCore(db);
  }

  async write(events: readonly BusEvent[]): Promise<WriteOutcome> {
    try {
      return this.#core.write(encodeEvents(events).columns);
    } catch (err) {
      throw storeFailed(this.#path, `Writing ${events.length} events`, (err as Error).message, (err as { code?: string }).code, err);
    }
  }

  async prune(spec: PruneSpec): Promise<PruneOutcome> {
    try {
      return this.#core.prune(spec);
    } catch (err) {
      throw storeFailed(this.#path, 'Pruning', (err as Error).message, (err as { code?: string }).code, err);
    }
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {}
}

interface Pending {
  readonly what: string;
  resolve(reply: Extract<WriterReply, { type: 'done' }>): void;
  reject(error: SluiceError): void;
}

/**
 * Starts the writer thread's entry next to this file: the `.js` file when sluice is built; the
 * `.ts` source under tsx or vitest, through tsx's loader registered inside the thread (a loader
 * given in `execArgv` does not reach worker threads on Node 20).
 */
function spawnWriterThread(data: WriterThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sqlite-writer-thread.js', import.meta.url), { workerData: data });
  const entry = new URL('./sqlite-writer-thread.ts', import.meta.url).href;
  let tsxApi = 'tsx/esm/api';
  try {
    tsxApi = import.meta.resolve(tsxApi);
  } catch {
    // Resolved from the working directory instead.
  }
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

/**
 * Writes on a worker thread that owns the write connection; requests are applied in order. If
 * the thread dies, outstanding requests reject with `SLUICE_ERR_STORE_FAILED` and the next
 * request starts a fresh thread.
 *
 * @example
 * ```ts
 * const log = await SqliteEventLog.open({ path: 'events.sqlite' }); // writer: 'thread'
 * ```
 */
export class ThreadSqliteWriter implements SqliteWriter {
  readonly #data: WriterThreadData;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  #nextId = 1;

  constructor(data: WriterThreadData) {
    this.#data = data;
  }

  /** Starts the thread and waits until it has opened the database. */
  start(): Promise<void> {
    if (this.#ready !== undefined) return this.#ready;
    const worker = spawnWriterThread(this.#data);
    this.#worker = worker;
    this.#ready = new Promise<void>((resolve, reject) => {
      const onReady = (reply: WriterReply): void => {
        if (reply.type === 'ready') resolve();
        else if (reply.type === 'failed' && reply.id === -1)
          reject(storeFailed(this.#data.path, 'Opening', reply.message, reply.sqliteCode));
      };
      worker.on('message', onReady);
      worker.once('error', (err) => reject(storeFailed(this.#data.path, 'Starting the writer thread', err.message, undefined, err)));
      worker.once('exit', () => reject(storeFailed(this.#data.path, 'Starting the writer thread', 'the thread exited')));
    });
    this.#ready.catch(() => {});
    worker.on('message', (reply: WriterReply) => this.#onReply(reply));
    worker.once('error', (err) => this.#onDeath(worker, err.message, err));
    worker.once('exit', (code) => this.#onDeath(worker, `the writer thread exited with code ${code}`));
    return this.#ready;
  }

  /**
   * Sends the batch packed, with its payloads as published: the thread encodes them as JSON, so
   * the main thread pays a structured clone instead of encoding. Payloads a clone would change
   * (own `toJSON`, class instances) are encoded here first; a batch that cannot be cloned at all
   * (a function inside) is encoded here whole.
   */
  async write(events: readonly BusEvent[]): Promise<WriteOutcome> {
    const what = `Writing ${events.length} events`;
    const batch = packEvents(events);
    const { payloads } = batch;
    const encoded: number[] = [];
    for (let i = 0; i < payloads.length; i++) {
      // A pack (a class with toJSON) is encoded here: one string clones far cheaper than its columns.
      if (!encodesOnlyHere(payloads[i])) continue;
      try {
        payloads[i] = JSON.stringify(payloads[i]) ?? null;
        encoded.push(i);
      } catch {
        // Encoded in the thread, where the failure becomes the $unserializable marker.
      }
    }
    let reply: Extract<WriterReply, { type: 'done' }>;
    try {
      reply = await this.#request({ type: 'write-packed', id: 0, batch, encoded }, what, [batch.refs.buffer, batch.seqs.buffer]);
    } catch (error) {
      if ((error as { name?: string }).name !== 'DataCloneError') throw error;
      reply = await this.#request({ type: 'write', id: 0, columns: encodeEvents(events).columns }, what);
    }
    return { inserted: reply.inserted, ignored: reply.ignored };
  }

  async prune(spec: PruneSpec): Promise<PruneOutcome> {
    const reply = await this.#request({ type: 'prune', id: 0, spec }, 'Pruning');
    return { runs: reply.runs, events: reply.events };
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    try {
      await this.#request({ type: 'close', id: 0 }, 'Closing');
    } finally {
      await worker.terminate();
    }
  }

  async destroy(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    await worker.terminate();
  }

  async #request<R extends WriterRequest>(
    request: R,
    what: string,
    transfer: ArrayBuffer[] = [],
  ): Promise<Extract<WriterReply, { type: 'done' }>> {
    await this.start();
    const id = this.#nextId++;
    const worker = this.#worker;
    if (worker === undefined) throw storeFailed(this.#data.path, what, 'the writer thread is gone');
    return new Promise((resolve, reject) => {
      try {
        worker.postMessage({ ...request, id }, transfer);
      } catch (error) {
        // Not sent (a value that cannot be cloned): the caller decides what to do.
        reject(error);
        return;
      }
      this.#pending.set(id, { what, resolve, reject });
    });
  }

  #onReply(reply: WriterReply): void {
    if (reply.type === 'ready') return;
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (reply.type === 'done') pending.resolve(reply);
    else pending.reject(storeFailed(this.#data.path, pending.what, reply.message, reply.sqliteCode));
  }

  #onDeath(worker: Worker, message: string, cause?: unknown): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#ready = undefined;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(storeFailed(this.#data.path, pending.what, message, undefined, cause));
    }
  }
}

/**
 * The write side of a log opened read-only: every write is refused with a coded error naming
 * the file, so a reader on read-only storage never tries (and fails) to create or migrate it.
 *
 * @example
 * ```ts
 * const log = await SqliteEventLog.open({ path: '/mnt/archive/runs.sqlite', readonly: true });
 * await log.append([event]); // rejects with SLUICE_ERR_STORE_FAILED
 * ```
 */
export class ReadOnlySqliteWriter implements SqliteWriter {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  write(events: readonly BusEvent[]): Promise<WriteOutcome> {
    return Promise.reject(storeFailed(this.#path, `Writing ${events.length} events`, 'the log was opened read-only', 'SQLITE_READONLY'));
  }

  prune(): Promise<PruneOutcome> {
    return Promise.reject(storeFailed(this.#path, 'Pruning', 'the log was opened read-only', 'SQLITE_READONLY'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

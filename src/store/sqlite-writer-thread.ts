/**
 * The writer thread's entry: owns one SQLite connection and applies write and prune requests
 * in arrival order. The main thread never waits on the disk; a stalled disk stalls only this
 * thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configureConnection } from './sqlite-schema.ts';
import { SqliteWriterCore } from './sqlite-writer-core.ts';
import { encodePayloads, unpackEvents, type EventColumns } from './sqlite-codec.ts';
import type { WriterReply, WriterRequest, WriterThreadData } from './sqlite-writer.ts';

const data = workerData as WriterThreadData;
const port = parentPort!;

function describe(err: unknown): { message: string; sqliteCode: string | undefined } {
  const message = err instanceof Error ? err.message : String(err);
  const sqliteCode = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  return { message, sqliteCode };
}

let core: SqliteWriterCore | undefined;
try {
  const db = new Database(data.path);
  configureConnection(db, data.busyTimeoutMs);
  core = new SqliteWriterCore(db);
  port.postMessage({ type: 'ready' } satisfies WriterReply);
} catch (err) {
  port.postMessage({ type: 'failed', id: -1, ...describe(err) } satisfies WriterReply);
}

port.on('message', (request: WriterRequest) => {
  if (core === undefined) {
    port.postMessage({
      type: 'failed',
      id: request.id,
      message: 'the writer thread could not open the database',
      sqliteCode: undefined,
    } satisfies WriterReply);
    return;
  }
  try {
    if (request.type === 'write') {
      port.postMessage({ type: 'done', id: request.id, ...core.write(request.columns), runs: 0, events: 0 } satisfies WriterReply);
    } else if (request.type === 'write-packed') {
      // The payloads as published: encoded here, off the main thread.
      const columns = unpackEvents(request.batch);
      encodePayloads(columns.payloads, request.encoded.length === 0 ? undefined : new Set(request.encoded));
      port.postMessage({ type: 'done', id: request.id, ...core.write(columns as EventColumns), runs: 0, events: 0 } satisfies WriterReply);
    } else if (request.type === 'prune') {
      const out = core.prune(request.spec);
      port.postMessage({ type: 'done', id: request.id, inserted: 0, ignored: 0, ...out } satisfies WriterReply);
    } else {
      core.close();
      core = undefined;
      port.postMessage({ type: 'done', id: request.id, inserted: 0, ignored: 0, runs: 0, events: 0 } satisfies WriterReply);
      port.close();
    }
  } catch (err) {
    port.postMessage({ type: 'failed', id: request.id, ...describe(err) } satisfies WriterReply);
  }
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/bus/index.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { type EventLog, MemoryEventLog, SqliteEventLog } from '../../src/store/index.ts';
import { createTempDir } from './temp-dir.ts';

function ev(runId: string, seq: number, time?: string, ...payload: unknown[]): BusEvent {
  time ??= `2025-01-01T00:00:${String(seq % 60).padStart(2, '0')}.000Z`;
  return { seq, time, runId, topic: seq % 2 ? 'job.odd' : 'job.even', payload: payload.length > 0 ? payload[0] : { seq } };
}

const implementations: [string, (file: string) => Promise<EventLog>][] = [
  ['MemoryEventLog', async () => new MemoryEventLog()],
  ['SqliteEventLog (thread writer)', (file) => SqliteEventLog.open({ path: file })],
  ['SqliteEventLog (inline writer)', (file) => SqliteEventLog.open({ path: file, writer: 'inline' })],
];

describe.each(implementations)('EventLog conformance: %s', (_name, create) => {
  let temp: ReturnType<typeof createTempDir>;
  let log: EventLog;

  beforeEach(async () => {
    temp = createTempDir();
    log = await create(temp.file('events.sqlite'));
  });
  afterEach(async () => {
    await log.close();
    temp.remove();
  });

  it('appends and backfills with since(runId, seq) exactly, in order', async () => {
    const events = Array.from({ length: 50 }, (_, i) => ev('r1', i + 1));
    expect(await log.append(events)).toEqual({ inserted: 50, ignored: 0 });
    await log.append([ev('r2', 1)]);
    expect(await log.since('r1', 0)).toEqual(events);
    expect(await log.since('r1', 47)).toEqual(events.slice(47));
    expect(await log.since('r1', 10, { limit: 5 })).toEqual(events.slice(10, 15));
    expect(await log.since('r1', 50)).toEqual([]);
    expect(await log.since('nope', 0)).toEqual([]);
  });

  it('round-trips payloads: objects, arrays, strings, numbers, null, undefined', async () => {
    const payloads = [{ a: [1, 'x', { b: null }] }, [1, 2], 'text', 3.5, null, undefined, true];
    await log.append(payloads.map((p, i) => ev('r', i + 1, undefined, p)));
    expect((await log.since('r', 0)).map((e) => e.payload)).toEqual(payloads);
  });

  it('stores a payload JSON cannot represent as a marker, keeping the event', async () => {
    const payload = { big: 10n };
    await log.append([ev('r', 1, undefined, payload)]);
    const [stored] = await log.since('r', 0);
    expect(stored).toMatchObject({ seq: 1, payload: { $unserializable: expect.stringMatching(/BigInt/) } });
  });

  it('keeps history immune to later mutation of a payload', async () => {
    const payload = { n: 1 };
    await log.append([ev('r', 1, undefined, payload)]);
    payload.n = 2;
    expect((await log.since('r', 0))[0]?.payload).toEqual({ n: 1 });
  });

  it('is idempotent per (runId, seq): a replayed batch is ignored and counted', async () => {
    await log.append([ev('r', 1), ev('r', 2)]);
    expect(await log.append([ev('r', 2), ev('r', 3)])).toEqual({ inserted: 1, ignored: 1 });
    expect((await log.since('r', 0)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await log.runs())[0]?.count).toBe(3);
  });

  it('returns events in seq order even when appended out of order', async () => {
    await log.append([ev('r', 3), ev('r', 1)]);
    await log.append([ev('r', 2)]);
    expect((await log.since('r', 0)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('lastSeq resumes a sequence', async () => {
    expect(await log.lastSeq('r')).toBe(0);
    await log.append([ev('r', 1), ev('r', 2), ev('x', 9)]);
    expect(await log.lastSeq('r')).toBe(2);
  });

  it('runs() summarises each run, most recent first', async () => {
    await log.append([ev('a', 1, '2025-01-01T00:00:00.000Z'), ev('a', 2, '2025-01-01T00:00:05.000Z')]);
    await log.append([ev('b', 1, '2025-01-02T00:00:00.000Z')]);
    expect(await log.runs()).toEqual([
      { runId: 'b', firstSeq: 1, lastSeq: 1, count: 1, firstTime: '2025-01-02T00:00:00.000Z', lastTime: '2025-01-02T00:00:00.000Z' },
      { runId: 'a', firstSeq: 1, lastSeq: 2, count: 2, firstTime: '2025-01-01T00:00:00.000Z', lastTime: '2025-01-01T00:00:05.000Z' },
    ]);
  });

  it('replay() iterates every event in order across pages, and from a cursor', async () => {
    const events = Array.from({ length: 2345 }, (_, i) => ev('r', i + 1));
    await log.append(events);
    const seen: number[] = [];
    for await (const e of log.replay('r', { pageSize: 100 })) seen.push(e.seq);
    expect(seen).toEqual(events.map((e) => e.seq));
    const tail: number[] = [];
    for await (const e of log.replay('r', { since: 2300, pageSize: 7 })) tail.push(e.seq);
    expect(tail).toEqual(events.slice(2300).map((e) => e.seq));
  });

  it('prune removes whole runs by age or by count', async () => {
    await log.append([ev('old', 1, '2024-01-01T00:00:00.000Z'), ev('old', 2, '2024-01-01T00:00:01.000Z')]);
    await log.append([ev('mid', 1, '2025-01-01T00:00:00.000Z')]);
    await log.append([ev('new', 1, '2026-01-01T00:00:00.000Z')]);
    expect(await log.prune({ olderThan: new Date('2024-06-01T00:00:00Z') })).toEqual({ runs: 1, events: 2 });
    expect(await log.since('old', 0)).toEqual([]);
    expect(await log.prune({ keepRuns: 1 })).toEqual({ runs: 1, events: 1 });
    expect((await log.runs()).map((r) => r.runId)).toEqual(['new']);
  });

  it('validates arguments and rejects after close with coded errors', async () => {
    await expect(log.since('r', -1)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(log.since('r', 0, { limit: 0 })).rejects.toThrow('Expected `limit` to be an integer >= 1, got `0` (number)');
    await expect(log.prune({})).rejects.toThrow(/olderThan/);
    await log.close();
    await log.close(); // idempotent
    expect(log.isClosed).toBe(true);
    await expect(log.append([ev('r', 1)])).rejects.toMatchObject({ code: ErrorCode.StoreClosed });
    await expect(log.since('r', 0)).rejects.toMatchObject({ code: ErrorCode.StoreClosed });
  });
});

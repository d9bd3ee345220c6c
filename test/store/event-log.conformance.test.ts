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

  it('stores what JSON.stringify makes of any payload, whichever thread encodes it', async () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON(): string {
        return `${this.cents / 100} EUR`;
      }
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    // Clonable: the SQLite writer thread encodes these (a class with toJSON is encoded first).
    await log.append(
      [new Money(250), { when: new Date('2025-01-01T00:00:00Z') }, cyclic, { nested: { list: [1, 'x', null] } }, undefined, 'text', 42].map(
        (p, i) => ev('j', i + 1, undefined, p),
      ),
    );
    // Not clonable (a function inside): the batch is encoded before it crosses.
    await log.append([ev('j', 8, undefined, { f: () => 1, keep: 2 }), ev('j', 9, undefined, new Money(5))]);
    expect((await log.since('j', 0)).map((e) => e.payload)).toEqual([
      '2.5 EUR',
      { when: '2025-01-01T00:00:00.000Z' },
      { $unserializable: expect.stringMatching(/circular/i) },
      { nested: { list: [1, 'x', null] } },
      undefined,
      'text',
      42,
      { keep: 2 },
      '0.05 EUR',
    ]);
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
    expect(await log.runs()).toMatchObject([
      { runId: 'b', firstSeq: 1, lastSeq: 1, count: 1, firstTime: '2025-01-02T00:00:00.000Z', lastTime: '2025-01-02T00:00:00.000Z' },
      {
        runId: 'a',
        firstSeq: 1,
        lastSeq: 2,
        count: 2,
        firstTime: '2025-01-01T00:00:00.000Z',
        lastTime: '2025-01-01T00:00:05.000Z',
        durationMs: 5_000,
      },
    ]);
  });

  it('runs() is a registry: flow, status, job outcomes, overflows, end and duration, folded across batches', async () => {
    const at = (ms: number): string => new Date(Date.parse('2025-03-01T00:00:00.000Z') + ms).toISOString();
    const e = (runId: string, seq: number, ms: number, topic: string, payload: unknown = {}): BusEvent => ({
      runId,
      seq,
      time: at(ms),
      topic,
      payload,
    });
    // A run that stopped with failed, dropped and cancelled jobs, written in two batches.
    await log.append([
      e('done', 1, 0, 'run.started'),
      e('done', 2, 10, 'worker.started', { workerId: 'w1', flowId: 'pipeline' }),
      e('done', 3, 20, 'run.heartbeat', { intervalMs: 1_000, beat: 1 }),
      e('done', 4, 30, 'job.completed', { jobId: 'j1' }),
      e('done', 5, 40, 'job.failed', { jobId: 'j2', error: { code: 'SLUICE_ERR_ROUTINE_FAILED', message: 'x' } }),
    ]);
    await log.append([
      e('done', 6, 50, 'job.failed', { jobId: 'j3', error: { code: 'SLUICE_ERR_ITEM_DROPPED', message: 'evicted' } }),
      e('done', 7, 60, 'job.cancelled', { jobId: 'j4' }),
      e('done', 8, 70, 'job.completed', { jobId: 'j5' }),
      e('done', 9, 80, 'slot.overflow', { action: 'rejected' }),
      e('done', 10, 90, 'bus.overflow', { subscriber: 'ui', dropped: 5 }),
      e('done', 11, 2_500, 'run.stopped'),
    ]);
    // A clean run; one still going (recent events); one that went silent past its heartbeats.
    await log.append([
      e('clean', 1, 3_000, 'worker.started', { flowId: 'other' }),
      e('clean', 2, 3_100, 'job.completed'),
      e('clean', 3, 3_200, 'run.stopped'),
    ]);
    const now = new Date().toISOString();
    await log.append([{ runId: 'live', seq: 1, time: now, topic: 'run.heartbeat', payload: { intervalMs: 60_000 } }]);
    await log.append([e('dead', 1, 4_000, 'run.heartbeat', { intervalMs: 1_000 }), e('dead', 2, 4_100, 'job.completed')]);
    const runs = Object.fromEntries((await log.runs()).map((r) => [r.runId, r]));
    expect(runs.done).toMatchObject({
      flow: 'pipeline',
      status: 'failed',
      jobs: { completed: 2, failed: 2, cancelled: 1, dropped: 1 },
      overflows: 6,
      endTime: at(2_500),
      durationMs: 2_500,
      heartbeatMs: 1_000,
      recordingFailed: false,
      count: 11,
    });
    expect(runs.clean).toMatchObject({
      flow: 'other',
      status: 'completed',
      jobs: { completed: 1, failed: 0, cancelled: 0, dropped: 0 },
      endTime: at(3_200),
      durationMs: 200,
    });
    expect(runs.live).toMatchObject({ status: 'running', endTime: undefined, flow: undefined });
    expect(runs.dead).toMatchObject({ status: 'interrupted', endTime: undefined, durationMs: 100 });
    // Loss shows against the recorded counts of heartbeats and run.stopped, across batches.
    await log.append([e('lossy', 1, 5_000, 'run.started'), e('lossy', 2, 5_010, 'job.completed')]);
    await log.append([e('lossy', 4, 5_030, 'run.heartbeat', { intervalMs: 1_000, recorded: 4 }), e('lossy', 5, 5_040, 'job.completed')]);
    expect((await log.runs()).find((r) => r.runId === 'lossy')?.lost).toBe(1);
    await log.append([e('lossy', 8, 5_070, 'run.stopped', { recorded: 8 })]);
    expect((await log.runs()).find((r) => r.runId === 'lossy')).toMatchObject({ lost: 3, status: 'completed' });
    await log.append([e('whole', 1, 6_000, 'job.completed'), e('whole', 2, 6_010, 'run.stopped', { recorded: 2 })]);
    expect((await log.runs()).find((r) => r.runId === 'whole')?.lost).toBe(0);
    expect(runs.done?.lost).toBe(0);
    // A replayed batch is ignored: nothing counts twice.
    await log.append([e('done', 8, 70, 'job.completed', { jobId: 'j5' })]);
    expect((await log.runs()).find((r) => r.runId === 'done')?.jobs.completed).toBe(2);
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

  it('prune removes runs by size (oldest first), by id, and never the runs in `except`', async () => {
    const payload = { text: 'x'.repeat(1_000) };
    for (const [i, id] of ['r1', 'r2', 'r3', 'r4'].entries())
      await log.append([ev(id, 1, `2025-0${i + 1}-01T00:00:00.000Z`, payload), ev(id, 2, `2025-0${i + 1}-01T00:00:01.000Z`, payload)]);
    const runs = await log.runs();
    const each = runs[0]!.bytes;
    // Two events of ~1 kB each, counted the same way by every log.
    expect(each).toBe(
      2 * ('r1'.length + '2025-01-01T00:00:00.000Z'.length + 'job.odd'.length + JSON.stringify(payload).length + 16) +
        ('job.even'.length - 'job.odd'.length),
    );
    expect(runs.every((r) => r.bytes === each)).toBe(true);
    // Room for two runs and a half: the two oldest go, but r1 is kept, so r2 and r3 go.
    expect(await log.prune({ maxBytes: Math.floor(2.5 * each), except: ['r1'] })).toEqual({ runs: 2, events: 4 });
    expect((await log.runs()).map((r) => r.runId)).toEqual(['r4', 'r1']);
    expect(await log.prune({ runIds: ['r4', 'nope'] })).toEqual({ runs: 1, events: 2 });
    expect(await log.prune({ keepRuns: 0, except: ['r1'] })).toEqual({ runs: 0, events: 0 });
    expect((await log.runs()).map((r) => r.runId)).toEqual(['r1']);
    await expect(log.prune({ runIds: 'r1' as unknown as string[] })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
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

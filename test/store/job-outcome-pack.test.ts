/**
 * Packed completed jobs: the stored form gives back every job's seq, time, id, flow, worker and
 * duration (fast-check), reading after a seq inside a pack gives exactly the later jobs, and the
 * durable sink counts a pack as its jobs and hands a log that does not store packs the events.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/bus/index.ts';
import { DurableSink, JobOutcomePack, MemoryEventLog } from '../../src/store/index.ts';
import { decodeRows, encodeEvents } from '../../src/store/sqlite-codec.ts';

interface Job {
  gap: number;
  timeStep: number;
  serial: number;
  given: string;
  flowId: string;
  workerId: string;
  durationMs: number;
}

const job: fc.Arbitrary<Job> = fc.record({
  gap: fc.integer({ min: 1, max: 5 }),
  timeStep: fc.integer({ min: 0, max: 3 }),
  // 0: an id given at post time (stored as text); otherwise the runtime's serial.
  serial: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 40 })),
  given: fc.string({ minLength: 1, maxLength: 12 }),
  flowId: fc.constantFrom('pipeline', 'enrich', 'fl\u00f6w'),
  workerId: fc.constantFrom('w-1', 'w-2', 'w-3'),
  durationMs: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 1e6, noNaN: true })),
});

function build(jobs: readonly Job[], runId = 'run-1'): { pack: JobOutcomePack; expected: BusEvent[] } {
  const pack = new JobOutcomePack('job-x-');
  const expected: BusEvent[] = [];
  let seq = 10;
  let time = Date.parse('2026-12-01T10:00:00.000Z');
  for (const j of jobs) {
    seq += j.gap;
    time += j.timeStep;
    const jobId = j.serial > 0 ? `job-x-${j.serial}` : j.given;
    pack.add(seq, time, jobId, j.serial, j.flowId, j.workerId, j.durationMs);
    expected.push({
      seq,
      time: new Date(time).toISOString(),
      runId,
      topic: 'job.completed',
      payload: { jobId, flowId: j.flowId, workerId: j.workerId, status: 'completed', durationMs: j.durationMs },
    });
  }
  return { pack, expected };
}

describe('JobOutcomePack', () => {
  it('gives back every job from its stored JSON, in seq order', () => {
    fc.assert(
      fc.property(fc.array(job, { minLength: 1, maxLength: 400 }), (jobs) => {
        const { pack, expected } = build(jobs);
        expect(pack.count).toBe(jobs.length);
        expect(pack.firstSeq).toBe(expected[0]?.seq);
        expect(pack.lastSeq).toBe(expected.at(-1)?.seq);
        expect(JobOutcomePack.expand(JSON.stringify(pack), 'run-1')).toEqual(expected);
        expect(pack.toEvents('run-1')).toEqual(expected);
      }),
    );
  });

  it('reads after a seq inside the pack: exactly the later jobs', () => {
    fc.assert(
      fc.property(fc.array(job, { minLength: 1, maxLength: 200 }), fc.nat(), (jobs, pick) => {
        const { pack, expected } = build(jobs);
        const after = (expected[pick % expected.length] as BusEvent).seq;
        expect(JobOutcomePack.expand(JSON.stringify(pack), 'run-1', after)).toEqual(expected.filter((e) => e.seq > after));
      }),
    );
  });

  it('stores thousands of runtime jobs in a few bytes each', () => {
    const { pack } = build(
      Array.from({ length: 4096 }, (_, i) => ({
        gap: 1,
        timeStep: i % 50 === 0 ? 1 : 0,
        serial: i + 1,
        given: '',
        flowId: 'pipeline',
        workerId: 'w-1',
        durationMs: i % 7,
      })),
    );
    expect(JSON.stringify(pack).length / 4096).toBeLessThan(6);
  });

  it('refuses text that is not a pack, naming it', () => {
    expect(() => JobOutcomePack.expand('{"jobId":"j1"}', 'run-1')).toThrow(
      /Expected a packed job.completed row \(version 1\), got \{"jobId":"j1"\}/,
    );
    expect(() =>
      JobOutcomePack.expand(
        '{"v":1,"n":3,"seqs":[1,2],"times":[0,3],"idNums":[0,3],"ids":[],"flow":[0,3],"worker":[0,3],"durations":[0,0,0]}',
        'r',
      ),
    ).toThrow(TypeError);
  });

  it('decodes stored rows in seq order, expanding a packed row and honouring the limit', () => {
    const { pack, expected } = build(
      Array.from({ length: 5 }, () => ({ gap: 1, timeStep: 0, serial: 7, given: '', flowId: 'f', workerId: 'w', durationMs: 1 })),
    );
    const { columns } = encodeEvents([{ runId: 'run-1', seq: 20, time: '2026-12-01T10:00:01.000Z', topic: 'run.stopped', payload: {} }]);
    const rows = [
      { run_id: 'run-1', seq: pack.lastSeq, time: expected.at(-1)!.time, topic: 'job.completed', payload: JSON.stringify(pack), packed: 1 },
      { run_id: 'run-1', seq: 20, time: columns.times[0]!, topic: 'run.stopped', payload: columns.payloads[0]!, packed: 0 },
    ];
    expect(decodeRows(rows, 0).map((e) => e.seq)).toEqual([11, 12, 13, 14, 15, 20]);
    expect(decodeRows(rows, 12, 2).map((e) => e.seq)).toEqual([13, 14]);
  });
});

describe('a pack in the durable sink', () => {
  it('counts as its jobs, and a log that does not store packs gets the events they stand for', async () => {
    const log = new MemoryEventLog();
    const sink = new DurableSink({ log, batchSize: 1, flushIntervalMs: 0 });
    const { pack, expected } = build(
      Array.from({ length: 5 }, (_, i) => ({ gap: 1, timeStep: 0, serial: i + 1, given: '', flowId: 'f', workerId: 'w', durationMs: i })),
    );
    sink.onEvent({ runId: 'run-1', seq: 1, time: expected[0]!.time, topic: 'run.started', payload: {} });
    sink.onEvent(pack.toEvent('run-1'));
    expect(sink.stats().accepted).toBe(6);
    expect(sink.uncommitted().map((e) => e.seq)).toEqual([1, 11, 12, 13, 14, 15]);
    expect(await sink.close({ timeout: 5_000 })).toMatchObject({ flushed: true, pending: 0 });
    expect(sink.stats()).toMatchObject({ accepted: 6, committed: 6, pending: 0 });
    const stored = await log.since('run-1', 0);
    expect(stored.slice(1)).toEqual(expected);
    const [run] = await log.runs();
    expect(run).toMatchObject({ count: 6, jobs: { completed: 5 } });
  });
});

/**
 * The packed batch the SQLite writer thread receives: unpacking gives back every event's run id,
 * seq, time, topic and payload, in order, whatever repeats (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/bus/index.ts';
import { packEvents, unpackEvents } from '../../src/store/sqlite-codec.ts';

const event: fc.Arbitrary<BusEvent> = fc.record({
  runId: fc.constantFrom('run-a', 'run-b', 'r\u00e9sum\u00e9', 'x'),
  seq: fc.integer({ min: 1, max: 2 ** 40 }),
  time: fc
    .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  topic: fc.constantFrom('job.completed', 'job.failed', 'run.heartbeat', 'a.b.c'),
  payload: fc.jsonValue(),
});

describe('packEvents / unpackEvents', () => {
  it('round-trips every field of every event, in order', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 300 }), (events) => {
        const columns = unpackEvents(packEvents(events));
        expect(columns.runIds).toEqual(events.map((e) => e.runId));
        expect(columns.seqs).toEqual(events.map((e) => e.seq));
        expect(columns.times).toEqual(events.map((e) => e.time));
        expect(columns.topics).toEqual(events.map((e) => e.topic));
        expect(columns.payloads).toEqual(events.map((e) => e.payload));
      }),
    );
  });

  it('sends each distinct run id, time and topic once', () => {
    const events = Array.from(
      { length: 1_000 },
      (_, i): BusEvent => ({
        runId: 'r',
        seq: i + 1,
        time: '2025-01-01T00:00:00.000Z',
        topic: i % 2 ? 'job.completed' : 'job.failed',
        payload: { i },
      }),
    );
    expect(packEvents(events).strings).toEqual(['r', '2025-01-01T00:00:00.000Z', 'job.failed', 'job.completed']);
  });
});

/**
 * The thread protocol's codec round-trips (fast-check): a batch written by `BatchEncoder`, cloned
 * as postMessage clones it, reads back through `BatchDecoder` as the same activations (items by
 * slot, jobs with their metadata and data, which jobs each item belongs to, state, message,
 * attempt); the effects written by `OpWriter` read back through `OpReader` in order, with each
 * activation's error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchDecoder, BatchEncoder, OpReader, OpWriter, type OpVisitor } from '../../src/pool/batch-codec.ts';
import type { SerializedError } from '../../src/pool/protocol.ts';

interface Job {
  jobId: string;
  metadata: Record<string, unknown> | undefined;
  data: Record<string, unknown> | undefined;
}

interface Activation {
  items: unknown[][];
  jobs: Job[];
  itemJobs: Record<string, number[][]> | undefined;
  state: Record<string, unknown>;
  message: unknown;
  attempt: number;
}

const states = [{}, { n: 1 }, { seen: ['a'], total: 3 }];
const record = fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), { nil: undefined });

function batch(slots: string[]): fc.Arbitrary<Activation[]> {
  const activation = fc
    .record({
      items: fc.tuple(...slots.map(() => fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }))),
      jobs: fc.array(fc.record({ jobId: fc.string({ minLength: 1, maxLength: 8 }), metadata: record, data: record }), {
        minLength: 1,
        maxLength: 3,
      }),
      state: fc.nat({ max: states.length - 1 }),
      message: fc.option(fc.jsonValue({ maxDepth: 1 }), { nil: undefined }),
      attempt: fc.integer({ min: 1, max: 3 }),
      pick: fc.nat(),
    })
    .map(
      ({ items, jobs, state, message, attempt, pick }): Activation => ({
        items,
        jobs,
        // An activation of several jobs says which of them each item belongs to.
        itemJobs:
          jobs.length === 1
            ? undefined
            : Object.fromEntries(slots.map((name, s) => [name, items[s]!.map((_, k) => [(pick + k) % jobs.length])])),
        state: states[state]!,
        message,
        attempt,
      }),
    );
  return fc.array(activation, { minLength: 1, maxLength: 12 });
}

const header = { moduleUrl: 'file:///flow.ts', params: { p: 1 }, flowKey: 'k', flowId: 'f', routineId: 'r', workerId: 'w' };

/** An empty metadata or data object travels as absent; compare what logic would see. */
const orEmpty = (value: Record<string, unknown> | undefined): Record<string, unknown> => value ?? {};

describe('BatchEncoder / BatchDecoder', () => {
  it('round-trips every activation through a structured clone', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.constantFrom('in', 'left', 'right'), { minLength: 1, maxLength: 3 })
          .chain((slots) => fc.tuple(fc.constant(slots), batch(slots))),
        ([slots, activations]) => {
          const encoder = new BatchEncoder(slots);
          for (const a of activations) {
            encoder.activation(a.state, a.message, a.attempt);
            a.items.forEach((list, s) => {
              for (const item of list) encoder.item(s, item);
            });
            for (const job of a.jobs) encoder.job(job.jobId, job.metadata, job.data);
            if (a.itemJobs !== undefined) encoder.itemJobs(a.itemJobs);
          }
          const task = structuredClone(encoder.task(header, { startSlot: 3 }));
          expect(task).toMatchObject({ ...header, kind: 'batch', count: activations.length, slots, startSlot: 3 });
          const decoder = new BatchDecoder(task);
          activations.forEach((a, i) => {
            const d = decoder.next(i);
            expect(d.slots).toEqual(Object.fromEntries(slots.map((name, s) => [name, a.items[s]])));
            expect(d.jobs.map((j) => [j.jobId, orEmpty(j.metadata), orEmpty(j.data)])).toEqual(
              a.jobs.map((j) => [j.jobId, orEmpty(j.metadata), orEmpty(j.data)]),
            );
            expect(d.itemJobs).toEqual(a.itemJobs);
            expect(d.state).toEqual(a.state);
            expect(d.message).toEqual(a.message);
            expect(d.attempt).toBe(a.attempt);
          });
        },
      ),
    );
  });

  it('leaves out the columns that would hold only the common value', () => {
    const encoder = new BatchEncoder(['in']);
    for (let i = 0; i < 3; i++) {
      encoder.activation(states[0]!, undefined, 1);
      encoder.item(0, i);
      encoder.job(`j${i}`);
    }
    expect(Object.keys(encoder.task(header, undefined)).sort()).toEqual([
      'count',
      'flowId',
      'flowKey',
      'items',
      'jobIds',
      'kind',
      'moduleUrl',
      'params',
      'routineId',
      'slots',
      'states',
      'workerId',
    ]);
  });
});

type Op =
  | ['emit', string, unknown, number]
  | ['state', Record<string, unknown>]
  | ['jobData', number, Record<string, unknown>]
  | ['failJob', number, SerializedError];

const error: fc.Arbitrary<SerializedError> = fc.record({
  name: fc.constantFrom('Error', 'SluiceError'),
  message: fc.string({ maxLength: 10 }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(fc.constant('emit' as const), fc.constantFrom('out', 'done'), fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -1, max: 2 })),
  fc.tuple(fc.constant('state' as const), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 })),
  fc.tuple(fc.constant('jobData' as const), fc.nat({ max: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 })),
  fc.tuple(fc.constant('failJob' as const), fc.nat({ max: 2 }), error),
);

const collect: OpVisitor<Op[]> = {
  emit: (at, event, data, job) => void at.push(['emit', event, data, job]),
  state: (at, patch) => void at.push(['state', patch]),
  jobData: (at, job, data) => void at.push(['jobData', job, data]),
  failJob: (at, job, e) => void at.push(['failJob', job, e]),
};

describe('OpWriter / OpReader', () => {
  it("round-trips every activation's effects, in order, and its error", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ops: fc.array(op, { maxLength: 6 }), error: fc.option(error, { nil: undefined }) }), {
          minLength: 1,
          maxLength: 10,
        }),
        (activations) => {
          const writer = new OpWriter();
          activations.forEach((a, i) => {
            for (const o of a.ops) {
              if (o[0] === 'emit') writer.emit(o[1], o[2], o[3]);
              else if (o[0] === 'state') writer.state(o[1]);
              else if (o[0] === 'jobData') writer.jobData(o[1], o[2]);
              else writer.failJob(o[1], o[2]);
            }
            writer.end(i, a.error);
          });
          const result = structuredClone(writer.result(activations.length));
          if (activations.length === 1) expect(result.ends).toBeUndefined();
          const reader = new OpReader(result);
          activations.forEach((a, i) => {
            const seen: Op[] = [];
            reader.effects(i, seen, collect);
            expect(seen).toEqual(a.ops);
            expect(reader.error(i)).toEqual(a.error);
          });
        },
      ),
    );
  });

  it('moves on to the next activation when applying an effect throws', () => {
    const writer = new OpWriter();
    writer.emit('out', 1, -1);
    writer.emit('out', 2, -1);
    writer.end(0, undefined);
    writer.state({ n: 1 });
    writer.end(1, undefined);
    const reader = new OpReader(writer.result(2));
    const refusing: OpVisitor<Op[]> = {
      ...collect,
      emit: () => {
        throw new Error('slot full');
      },
    };
    expect(() => reader.effects(0, [], refusing)).toThrow('slot full');
    const seen: Op[] = [];
    reader.effects(1, seen, collect);
    expect(seen).toEqual([['state', { n: 1 }]]);
  });
});

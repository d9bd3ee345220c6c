/**
 * Property: for random DAGs (fan-out, fan-in, immediate and batchSize policies) and random post
 * sequences, every emitted item reaches every connected slot exactly once, no item is duplicated
 * or lost, each delivery carries the job that caused it, and every job completes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Flow, Runtime, batchSize, immediate, type JobContext } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

const kEvents = ['e0', 'e1'] as const;
const kSlots = ['a', 'b'] as const;

interface Edge {
  from: number;
  event: (typeof kEvents)[number];
  to: number;
  slot: (typeof kSlots)[number];
}

interface Spec {
  n: number;
  edges: Edge[];
  policies: Array<{ kind: 'immediate' } | { kind: 'batch'; size: number }>;
  posts: Array<{ routine: number; slot: (typeof kSlots)[number] }>;
}

const spec: fc.Arbitrary<Spec> = fc.integer({ min: 2, max: 7 }).chain((n) => {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  const edge = ([from, to]: [number, number]) =>
    fc
      .record({ event: fc.constantFrom(...kEvents), slot: fc.constantFrom(...kSlots), extra: fc.boolean() })
      .map(({ event, slot, extra }) => {
        const edges: Edge[] = [{ from, event, to, slot }];
        // Sometimes a second edge between the same pair (other event or other slot): fan-out to one routine.
        if (extra) edges.push({ from, event: event === 'e0' ? 'e1' : 'e0', to, slot: slot === 'a' ? 'b' : 'a' });
        return edges;
      });
  return fc.record({
    n: fc.constant(n),
    edges: fc
      .subarray(pairs)
      .chain((chosen) => (chosen.length === 0 ? fc.constant([]) : fc.tuple(...chosen.map(edge)).map((lists) => lists.flat()))),
    policies: fc.array(
      fc.oneof(
        fc.constant({ kind: 'immediate' as const }),
        fc.integer({ min: 2, max: 4 }).map((size) => ({ kind: 'batch' as const, size })),
      ),
      { minLength: n, maxLength: n },
    ),
    posts: fc.array(fc.record({ routine: fc.integer({ min: 0, max: n - 1 }), slot: fc.constantFrom(...kSlots) }), {
      minLength: 1,
      maxLength: 15,
    }),
  });
});

/** Every (routine, slot, data) the flow must deliver for an item `data` arriving at `routine.slot`. */
function expectedDeliveries(s: Spec, routine: number, slot: string, data: string, out: Map<string, number>): void {
  const key = `${routine}.${slot}|${data}`;
  out.set(key, (out.get(key) ?? 0) + 1);
  for (const event of kEvents) {
    const emitted = `${data}>${routine}.${event}`;
    for (const e of s.edges) if (e.from === routine && e.event === event) expectedDeliveries(s, e.to, e.slot, emitted, out);
  }
}

describe('routing (property)', () => {
  it('delivers every item to every connected slot exactly once and completes every job', async () => {
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const clock = new ManualClock();
        const runtime = new Runtime({ clock });
        const delivered = new Map<string, number>();
        const wrongJob: string[] = [];
        const flow = new Flow('dag');
        for (let i = 0; i < s.n; i++) {
          const p = s.policies[i] ?? { kind: 'immediate' };
          flow.addRoutine(
            makeRoutine({
              slots: kSlots.map((name) => [name, { maxQueueLength: 100_000 }] as [string, { maxQueueLength: number }]),
              events: [...kEvents],
              policy: p.kind === 'immediate' ? immediate() : batchSize(p.size, { timeoutMs: 10 }),
              logic: (_items, ctx) => {
                for (const slot of kSlots) {
                  for (const entry of ctx.entries(slot)) {
                    const data = entry.data as string;
                    const key = `${i}.${slot}|${data}`;
                    delivered.set(key, (delivered.get(key) ?? 0) + 1);
                    // The item's origin (post number) must be the job that carries it.
                    if (entry.job.metadata.post !== Number(data.split('>')[0]?.slice(1))) wrongJob.push(key);
                    for (const event of kEvents) ctx.emit(event, `${data}>${i}.${event}`, { job: entry.job });
                  }
                }
              },
            }),
            `r${i}`,
          );
        }
        for (const e of s.edges) flow.connect(`r${e.from}`, e.event, `r${e.to}`, e.slot);
        runtime.register(flow);

        const expected = new Map<string, number>();
        const jobs: JobContext[] = [];
        s.posts.forEach((p, k) => {
          const data = `p${k}`;
          jobs.push(runtime.post('dag', `r${p.routine}`, p.slot, data, { metadata: { post: k } })[1]);
          expectedDeliveries(s, p.routine, p.slot, data, expected);
        });
        // Drain, flushing partial batches on the manual clock until every job is done.
        for (let round = 0; round < 50 && runtime.stats().activeJobs > 0; round++) {
          await tick(1);
          clock.advance(10);
        }
        await tick(1);

        expect(wrongJob).toEqual([]);
        expect(Object.fromEntries(delivered)).toEqual(Object.fromEntries(expected));
        for (const count of delivered.values()) expect(count).toBe(1);
        expect(jobs.map((j) => j.status)).toEqual(jobs.map(() => 'completed'));
        expect(runtime.stats()).toMatchObject({ activeJobs: 0, queuedItems: 0 });
        const worker = runtime.listWorkers()[0];
        expect(worker?.counters).toMatchObject({
          jobsPosted: s.posts.length,
          jobsProcessed: s.posts.length,
          itemsDropped: 0,
          itemsDiscarded: 0,
        });
        for (const q of worker?.queueStatus() ?? []) {
          expect(q.counters.enqueued).toBe(q.counters.consumed);
          expect(q.counters.rejected).toBe(0);
        }
      }),
      { numRuns: 60 },
    );
  });
});

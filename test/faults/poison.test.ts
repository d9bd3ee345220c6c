/** Fault: poison items in batches run inline (a `batchSize` policy): innocents must not share their fate. */
import { describe, expect, it } from 'vitest';
import { Flow, Runtime, batchSize, type ErrorHandlerOptions } from '../../src/index.ts';
import { makeRoutine } from '../fixtures/routines.ts';

const kBad = new Set([7, 500, 1501, 2222, 3999]);

function poisonFlow(errorHandler: ErrorHandlerOptions | undefined, seen: number[], perItem = false) {
  const check = makeRoutine({
    events: ['out'],
    policy: batchSize(32, { timeoutMs: 1 }),
    logic: (items, ctx) => {
      if (perItem) {
        for (const { data, job } of ctx.entries('in')) {
          if (kBad.has(data as number)) ctx.failJob(job, new RangeError(`bad reading ${String(data)}`));
          else ctx.emit('out', data, { job });
        }
        return;
      }
      // Validate the whole batch first, as batch logic does: one bad item fails the activation.
      for (const x of items.in as number[]) if (kBad.has(x)) throw new RangeError(`bad reading ${x}`);
      for (const { data, job } of ctx.entries('in')) ctx.emit('out', data, { job });
    },
  });
  // The sink takes one item an activation while `check` emits up to 32: its slot applies
  // backpressure ('block') so a full slot never fails a batch (under RETRY that would re-emit it).
  const sink = makeRoutine({ slots: [['in', { overflow: 'block' }]], logic: (items) => void seen.push(...(items.in as number[])) });
  return new Flow('poison')
    .addRoutine(check, 'check', errorHandler === undefined ? {} : { errorHandler })
    .addRoutine(sink, 'sink')
    .pipe('check', 'sink');
}

async function run(errorHandler: ErrorHandlerOptions | undefined, perItem = false) {
  const runtime = new Runtime();
  const seen: number[] = [];
  runtime.register(poisonFlow(errorHandler, seen, perItem));
  const { posted } = await runtime.postAll(
    'poison',
    'check',
    'in',
    Array.from({ length: 4_000 }, (_, i) => i),
  );
  expect(posted).toBe(4_000);
  expect(await runtime.waitUntilAllJobsFinished({ timeout: 30_000 })).toBe(true);
  const counters = runtime.listWorkers()[0]?.counters;
  await runtime.close();
  return { seen, counters };
}

describe('a poison item fails alone (inline batches)', () => {
  it('5 bad items among 4,000 through batchSize(32) with RETRY: exactly 5 failed jobs, 3,995 completed, every good item delivered ' +
    'once', async () => {
    const { seen, counters } = await run({ strategy: 'retry', maxAttempts: 3, retryDelayMs: 1, jitter: 0 });
    expect(counters).toMatchObject({ jobsPosted: 4_000, jobsProcessed: 3_995, jobsFailed: 5 });
    expect(seen).toHaveLength(3_995);
    expect(new Set(seen).size).toBe(3_995);
    for (const bad of kBad) expect(seen).not.toContain(bad);
  }, 60_000);

  it('the same under STOP: the 5 culprits fail with SLUICE_ERR_ROUTINE_FAILED, the others complete', async () => {
    const { seen, counters } = await run(undefined);
    expect(counters).toMatchObject({ jobsProcessed: 3_995, jobsFailed: 5 });
    expect(seen).toHaveLength(3_995);
  }, 60_000);

  it("ctx.failJob fails one item's job without throwing for the whole batch: no split, no re-run", async () => {
    const { seen, counters } = await run(undefined, true);
    expect(counters).toMatchObject({ jobsProcessed: 3_995, jobsFailed: 5, activationErrors: 0 });
    expect(seen).toHaveLength(3_995);
  }, 60_000);
});

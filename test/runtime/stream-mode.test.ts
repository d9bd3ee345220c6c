/**
 * Stream mode: a whole iterable, async iterable or Node Readable through a flow as one job, items
 * not tracked one by one; a failed item is counted and the job goes on; the output read as an
 * async iterable or a Readable composes with stream.pipeline; backpressure from the reader reaches
 * the source; a throwing source, an abort and bad options end cleanly with coded errors.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import pipelineModule, { reading } from '../../flows/pipeline.ts';
import { Flow, Routine, Runtime, type SlotItems } from '../../src/index.ts';
import { ErrorCode, expectCode, tick } from '../fixtures/helpers.ts';
import { range, runProbe } from '../pool/helpers.ts';
import probe from '../fixtures/flows/pool-probe.ts';

function* readings(n: number): Iterable<unknown> {
  for (let i = 0; i < n; i++) yield reading(i);
}

/** Doubles numbers; a slot of 8 keeps the bound of what is in flight small. */
class Double extends Routine {
  constructor() {
    super();
    this.addSlot('in', { maxQueueLength: 8 });
    this.addEvent('out');
  }
  logic({ in: items }: SlotItems<{ in: number }>): void {
    for (const n of items) this.emit('out', n * 2);
  }
}

function small(): Runtime {
  const runtime = new Runtime({ heartbeatMs: 0 });
  runtime.register(new Flow('small').addRoutine(new Double(), 'a').addRoutine(new Double(), 'b').pipe('a', 'b'));
  return runtime;
}

describe('stream mode', () => {
  it('runs a whole iterable as one job: every item through every routine, the job completes once', async () => {
    await Runtime.with({ heartbeatMs: 0 }, async (runtime) => {
      runtime.register(pipelineModule);
      const worker = runtime.exec('pipeline');
      const run = runtime.stream('pipeline', 'source', 'in', readings(100_000));
      const result = await run.done();
      expect(result).toMatchObject({ status: 'completed', items: 100_000, failed: 0, firstError: undefined, jobId: run.job.jobId });
      expect(worker.getRoutineState('sink')?.count).toBe(100_000);
      expect(worker.counters).toMatchObject({ jobsPosted: 1, jobsProcessed: 1 });
      // Items were not tracked one by one: far fewer activations than items.
      expect(worker.counters.activations).toBeLessThan(100_000 / 10);
      expect(run.job.status).toBe('completed');
    });
  });

  it('takes async iterables and Node Readables, and an empty source completes at once', async () => {
    await Runtime.with({ heartbeatMs: 0 }, async (runtime) => {
      runtime.register(pipelineModule);
      const worker = runtime.exec('pipeline');
      async function* slow(): AsyncIterable<unknown> {
        for (let i = 0; i < 500; i++) {
          if (i % 100 === 0) await tick(1);
          yield reading(i);
        }
      }
      expect((await runtime.stream('pipeline', 'source', 'in', slow()).done()).items).toBe(500);
      expect((await runtime.stream('pipeline', 'source', 'in', Readable.from(readings(700))).done()).items).toBe(700);
      expect(await runtime.stream('pipeline', 'source', 'in', []).done()).toMatchObject({ status: 'completed', items: 0 });
      expect(worker.getRoutineState('sink')?.count).toBe(1200);
    });
  });

  it('counts a failed item and goes on; the job completes with the tally and the first error', async () => {
    await Runtime.with({ heartbeatMs: 0 }, async (runtime) => {
      runtime.register(pipelineModule);
      const worker = runtime.exec('pipeline');
      const items = [...readings(300)] as Array<Record<string, unknown>>;
      items[7] = { celsius: 'hot' };
      items[250] = { nothing: true };
      const result = await runtime.stream('pipeline', 'source', 'in', items).done();
      expect(result).toMatchObject({ status: 'completed', items: 300, failed: 2 });
      expect(result.firstError).toMatchObject({ routineId: 'source', code: ErrorCode.RoutineFailed });
      expect(result.firstError?.message).toContain('"hot"');
      expect(worker.getRoutineState('sink')?.count).toBe(298);
    });
  });

  it("reads a routine's output as an async iterable and as a Readable that composes with stream.pipeline", async () => {
    await Runtime.with({ heartbeatMs: 0 }, async (runtime) => {
      runtime.register(pipelineModule);
      runtime.exec('pipeline');
      const run = runtime.stream<{ fahrenheit: number }>('pipeline', 'source', 'in', readings(5000), {
        output: { routine: 'transform', event: 'converted' },
      });
      const seen: number[] = [];
      for await (const converted of run.output as AsyncIterable<{ fahrenheit: number }>) seen.push(converted.fahrenheit);
      expect(seen).toEqual([...readings(5000)].map((r) => (r as { celsius: number }).celsius * 1.8 + 32));
      const piped: unknown[] = [];
      const second = runtime.stream('pipeline', 'source', 'in', Readable.from(readings(3000)), {
        output: { routine: 'transform', event: 'converted' },
      });
      await pipeline(
        second.output?.readable() as Readable,
        new Writable({
          objectMode: true,
          write(chunk, _encoding, done) {
            piped.push(chunk);
            done();
          },
        }),
      );
      expect(piped).toHaveLength(3000);
      expect((await second.done()).status).toBe('completed');
    });
  });

  it('pauses the source while the reader lags: what is pulled stays within the buffers', async () => {
    const runtime = small();
    try {
      runtime.exec('small');
      let pulled = 0;
      function* counted(): Iterable<number> {
        for (let i = 0; i < 100_000; i++) {
          pulled++;
          yield i;
        }
      }
      const run = runtime.stream<number>('small', 'a', 'in', counted(), { output: { routine: 'b', event: 'out' }, highWaterMark: 16 });
      const reader = (run.output as AsyncIterable<number>)[Symbol.asyncIterator]();
      let consumed = 0;
      for (; consumed < 10; consumed++) await reader.next();
      await tick(20);
      // Two slots of 8, an activation's chunk each, and the output's 16: nothing more is pulled.
      expect(pulled - consumed).toBeLessThanOrEqual(16 + 8 + 8 + 8 + 8 + 1);
      const before = pulled;
      await tick(20);
      expect(pulled).toBe(before);
      for (;;) {
        const next = await reader.next();
        if (next.done === true) break;
        consumed++;
      }
      expect(consumed).toBe(100_000);
      expect((await run.done()).items).toBe(100_000);
    } finally {
      await runtime.close();
    }
  });

  it('a throwing source fails the job with its message; an abort cancels it, also while the source waits for room', async () => {
    const runtime = small();
    try {
      runtime.exec('small');
      function* broken(): Iterable<number> {
        yield 1;
        yield 2;
        throw new Error('the disk went away');
      }
      const failed = await runtime.stream('small', 'a', 'in', broken()).done();
      expect(failed).toMatchObject({ status: 'failed', items: 2, error: { code: ErrorCode.RoutineFailed } });
      expect(failed.error?.message).toContain('the disk went away');
      const controller = new AbortController();
      function* endless(): Iterable<number> {
        for (let i = 0; ; i++) yield i;
      }
      // A reader that never reads: the source stops at the output's mark and waits, until the abort.
      const run = runtime.stream('small', 'a', 'in', endless(), {
        output: { routine: 'b', event: 'out' },
        highWaterMark: 4,
        signal: controller.signal,
      });
      await tick(10);
      controller.abort(new Error('enough'));
      expect(await run.done()).toMatchObject({ status: 'cancelled', error: { code: ErrorCode.JobCancelled } });
    } finally {
      await runtime.close();
    }
  });

  it('runs pool routines in chunks on threads', async () => {
    const run = await runProbe({ mode: 'echo', placement: 'pool' }, [], { pool: { threads: 1 } }, true);
    try {
      const flowId = run.worker.flowId;
      const result = await run.runtime.stream(flowId, 'source', 'in', range(2000), { workerId: run.worker.workerId }).done();
      expect(result).toMatchObject({ status: 'completed', items: 2000, failed: 0 });
      const got = run.worker.getRoutineState('sink')?.got as Array<{ value: number; isMainThread: boolean }>;
      expect(got.map((g) => g.value).sort((a, b) => a - b)).toEqual(range(2000));
      expect(got.every((g) => !g.isMainThread)).toBe(true);
    } finally {
      await run.runtime.close();
    }
    expect(probe).toBeDefined();
  }, 60_000);

  it('refuses bad options and unknown targets with coded errors', async () => {
    const runtime = small();
    try {
      expectCode(() => runtime.stream('small', 'a', 'in', [1], { colour: 'red' } as never), ErrorCode.InvalidArgument);
      expectCode(() => runtime.stream('small', 'a', 'in', [1], { output: { routine: 'b', event: 'nope' } }), ErrorCode.UnknownEvent);
      expectCode(() => runtime.stream('small', 'a', 'nope', [1]), ErrorCode.UnknownSlot);
      expectCode(() => runtime.stream('small', 'a', 'in', [1], { highWaterMark: 0 }), ErrorCode.InvalidArgument);
      expectCode(() => runtime.stream('small', 'a', 'in', 42 as never), ErrorCode.InvalidArgument);
    } finally {
      await runtime.close();
    }
  });
});

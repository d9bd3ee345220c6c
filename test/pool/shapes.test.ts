import { describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.ts';
import shapes from '../fixtures/flows/pool-shapes.ts';
import { range } from './helpers.ts';

let counter = 0;

/** Posts 0..n-1 (metadata { i }) in one burst, waits, returns what the sink got, sorted. */
async function run(placement: 'inline' | 'pool', n: number): Promise<{ got: string[]; statuses: string[]; meanBatch: number }> {
  const runtime = new Runtime({ pool: { threads: 1, dispatchBatch: 16 } });
  const id = `shapes-${placement}-${++counter}`;
  runtime.register(shapes, { id, placement });
  const worker = runtime.exec(id);
  const jobs = range(n).map((i) => runtime.post(id, 'source', 'in', i, { workerId: worker.workerId, metadata: { i } })[1]);
  expect(await runtime.waitUntilAllJobsFinished({ timeout: 20_000 })).toBe(true);
  const got = ((worker.getRoutineState('sink')?.got as unknown[] | undefined) ?? []).map((g) => JSON.stringify(g)).sort();
  const meanBatch = runtime.stats().pool?.meanBatch ?? 0;
  await runtime.close({ timeout: 5_000 });
  return { got, statuses: jobs.map((job) => job.status), meanBatch };
}

describe('dispatch batches that mix activation shapes', () => {
  it('one item, two items of two jobs, two slots and policy messages cross threads as inline', async () => {
    const n = 48;
    const inline = await run('inline', n);
    const pooled = await run('pool', n);
    expect(pooled.statuses).toEqual(range(n).map(() => 'completed'));
    // Every item reached the sink twice (through pack and through mix), each with its own job.
    expect(pooled.got).toHaveLength(2 * n);
    expect(pooled.got.every((g) => (JSON.parse(g) as { own: boolean }).own)).toBe(true);
    expect(pooled.got).toEqual(inline.got);
    // The shapes really alternated inside dispatch batches (not one activation per batch).
    expect(pooled.meanBatch).toBeGreaterThan(1);
    const pack = pooled.got
      .map((g) => JSON.parse(g) as { kind: string; n: number; jobs: number; msg: string })
      .filter((g) => g.kind === 'pack');
    expect(new Set(pack.map((g) => `${g.msg}/${g.n}/${g.jobs}`))).toEqual(new Set(['one/1/1', 'two/2/2']));
    const mix = pooled.got
      .map((g) => JSON.parse(g) as { kind: string; msg: string; b: number[]; a: number })
      .filter((g) => g.kind === 'mix');
    expect(mix.filter((g) => g.msg === 'pair').every((g) => g.b.length === 1 && g.b[0] === g.a * 10)).toBe(true);
    expect(new Set(mix.map((g) => g.msg))).toEqual(new Set(['pair', 'two']));
  });
});

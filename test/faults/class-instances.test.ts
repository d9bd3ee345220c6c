/**
 * Fault: a class instance posted to a pool routine. Structured clone strips it to a plain object
 * (prototype, methods and #private fields lost). By default that is what arrives (documented in
 * docs/pool.md); with `rejectClassInstances` it is a coded error naming the class.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Runtime } from '../../src/index.ts';
import flowModule from './fixtures/pool-faults.ts';

class Reading {
  readonly #secret = 42;
  constructor(readonly celsius: number) {}
  get fahrenheit(): number {
    return this.celsius * 1.8 + 32 + this.#secret * 0;
  }
}

const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close({ timeout: 2_000 });
});

function start(rejectClassInstances: boolean): Runtime {
  const runtime = new Runtime({ pool: { threads: 1, rejectClassInstances } });
  runtimes.push(runtime);
  runtime.register(flowModule, { id: 'faults', mode: 'none', poison: [], retry: false, spinMs: 0 });
  return runtime;
}

describe('class instances crossing threads', () => {
  it('by default a class instance arrives as a plain object: its prototype and #private fields are gone', async () => {
    const runtime = start(false);
    const [, job] = runtime.post('faults', 'work', 'in', new Reading(21));
    await runtime.waitForJob(job.jobId, { timeout: 10_000 });
    expect(job.status).toBe('completed');
    expect(job.data.out).toEqual({ plain: true, keys: ['celsius'] });
  });

  it(
    'with rejectClassInstances the post fails with SLUICE_ERR_NOT_CLONABLE naming the routine, slot and class; plain data and ' +
      'built-ins pass',
    async () => {
      const runtime = start(true);
      const [, bad] = runtime.post('faults', 'work', 'in', { at: new Date(0), reading: new Reading(21) });
      const [, good] = runtime.post('faults', 'work', 'in', { at: new Date(0), tags: new Set(['a']), celsius: 21 });
      expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
      expect(bad.status).toBe('failed');
      expect(bad.error?.code).toBe(ErrorCode.NotClonable);
      expect(bad.error?.message).toMatch(/Routine "work" .*slot "in" .*items\[0\]\.reading is an instance of Reading/);
      expect(good.status).toBe('completed');
      expect(() => new Runtime({ pool: { rejectClassInstances: 'yes' as never } })).toThrow(/rejectClassInstances/);
    },
  );
});

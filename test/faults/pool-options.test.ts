/** Fault: bad pool options. Every one is refused at `new Runtime()` with a coded SluiceError naming the option. */
import { describe, expect, it } from 'vitest';
import { ErrorCode, Runtime, isSluiceError } from '../../src/index.ts';
import type { ThreadPoolOptions } from '../../src/entry/pool.ts';

const kBad: Array<[string, ThreadPoolOptions, string]> = [
  ['threads > maxThreads', { threads: 3, maxThreads: 2 }, '`threads` (3) to be <= `maxThreads` (2)'],
  ['threads 0', { threads: 0 }, '`threads`'],
  ['maxThreads 1.5', { maxThreads: 1.5 }, '`maxThreads`'],
  ['dispatchBatch 0', { dispatchBatch: 0 }, '`dispatchBatch`'],
  ['idleTimeout -1', { idleTimeout: -1 }, '`idleTimeout`'],
  ['flushMs NaN', { flushMs: Number.NaN }, '`flushMs`'],
  ['activationTimeoutMs Infinity', { activationTimeoutMs: Number.POSITIVE_INFINITY }, '`activationTimeoutMs`'],
  ['autoSamples 0', { autoSamples: 0 }, '`autoSamples`'],
  ['autoThresholdUs -1', { autoThresholdUs: -1 }, '`autoThresholdUs`'],
  ['resourceLimits 5', { resourceLimits: 5 as never }, '`resourceLimits`'],
  ['piscina {}', { piscina: {} as never }, '`piscina`'],
  ['rejectClassInstances "yes"', { rejectClassInstances: 'yes' as never }, '`rejectClassInstances`'],
  ['an unknown key', { treads: 2 } as never, '`pool options.treads`'],
];

describe('pool option errors are coded', () => {
  for (const [what, pool, names] of kBad) {
    it(`${what}: SLUICE_ERR_INVALID_ARGUMENT naming it`, () => {
      let thrown: unknown;
      try {
        new Runtime({ pool });
      } catch (error) {
        thrown = error;
      }
      expect(isSluiceError(thrown), String(thrown)).toBe(true);
      expect((thrown as { code: string }).code).toBe(ErrorCode.InvalidArgument);
      expect((thrown as Error).message).toContain(names);
    });
  }
});

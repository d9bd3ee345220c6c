import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.ts';
import { type BreakerPermit, SluiceBreaker } from '../../src/resilience/index.ts';

type Op =
  | { kind: 'acquire' }
  | { kind: 'release'; index: number; success: boolean }
  | { kind: 'cancel'; index: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ kind: 'acquire' as const }),
  fc.record({ kind: fc.constant('release' as const), index: fc.nat(), success: fc.boolean() }),
  fc.record({ kind: fc.constant('cancel' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150 }) }),
);

describe('SluiceBreaker invariants under any interleaving of calls, results and time', () => {
  it('never lets a call through while open before its delay, and never more than one probe at a time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 200 }), (threshold, ops) => {
        const clock = new ManualClock();
        const breaker = new SluiceBreaker('b', { threshold, halfOpenAfterMs: 100, clock });
        const outstanding: BreakerPermit[] = [];
        for (const step of ops) {
          if (step.kind === 'advance') clock.advance(step.ms);
          else if (step.kind === 'acquire') {
            const before = breaker.snapshot();
            const lease = breaker.tryAcquire();
            if (before.state === 'open' && clock.now() < (before.halfOpenAt ?? 0)) expect(lease.allowed).toBe(false);
            if (before.state === 'closed') expect(lease.allowed).toBe(true);
            if (lease.allowed) outstanding.push(lease);
          } else if (outstanding.length > 0) {
            const [permit] = outstanding.splice(step.index % outstanding.length, 1) as [BreakerPermit];
            if (step.kind === 'release') permit.release(step.success);
            else permit.cancel();
          }
          if (breaker.state === 'half-open') expect(outstanding.filter((p) => p.probe).length).toBeLessThanOrEqual(1);
          const { calls, successes, failures, stale } = breaker.counters();
          expect(successes + failures).toBe(calls - outstanding.length);
          expect(stale).toBeLessThanOrEqual(successes + failures);
        }
      }),
    );
  });

  it('a consecutive breaker opens exactly when `threshold` failures in a row were released while closed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { maxLength: 40 }), (threshold, results) => {
        const breaker = new SluiceBreaker('b', { threshold, clock: new ManualClock() });
        let run = 0;
        for (const success of results) {
          const lease = breaker.tryAcquire();
          if (!lease.allowed) break;
          lease.release(success);
          run = success ? 0 : run + 1;
          expect(breaker.state).toBe(run >= threshold ? 'open' : 'closed');
        }
      }),
    );
  });
});

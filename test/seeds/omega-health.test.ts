/** omega-runtime's health: failure threshold, recovery timeout, wall-clock lastCheck, user checks on the runtime. */
import { describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { tick } from '../fixtures/helpers.ts';

describe('health like omega', () => {
  it(
    'a user check on the runtime: one failure degrades nothing, failureThreshold (3) failures in a row make the runtime degraded, it ' +
      'is rechecked after recoveryTimeoutMs and recovers',
    async () => {
      const clock = new ManualClock(10_000);
      const runtime = new Runtime({ clock, healthIntervalMs: 1_000, heartbeatMs: 0 });
      let up = true;
      let calls = 0;
      const check = runtime.addHealthCheck(
        'postgres',
        () => {
          calls++;
          return up ? { status: 'healthy' } : { status: 'unhealthy', detail: 'connection refused' };
        },
        { recoveryTimeoutMs: 5_000 },
      );
      await runtime.start();
      await tick();
      expect(runtime.health().subsystems.postgres).toMatchObject({ status: 'healthy', failureThreshold: 3, lastCheckAt: 10_000 });
      expect(new Date(runtime.health().subsystems.postgres!.lastCheckTime!).getTime()).toBeGreaterThan(Date.now() - 60_000);
      up = false;
      clock.advance(1_000);
      await tick();
      expect(runtime.status).toBe('running');
      expect(runtime.health().subsystems.postgres).toMatchObject({ status: 'healthy', consecutiveErrors: 1 });
      expect(runtime.health().subsystems.postgres?.detail).toContain('1 of 3 failed checks');
      clock.advance(1_000);
      await tick();
      expect(runtime.status).toBe('running');
      clock.advance(1_000);
      await tick();
      expect(runtime.health().subsystems.postgres).toMatchObject({
        status: 'unhealthy',
        consecutiveErrors: 3,
        detail: 'connection refused',
      });
      expect(runtime.status).toBe('degraded');
      // Unhealthy: the next check waits the recovery timeout, not the interval.
      up = true;
      const before = calls;
      clock.advance(4_999);
      await tick();
      expect(calls).toBe(before);
      expect(runtime.status).toBe('degraded');
      clock.advance(1);
      await tick();
      expect(calls).toBe(before + 1);
      expect(runtime.health().subsystems.postgres?.status).toBe('healthy');
      expect(runtime.status).toBe('running');
      check.dispose();
      expect(runtime.health().subsystems.postgres).toBeUndefined();
      await runtime.close();
    },
  );
});

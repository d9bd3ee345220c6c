import { describe, expect, it, vi } from 'vitest';
import { ErrorCode, ManualClock } from '../../src/core/index.ts';
import { type HealthChange, type HealthReport, HealthRegistry, type HealthStatus, worstStatus } from '../../src/resilience/index.ts';
import { deferred, tick, thrown } from '../fixtures/helpers.ts';

function changes(health: HealthRegistry): HealthChange[] {
  const seen: HealthChange[] = [];
  health.onChange((c) => seen.push(c));
  return seen;
}

describe('health aggregation', () => {
  it('is the worst known status; unknown is not failing', () => {
    expect(worstStatus([])).toBe('unknown');
    expect(worstStatus(['unknown', 'unknown'])).toBe('unknown');
    expect(worstStatus(['unknown', 'healthy'])).toBe('healthy');
    expect(worstStatus(['healthy', 'degraded', 'unknown'])).toBe('degraded');
    expect(worstStatus(['degraded', 'unhealthy', 'healthy'])).toBe('unhealthy');
  });

  it('aggregates pushed statuses in the snapshot, with uptime and per-subsystem facts', () => {
    const clock = new ManualClock(1_000);
    const health = new HealthRegistry({ clock });
    expect(health.snapshot()).toEqual({ status: 'unknown', at: 1_000, uptimeMs: 0, subsystems: {} });
    health.report('pool', 'healthy');
    health.report('bus', 'unknown');
    clock.advance(500);
    health.report('store', 'degraded', 'SQLite unavailable; events buffered');
    expect(health.status).toBe('degraded');
    clock.advance(250);
    const snapshot = health.snapshot();
    expect(snapshot).toMatchObject({ status: 'degraded', at: 1_750, uptimeMs: 750 });
    expect(snapshot.subsystems.store).toEqual({
      name: 'store',
      status: 'degraded',
      detail: 'SQLite unavailable; events buffered',
      mode: 'push',
      errorCount: 0,
      consecutiveErrors: 0,
      checks: 1,
      registeredAt: 1_500,
      uptimeMs: 250,
      changedAt: 1_500,
      lastCheckAt: 1_500,
      lastCheckTime: expect.any(String),
    });
    health.report('store', 'unhealthy');
    health.report('store', 'unhealthy');
    expect(health.snapshot().subsystems.store).toMatchObject({ status: 'unhealthy', errorCount: 2, consecutiveErrors: 2 });
    expect(health.status).toBe('unhealthy');
  });

  it('announces each status change with the overall status before and after, and removal as unknown', () => {
    const health = new HealthRegistry({ clock: new ManualClock() });
    const seen = changes(health);
    health.report('pool', 'healthy');
    health.report('pool', 'healthy', 'same status, new detail');
    health.report('store', 'unhealthy', 'disk full');
    health.report('store', 'healthy');
    expect(health.remove('store')).toBe(true);
    expect(health.remove('store')).toBe(false);
    expect(seen.map((c) => `${c.subsystem}:${c.from}->${c.to} overall ${c.previousStatus}->${c.status}`)).toEqual([
      'pool:unknown->healthy overall unknown->healthy',
      'store:unknown->unhealthy overall healthy->unhealthy',
      'store:unhealthy->healthy overall unhealthy->healthy',
      'store:healthy->unknown overall healthy->healthy',
    ]);
    expect(seen[1]).toMatchObject({ detail: 'disk full' });
    expect(Object.keys(health.snapshot().subsystems)).toEqual(['pool']);
  });

  it('snapshots are copies', () => {
    const health = new HealthRegistry({ clock: new ManualClock() });
    health.report('pool', 'healthy');
    const snapshot = health.snapshot();
    (snapshot.subsystems.pool as { status: HealthStatus }).status = 'unhealthy';
    expect(health.status).toBe('healthy');
  });
});

describe('health checks', () => {
  it('run at start, then every interval after the previous one settled, on the injected clock', () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const check = vi.fn((): HealthReport => ({ status: 'healthy' }));
    health.register('pool', check, { intervalMs: 1_000 });
    expect(health.snapshot().subsystems.pool?.status).toBe('unknown');
    expect(check).not.toHaveBeenCalled();
    health.start();
    health.start();
    expect(check).toHaveBeenCalledTimes(1);
    expect(health.snapshot().subsystems.pool).toMatchObject({ status: 'healthy', mode: 'check', checks: 1, lastCheckAt: 0 });
    expect(clock.pendingTimers).toBe(1);
    clock.advance(999);
    expect(check).toHaveBeenCalledTimes(1);
    clock.advance(1);
    expect(check).toHaveBeenCalledTimes(2);
    clock.advance(3_000);
    expect(check).toHaveBeenCalledTimes(5);
    expect(health.snapshot().subsystems.pool?.lastCheckAt).toBe(4_000);
    expect(clock.pendingTimers).toBe(1);
  });

  it('never overlap: a slow async check is not started again while it runs', async () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock, timeoutMs: 10_000 });
    const pending = deferred<HealthReport>();
    const check = vi.fn(() => pending.promise);
    health.register('store', check, { intervalMs: 100 });
    health.start();
    clock.advance(5_000);
    await tick(1);
    expect(check).toHaveBeenCalledTimes(1);
    pending.resolve({ status: 'degraded', detail: 'behind' });
    await tick(1);
    expect(health.snapshot().subsystems.store).toMatchObject({ status: 'degraded', detail: 'behind', lastCheckAt: 5_000 });
    clock.advance(100);
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('a check that hangs past its timeout is unhealthy, and is not called again until it settles', async () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const seen = changes(health);
    let hanging = deferred<HealthReport>();
    const check = vi.fn(() => hanging.promise);
    health.register('governor', check, { intervalMs: 1_000, timeoutMs: 200, failureThreshold: 1 });
    health.start();
    clock.advance(199);
    expect(health.snapshot().subsystems.governor?.status).toBe('unknown');
    clock.advance(1);
    const after = health.snapshot().subsystems.governor;
    expect(after).toMatchObject({ status: 'unhealthy', errorCount: 1, lastCheckAt: 200 });
    expect(after?.lastError?.code).toBe(ErrorCode.HealthCheckFailed);
    expect(after?.lastError?.message).toBe('Health check of "governor" did not settle within 200 ms');
    expect(seen.at(-1)).toMatchObject({ subsystem: 'governor', to: 'unhealthy', status: 'unhealthy' });

    clock.advance(1_000);
    expect(check).toHaveBeenCalledTimes(1);
    expect(health.snapshot().subsystems.governor).toMatchObject({ status: 'unhealthy', errorCount: 2, consecutiveErrors: 2 });
    expect(health.snapshot().subsystems.governor?.detail).toContain('still running');

    hanging.resolve({ status: 'healthy' });
    await tick(1);
    expect(health.snapshot().subsystems.governor?.status).toBe('unhealthy'); // a late result is dropped
    hanging = deferred<HealthReport>();
    hanging.resolve({ status: 'healthy' });
    clock.advance(1_000);
    await tick(1);
    expect(check).toHaveBeenCalledTimes(2);
    expect(health.snapshot().subsystems.governor).toMatchObject({ status: 'healthy', consecutiveErrors: 0, errorCount: 2 });
    expect(health.status).toBe('healthy');
  });

  it('a check that throws, rejects or returns junk is unhealthy; recovery makes it healthy again', async () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const results: Array<() => HealthReport | Promise<HealthReport>> = [
      () => {
        throw new Error('pool gone');
      },
      () => Promise.reject(new Error('db locked')),
      () => ({ status: 'fine' }) as unknown as HealthReport,
      () => ({ status: 'healthy' }),
    ];
    let i = 0;
    health.register('pool', () => (results[i++] as () => HealthReport | Promise<HealthReport>)(), { intervalMs: 10 });
    const seen = changes(health);
    health.start();
    expect(health.snapshot().subsystems.pool?.lastError?.message).toBe('Health check of "pool" threw: pool gone');
    clock.advance(10);
    await tick(1);
    expect(health.snapshot().subsystems.pool?.lastError?.message).toBe('Health check of "pool" rejected: db locked');
    clock.advance(10);
    expect(health.snapshot().subsystems.pool?.lastError?.message).toContain(
      'returned `{"status":"fine"}` (object) instead of { status, detail? }',
    );
    expect(health.snapshot().subsystems.pool).toMatchObject({ status: 'unhealthy', errorCount: 3, consecutiveErrors: 3 });
    clock.advance(10);
    expect(health.snapshot().subsystems.pool).toMatchObject({ status: 'healthy', errorCount: 3, consecutiveErrors: 0, checks: 4 });
    expect(seen.map((c) => c.to)).toEqual(['unhealthy', 'healthy']);
  });

  it('check() runs checks now and joins one already running', async () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const pending = deferred<HealthReport>();
    const check = vi.fn(() => pending.promise);
    health.register('store', check);
    health.report('pool', 'healthy');
    const first = health.check();
    const second = health.check('store');
    pending.resolve({ status: 'healthy' });
    const [a, b] = await Promise.all([first, second]);
    expect(check).toHaveBeenCalledTimes(1);
    expect(a.status).toBe('healthy');
    expect(b.subsystems.store?.status).toBe('healthy');
    expect(clock.pendingTimers).toBe(0); // not started: nothing re-armed
    await expect(health.check('nope')).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('stop() cancels every timer and drops results of checks still running; register after start runs at once', async () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const pending = deferred<HealthReport>();
    health.register('store', () => pending.promise, { timeoutMs: 50 });
    health.start();
    const late = vi.fn((): HealthReport => ({ status: 'degraded' }));
    health.register('late', late);
    expect(late).toHaveBeenCalledTimes(1);
    health.stop();
    health.stop();
    expect(clock.pendingTimers).toBe(1); // the running check's timeout, cancelled when it settles
    pending.resolve({ status: 'unhealthy' });
    await tick(1);
    expect(health.snapshot().subsystems.store?.status).toBe('unknown');
    expect(clock.pendingTimers).toBe(0);
  });

  it('the disposable of register() removes the check and its timer', () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const registration = health.register('pool', () => ({ status: 'healthy' }));
    health.start();
    registration.dispose();
    expect(health.snapshot().subsystems).toEqual({});
    expect(clock.pendingTimers).toBe(0);
    health.register('pool', () => ({ status: 'healthy' }));
    registration.dispose();
    expect(Object.keys(health.snapshot().subsystems)).toEqual(['pool']);
  });

  it('validates at the edge', () => {
    const health = new HealthRegistry({ clock: new ManualClock() });
    health.register('pool', () => ({ status: 'healthy' }));
    expect(thrown(() => health.register('pool', () => ({ status: 'healthy' }))).code).toBe(ErrorCode.DuplicateName);
    expect(thrown(() => health.register('x', 'nope' as never)).message).toContain('`check`');
    expect(thrown(() => health.register('x', () => ({ status: 'healthy' }), { intervalMs: 0 })).message).toContain('`intervalMs`');
    expect(thrown(() => health.report('x', 'sick' as never)).message).toContain('`status`');
    expect(thrown(() => new HealthRegistry({ timeoutMs: -1 })).code).toBe(ErrorCode.InvalidArgument);
    expect(thrown(() => new HealthRegistry({ interval: 5 } as never)).message).toContain('`health.interval`');
  });
});

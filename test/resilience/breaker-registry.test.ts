import { describe, expect, it } from 'vitest';
import { ErrorCode, ManualClock } from '../../src/core/index.ts';
import { type BreakerTransition, BreakerRegistry, HealthRegistry, ResilienceTopic, breakerHealth } from '../../src/resilience/index.ts';
import { thrown } from '../fixtures/helpers.ts';

class FakeBus {
  readonly events: Array<{ topic: string; payload: unknown }> = [];
  listening = true;
  publish(topic: string, payload: unknown): void {
    this.events.push({ topic, payload });
  }
  hasSubscribers(): boolean {
    return this.listening;
  }
}

function failN(registry: BreakerRegistry, flowId: string, routineId: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const lease = registry.forRoutine(flowId, routineId).tryAcquire();
    if (!lease.allowed) throw lease.error;
    lease.release(false, new Error('down'));
  }
}

describe('BreakerRegistry', () => {
  it('keeps one breaker per routine of a flow and one per dependency', () => {
    const registry = new BreakerRegistry();
    const fetch = registry.forRoutine('pipeline', 'fetch');
    expect(registry.forRoutine('pipeline', 'fetch')).toBe(fetch);
    expect(registry.forRoutine('other', 'fetch')).not.toBe(fetch);
    expect(fetch.name).toBe('routine:pipeline/fetch');
    const geo = registry.forDependency('geo-api');
    expect(registry.forDependency('geo-api')).toBe(geo);
    expect(geo.name).toBe('dependency:geo-api');
    expect(registry.get('dependency:geo-api')).toBe(geo);
    expect(registry.get('dependency:none')).toBeUndefined();
  });

  it('publishes each transition on the bus as breaker.state { name, from, to, at }', () => {
    const clock = new ManualClock();
    const bus = new FakeBus();
    const registry = new BreakerRegistry({ bus, defaults: { threshold: 2, halfOpenAfterMs: 100, clock } });
    failN(registry, 'pipeline', 'fetch', 2);
    clock.advance(100);
    const probe = registry.forRoutine('pipeline', 'fetch').tryAcquire();
    if (!probe.allowed) throw probe.error;
    probe.release(true);
    expect(bus.events.map((e) => e.topic)).toEqual([ResilienceTopic.BreakerState, 'breaker.state', 'breaker.state']);
    expect(bus.events.map((e) => e.payload)).toMatchObject([
      { name: 'routine:pipeline/fetch', from: 'closed', to: 'open', at: 0, reason: 'failures' },
      { name: 'routine:pipeline/fetch', from: 'open', to: 'half-open', at: 100 },
      { name: 'routine:pipeline/fetch', from: 'half-open', to: 'closed', at: 100 },
    ]);
  });

  it('publishes nothing when the bus says nobody listens, but its own listeners still hear', () => {
    const bus = new FakeBus();
    bus.listening = false;
    const registry = new BreakerRegistry({ bus, defaults: { threshold: 1, clock: new ManualClock() } });
    const heard: BreakerTransition[] = [];
    registry.onStateChange((t) => heard.push(t));
    failN(registry, 'f', 'r', 1);
    expect(bus.events).toEqual([]);
    expect(heard.map((t) => t.to)).toEqual(['open']);
  });

  it('snapshots every breaker and reports them as one health status', () => {
    const clock = new ManualClock();
    const registry = new BreakerRegistry({ defaults: { threshold: 1, clock } });
    registry.forRoutine('f', 'a');
    registry.forDependency('db');
    expect(registry.health()).toEqual({ status: 'healthy' });
    failN(registry, 'f', 'b', 1);
    const snapshot = registry.snapshot();
    expect(Object.keys(snapshot).sort()).toEqual(['dependency:db', 'routine:f/a', 'routine:f/b']);
    expect(snapshot['routine:f/b']).toMatchObject({ state: 'open', counters: { failures: 1 } });
    expect(registry.health()).toEqual({ status: 'degraded', detail: 'routine:f/b open' });
    expect(breakerHealth('closed')).toBe('healthy');
    expect(breakerHealth('isolated')).toBe('degraded');
  });

  it('per-breaker options override the defaults; asking again with other options throws', () => {
    const registry = new BreakerRegistry({ defaults: { threshold: 4 } });
    const geo = registry.forDependency('geo', { kind: 'sampling', threshold: 0.2 });
    expect(geo.options).toMatchObject({ kind: 'sampling', threshold: 0.2 });
    expect(registry.forDependency('geo', { kind: 'sampling', threshold: 0.2 })).toBe(geo);
    expect(registry.forRoutine('f', 'r').options.threshold).toBe(4);
    expect(() => registry.forDependency('geo', { threshold: 3 })).toThrow(/Breaker "dependency:geo" already exists/);
  });

  it('starts a breaker from its saved state (initialState), e.g. after a restart', () => {
    const clock = new ManualClock();
    const before = new BreakerRegistry({ defaults: { threshold: 1, halfOpenAfterMs: 1_000, clock } });
    failN(before, 'f', 'r', 1);
    clock.advance(300);
    const saved = JSON.parse(JSON.stringify(before)) as Record<string, unknown>;

    const later = new ManualClock(9_000);
    const after = new BreakerRegistry({ defaults: { clock: later }, initialState: saved });
    const lease = after.forRoutine('f', 'r').tryAcquire();
    expect(lease.allowed).toBe(false);
    if (!lease.allowed) expect(lease.error.retryAfterMs).toBe(700);
    expect(after.forRoutine('f', 'other').state).toBe('closed');
  });

  it('refuses a saved state filed under another name, and bad options', () => {
    const saved = new BreakerRegistry().forRoutine('f', 'r').toJSON();
    const registry = new BreakerRegistry({ initialState: { 'routine:f/x': saved } });
    expect(() => registry.forRoutine('f', 'x')).toThrow(/is for breaker "routine:f\/r"/);
    expect(() => new BreakerRegistry({ bus: {} as never })).toThrow('`bus`');
    expect(() => new BreakerRegistry({ defaults: { threshold: -1 } })).toThrow('`threshold`');
    expect(thrown(() => registry.forRoutine('', 'x')).code).toBe(ErrorCode.InvalidArgument);
    expect(thrown(() => registry.forDependency(' x')).message).toContain('`dependency`');
  });

  it('stops publishing after dispose()', () => {
    const bus = new FakeBus();
    const registry = new BreakerRegistry({ bus, defaults: { threshold: 1, clock: new ManualClock() } });
    registry.forRoutine('f', 'r');
    registry.dispose();
    failN(registry, 'f', 'r', 1);
    expect(bus.events).toEqual([]);
  });
});

describe('BreakerRegistry.bindHealth', () => {
  it('reports each breaker as a health subsystem, so an open breaker degrades and a closed one recovers', () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const registry = new BreakerRegistry({ defaults: { threshold: 1, halfOpenAfterMs: 100, clock } });
    registry.forDependency('db');
    const binding = registry.bindHealth(health);
    expect(health.snapshot().subsystems['breaker:dependency:db']?.status).toBe('healthy');
    failN(registry, 'f', 'r', 1);
    expect(health.snapshot().subsystems['breaker:routine:f/r']).toMatchObject({ status: 'degraded', detail: 'open; probes in 100 ms' });
    expect(health.status).toBe('degraded');
    clock.advance(100);
    const probe = registry.forRoutine('f', 'r').tryAcquire();
    if (!probe.allowed) throw probe.error;
    expect(health.snapshot().subsystems['breaker:routine:f/r']?.detail).toBe('half-open');
    probe.release(true);
    expect(health.status).toBe('healthy');
    binding.dispose();
    failN(registry, 'f', 'r', 1);
    expect(health.status).toBe('healthy');
    expect(thrown(() => registry.bindHealth({} as never)).code).toBe(ErrorCode.InvalidArgument);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCode, ManualClock } from '../../src/core/index.ts';
import {
  HealthRegistry,
  ResilienceTopic,
  type RuntimeState,
  RuntimeStateMachine,
  type RuntimeTransition,
  kRuntimeStates,
  kRuntimeTransitions,
} from '../../src/resilience/index.ts';
import { thrown } from '../fixtures/helpers.ts';

/** A path from `created` to each state. */
const kPaths: Record<RuntimeState, RuntimeState[]> = {
  created: [],
  starting: ['starting'],
  running: ['starting', 'running'],
  degraded: ['starting', 'running', 'degraded'],
  stopping: ['starting', 'running', 'stopping'],
  stopped: ['starting', 'running', 'stopping', 'stopped'],
  error: ['starting', 'error'],
};

function at(state: RuntimeState, options: ConstructorParameters<typeof RuntimeStateMachine>[0] = {}): RuntimeStateMachine {
  const machine = new RuntimeStateMachine(options);
  for (const step of kPaths[state]) machine.transition(step);
  expect(machine.state).toBe(state);
  return machine;
}

class FakeBus {
  readonly events: Array<{ topic: string; payload: RuntimeTransition }> = [];
  publish(topic: string, payload: unknown): void {
    this.events.push({ topic, payload: payload as RuntimeTransition });
  }
}

describe('RuntimeStateMachine transitions', () => {
  it('starts in created', () => {
    const machine = new RuntimeStateMachine();
    expect(machine.state).toBe('created');
    expect(machine.history()).toEqual([]);
  });

  it('the table is the documented life: created → starting → running ⇄ degraded → stopping → stopped, or error', () => {
    expect(kRuntimeTransitions).toEqual({
      created: ['starting', 'stopping', 'error'],
      starting: ['running', 'degraded', 'stopping', 'error'],
      running: ['degraded', 'stopping', 'error'],
      degraded: ['running', 'stopping', 'error'],
      stopping: ['stopped', 'error'],
      stopped: [],
      error: ['stopping', 'stopped'],
    });
  });

  const valid = kRuntimeStates.flatMap((from) => kRuntimeTransitions[from].map((to) => [from, to] as const));
  it.each(valid)('allows %s → %s', (from, to) => {
    const machine = at(from);
    expect(machine.canTransition(to)).toBe(true);
    const record = machine.transition(to, 'because');
    expect(machine.state).toBe(to);
    expect(record).toMatchObject({ from, to, reason: 'because' });
  });

  const invalid = kRuntimeStates.flatMap((from) =>
    kRuntimeStates.filter((to) => !kRuntimeTransitions[from].includes(to)).map((to) => [from, to] as const),
  );
  it.each(invalid)('rejects %s → %s with SLUICE_ERR_INVALID_TRANSITION', (from, to) => {
    const machine = at(from, { name: 'etl' });
    expect(machine.canTransition(to)).toBe(false);
    const error = thrown(() => machine.transition(to));
    expect(error.code).toBe(ErrorCode.InvalidTransition);
    expect(error.message).toContain(`Runtime "etl" cannot go from \`${from}\` to \`${to}\``);
    expect(error.details).toMatchObject({ from, to, name: 'etl' });
    expect(machine.state).toBe(from);
  });

  it('has as many invalid pairs as the table leaves out (self-transitions included)', () => {
    expect(valid.length + invalid.length).toBe(kRuntimeStates.length ** 2);
    expect(invalid).toContainEqual(['running', 'running']);
    expect(invalid).toContainEqual(['stopped', 'running']);
  });

  it('rejects a state that does not exist', () => {
    expect(thrown(() => new RuntimeStateMachine().transition('paused' as RuntimeState)).code).toBe(ErrorCode.InvalidArgument);
  });
});

describe('RuntimeStateMachine history and events', () => {
  it('keeps at most historyLimit transitions, as copies with a running seq and clock time', () => {
    const clock = new ManualClock(100);
    const machine = new RuntimeStateMachine({ clock, historyLimit: 3 });
    machine.transition('starting');
    clock.advance(10);
    machine.transition('running');
    for (let i = 0; i < 3; i++) {
      clock.advance(10);
      machine.transition('degraded', `flap ${i}`);
      machine.transition('running');
    }
    const history = machine.history();
    expect(history.map((t) => `${t.seq}:${t.from}->${t.to}@${t.at}`)).toEqual([
      '6:degraded->running@130',
      '7:running->degraded@140',
      '8:degraded->running@140',
    ]);
    (history[0] as { to: RuntimeState }).to = 'error';
    expect(machine.history()[0]?.to).toBe('running');
    expect(new RuntimeStateMachine({ historyLimit: 0 }).transition('starting').seq).toBe(1);
  });

  it('publishes runtime.state on the bus and tells listeners, in order, even when a listener transitions', () => {
    const bus = new FakeBus();
    const machine = new RuntimeStateMachine({ name: 'etl', bus, clock: new ManualClock() });
    const first: string[] = [];
    const second: string[] = [];
    machine.onTransition((t) => {
      first.push(`${t.from}->${t.to}`);
      if (t.to === 'running') machine.transition('degraded', 'store unhealthy');
    });
    const sub = machine.onTransition((t) => second.push(`${t.from}->${t.to}`));
    machine.transition('starting');
    machine.transition('running');
    expect(machine.state).toBe('degraded');
    const expected = ['created->starting', 'starting->running', 'running->degraded'];
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
    expect(bus.events.map((e) => e.topic)).toEqual([ResilienceTopic.RuntimeState, 'runtime.state', 'runtime.state']);
    expect(bus.events.map((e) => `${e.payload.from}->${e.payload.to}`)).toEqual(expected);
    expect(bus.events[2]?.payload).toMatchObject({ name: 'etl', reason: 'store unhealthy', seq: 3, at: 0 });
    sub.dispose();
    machine.transition('stopping');
    expect(second).toHaveLength(3);
  });

  it('asks hasSubscribers first and builds nothing when nobody listens', () => {
    const published: unknown[] = [];
    const machine = new RuntimeStateMachine({ bus: { publish: (_t, p) => published.push(p), hasSubscribers: () => false } });
    machine.transition('starting');
    expect(published).toEqual([]);
  });
});

describe('RuntimeStateMachine.bindHealth', () => {
  it('moves running ⇄ degraded with the overall health; unknown is not failing', () => {
    const clock = new ManualClock();
    const health = new HealthRegistry({ clock });
    const machine = at('running', { clock });
    const binding = machine.bindHealth(health);
    health.report('pool', 'unknown');
    expect(machine.state).toBe('running');
    health.report('store', 'unhealthy', 'SQLite unavailable');
    expect(machine.state).toBe('degraded');
    expect(machine.history().at(-1)?.reason).toBe('health unhealthy: store unhealthy (SQLite unavailable)');
    health.report('bus', 'degraded');
    expect(machine.state).toBe('degraded');
    health.report('store', 'healthy');
    expect(machine.state).toBe('degraded'); // the bus is still degraded
    health.report('bus', 'healthy');
    expect(machine.state).toBe('running');
    binding.dispose();
    health.report('store', 'unhealthy');
    expect(machine.state).toBe('running');
  });

  it('applies the health it finds when bound, and when the runtime enters running', () => {
    const health = new HealthRegistry({ clock: new ManualClock() });
    health.report('store', 'degraded');
    const machine = at('running');
    machine.bindHealth(health);
    expect(machine.state).toBe('degraded');

    const starting = at('starting');
    starting.bindHealth(health);
    expect(starting.state).toBe('starting');
    starting.transition('running');
    expect(starting.state).toBe('degraded');
    expect(starting.history().map((t) => t.to)).toEqual(['starting', 'running', 'degraded']);
  });

  it('leaves stopping and stopped alone', () => {
    const health = new HealthRegistry({ clock: new ManualClock() });
    const machine = at('running');
    machine.bindHealth(health);
    machine.transition('stopping');
    health.report('store', 'unhealthy');
    health.report('store', 'healthy');
    expect(machine.state).toBe('stopping');
    expect(thrown(() => machine.bindHealth({} as never)).code).toBe(ErrorCode.InvalidArgument);
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode, SluiceError } from '../../src/core/errors.ts';
import {
  Governor,
  type PolicyRule,
  createGovernable,
  createDefaultRules,
  type PolicyRuleOptions,
  type SensorSource,
} from '../../src/governor/index.ts';
import { createFakeBus, createFakeRuntime, scriptedSensor, ticks } from './helpers.ts';

function setup(options: { sensor?: SensorSource; rules?: (PolicyRule | PolicyRuleOptions)[] } = {}) {
  const clock = new ManualClock();
  const bus = createFakeBus();
  const governor = new Governor({ clock, bus, ...options });
  const fake = createFakeRuntime();
  governor.register(fake.governable);
  return { clock, bus, governor, fake };
}

describe('default rules, one by one, with scripted sensors', () => {
  it('vram_util forecast > 0.85 reduces every batch knob by half through setKnob', async () => {
    const { governor, fake, clock } = setup({ sensor: scriptedSensor({ vram_util: [0.5, 0.9] }) });
    await ticks(governor, 2, clock);
    expect(fake.sets).toEqual([
      ['dispatch', 8],
      ['batch:tokenize', 4],
    ]);
    expect(fake.state).toMatchObject({ dispatch: 8, batchTokenize: 4, pool: 4, rate: 1000, shed: 0 });
    const decisions = governor.decisions();
    expect(decisions).toHaveLength(2);
    expect(decisions[0]).toMatchObject({
      tick: 2,
      at: 500,
      rule: 'vram-pressure',
      action: 'reduce_batch',
      phase: 'apply',
      subsystem: 'runtime',
      knob: 'dispatch',
      before: 16,
      after: 8,
      requested: 8,
      outcome: 'applied',
    });
    expect(decisions[0]!.metrics.vram_util).toBe(0.9);
    expect(decisions[0]!.metrics['vram_util.forecast']).toBeGreaterThan(0.85);
    expect(decisions[0]!.reason).toMatch(/`vram_util` forecast .* > 0\.85/);
  });

  it('the forecast fires on a ramp before the value crosses the threshold', async () => {
    const ramp = [0.7, 0.74, 0.78, 0.82, 0.84];
    const byForecast = setup({
      sensor: scriptedSensor({ vram_util: ramp }),
      rules: [{ metric: 'vram_util', threshold: 0.85, use: 'forecast', action: 'reduce_batch' }],
    });
    const byValue = setup({
      sensor: scriptedSensor({ vram_util: ramp }),
      rules: [{ metric: 'vram_util', threshold: 0.85, use: 'value', action: 'reduce_batch' }],
    });
    await ticks(byForecast.governor, ramp.length, byForecast.clock);
    await ticks(byValue.governor, ramp.length, byValue.clock);
    expect(byValue.governor.decisions()).toHaveLength(0);
    expect(byForecast.governor.decisions().length).toBeGreaterThan(0);
    expect(byForecast.fake.state.dispatch).toBe(8);
  });

  it('mem_util forecast > 0.90 reduces batches', async () => {
    const { governor, fake, clock } = setup({ sensor: scriptedSensor({ mem_util: [0.95] }) });
    await ticks(governor, 1, clock);
    expect(governor.decisions().map((d) => d.rule)).toEqual(['memory-pressure', 'memory-pressure']);
    expect(fake.state.dispatch).toBe(8);
  });

  it('cpu_util EMA > 0.90 throttles admission from the observed throughput', async () => {
    const { governor, fake, clock } = setup({ sensor: scriptedSensor({ cpu_util: [0.97] }) });
    fake.metrics.throughput = 500;
    await ticks(governor, 1, clock);
    expect(fake.sets).toEqual([['admission', 400]]);
    expect(governor.decisions()[0]).toMatchObject({ rule: 'cpu-saturation', action: 'throttle', before: 1000, after: 400 });
  });

  it('throttle without a throughput metric cuts the current rate', async () => {
    const { governor, fake, clock } = setup({ sensor: scriptedSensor({ cpu_util: [0.97] }) });
    await ticks(governor, 1, clock);
    expect(fake.state.rate).toBe(800);
  });

  it('latency p95 > 500 ms raises the shed level, reading the runtime metric', async () => {
    const { governor, fake, clock } = setup();
    fake.metrics.latency_ms = 900;
    await ticks(governor, 1, clock);
    expect(fake.state.shed).toBe(1);
    expect(governor.decisions()[0]).toMatchObject({ rule: 'latency-slo', action: 'shed_load', knob: 'shed', before: 0, after: 1 });
    expect(governor.decisions()[0]!.metrics['runtime.latency_ms']).toBe(900);
  });

  it('scales the pool up when utilisation is high, the queue grows and the CPU has room', async () => {
    const { governor, fake, clock } = setup({ sensor: scriptedSensor({ cpu_util: [0.5] }) });
    fake.metrics.pool_util = 0.95;
    for (let depth = 10; depth <= 30; depth += 10) {
      fake.metrics.queue_depth = depth;
      await governor.tick();
      clock.advance(500);
    }
    expect(fake.state.pool).toBe(5);
    const decision = governor.decisions().find((d) => d.action === 'scale_up')!;
    expect(decision).toMatchObject({ rule: 'pool-scale-up', knob: 'pool', before: 4, after: 5 });
    expect(decision.metrics['runtime.queue_depth.trend']).toBeGreaterThan(0);
    expect(decision.metrics.cpu_util).toBe(0.5);
  });

  it('does not scale up when the CPU is saturated or the queue is not growing', async () => {
    const saturated = setup({
      sensor: scriptedSensor({ cpu_util: [0.95] }),
      rules: createDefaultRules().filter((r) => r.name === 'pool-scale-up'),
    });
    saturated.fake.metrics.pool_util = 0.95;
    const flat = setup({ sensor: scriptedSensor({ cpu_util: [0.5] }) });
    flat.fake.metrics.pool_util = 0.95;
    flat.fake.metrics.queue_depth = 50;
    for (let i = 0; i < 6; i++) {
      saturated.fake.metrics.queue_depth = 10 * i;
      await saturated.governor.tick();
      saturated.clock.advance(500);
    }
    await ticks(flat.governor, 6, flat.clock);
    expect(saturated.fake.state.pool).toBe(4);
    expect(flat.fake.state.pool).toBe(4);
  });

  it('scales the pool down when utilisation is low, one step per cooldown, never below min', async () => {
    const { governor, fake, clock } = setup();
    fake.metrics.pool_util = 0.05;
    await ticks(governor, 1, clock);
    expect(fake.state.pool).toBe(3);
    await ticks(governor, 3, clock); // t = 500..1500: inside the 2 s cooldown
    expect(fake.state.pool).toBe(3);
    await ticks(governor, 20, clock);
    expect(fake.state.pool).toBe(1);
    expect(fake.sets.filter(([k]) => k === 'pool').map(([, v]) => v)).toEqual([3, 2, 1]);
  });
});

describe('hysteresis and cooldown', () => {
  const oscillating = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0.9 : 0.8));

  it('a signal hopping across the threshold acts once with a band, and flaps without one', async () => {
    const withBand = setup({
      sensor: scriptedSensor({ vram_util: oscillating }),
      rules: [
        {
          metric: 'vram_util',
          threshold: 0.85,
          clearThreshold: 0.7,
          cooldownMs: 1000,
          clearAfter: 1,
          action: 'reduce_batch',
          knob: 'dispatch',
        },
      ],
    });
    const noBand = setup({
      sensor: scriptedSensor({ vram_util: oscillating }),
      rules: [{ metric: 'vram_util', threshold: 0.85, cooldownMs: 1000, clearAfter: 1, action: 'reduce_batch', knob: 'dispatch' }],
    });
    await ticks(withBand.governor, 40, withBand.clock);
    await ticks(noBand.governor, 40, noBand.clock);
    expect(withBand.governor.decisions()).toHaveLength(1);
    expect(withBand.fake.state.dispatch).toBe(8);
    // Without a band the knob flaps 16 ↔ 8 once per cooldown for the whole 20 s.
    expect(noBand.governor.decisions().length).toBeGreaterThanOrEqual(10);
    expect(noBand.fake.sets.map(([, v]) => v).slice(0, 6)).toEqual([8, 16, 8, 16, 8, 16]);
  });

  it('with no cooldown at all, the band still prevents any give-back while the signal hops', async () => {
    const { governor, clock } = setup({
      sensor: scriptedSensor({ vram_util: oscillating }),
      rules: [
        {
          metric: 'vram_util',
          threshold: 0.85,
          clearThreshold: 0.7,
          cooldownMs: 0,
          clearAfter: 1,
          action: 'reduce_batch',
          knob: 'dispatch',
        },
      ],
    });
    await ticks(governor, 40, clock);
    // Each blip above may tighten further (no cooldown asked for), but nothing is ever undone.
    expect(governor.decisions().every((d) => d.phase === 'apply')).toBe(true);
  });

  it('the cooldown alone bounds decisions to one per cooldown window', async () => {
    const wide = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0.95 : 0.5));
    const { governor, clock } = setup({
      sensor: scriptedSensor({ vram_util: wide }),
      rules: [{ metric: 'vram_util', threshold: 0.85, cooldownMs: 2000, clearAfter: 1, action: 'reduce_batch', knob: 'dispatch' }],
    });
    await ticks(governor, 40, clock); // 20 s of 500 ms ticks
    const times = governor.decisions().map((d) => d.at);
    expect(times.length).toBeLessThanOrEqual(20_000 / 2000 + 1);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(2000);
  });

  it('sustained pressure steps again after each cooldown, down to the knob minimum', async () => {
    const { governor, fake, clock } = setup({
      sensor: scriptedSensor({ vram_util: [0.95] }),
      rules: [{ metric: 'vram_util', threshold: 0.85, clearThreshold: 0.7, cooldownMs: 1000, action: 'reduce_batch' }],
    });
    await ticks(governor, 12, clock);
    expect(fake.sets.filter(([k]) => k === 'dispatch').map(([, v]) => v)).toEqual([8, 4, 2, 1]);
    expect(fake.sets.filter(([k]) => k === 'batch:tokenize').map(([, v]) => v)).toEqual([4, 2]); // min 2
    const dispatchTimes = governor
      .decisions()
      .filter((d) => d.knob === 'dispatch')
      .map((d) => d.at);
    expect(dispatchTimes).toEqual([0, 1000, 2000, 3000]);
  });

  it('fireAfter debounces: a single spike does not act', async () => {
    const { governor, clock } = setup({
      sensor: scriptedSensor({ cpu_util: [0.99, 0.5, 0.99, 0.5, 0.99, 0.99] }),
      rules: [{ metric: 'cpu_util', threshold: 0.9, fireAfter: 2, action: 'throttle' }],
    });
    await ticks(governor, 5, clock);
    expect(governor.decisions()).toHaveLength(0);
    await ticks(governor, 1, clock);
    expect(governor.decisions()).toHaveLength(1);
  });
});

describe('restoring', () => {
  it('gives batch knobs back step by step once pressure stays below the clear bound', async () => {
    const vram = [0.95, 0.95, 0.95, 0.95, 0.95, ...Array<number>(30).fill(0.4)];
    const { governor, fake, clock, bus } = setup({
      sensor: scriptedSensor({ vram_util: vram }),
      rules: [{ metric: 'vram_util', threshold: 0.85, clearThreshold: 0.7, cooldownMs: 2000, clearAfter: 3, action: 'reduce_batch' }],
    });
    await ticks(governor, 35, clock);
    expect(fake.sets.filter(([k]) => k === 'dispatch').map(([, v]) => v)).toEqual([8, 4, 8, 16]);
    expect(fake.sets.filter(([k]) => k === 'batch:tokenize').map(([, v]) => v)).toEqual([4, 2, 4, 8]);
    expect(fake.state).toMatchObject({ dispatch: 16, batchTokenize: 8 });
    const restores = governor.decisions().filter((d) => d.phase === 'restore');
    expect(restores.map((d) => d.after)).toEqual([8, 4, 16, 8]);
    expect(restores[0]!.reason).toMatch(/restoring toward baseline 16/);
    expect(bus.topics().filter((t) => t === 'drg.signal.restore')).toHaveLength(4);
    expect(governor.subsystems()[0]!.engaged).toEqual([]);
  });

  it('restores the shed level and the admission rate when pressure clears', async () => {
    const { governor, fake, clock } = setup({ sensor: scriptedSensor({ cpu_util: [0.99, 0.99, ...Array<number>(20).fill(0.2)] }) });
    fake.metrics.latency_ms = 900;
    await ticks(governor, 2, clock);
    expect(fake.state).toMatchObject({ shed: 1, rate: 800 });
    fake.metrics.latency_ms = 40;
    await ticks(governor, 20, clock);
    expect(fake.state).toMatchObject({ shed: 0, rate: 1000 });
    const phases = governor.decisions().map((d) => `${d.rule}:${d.phase}:${d.after}`);
    expect(phases).toContain('latency-slo:restore:0');
    expect(phases).toContain('cpu-saturation:restore:1000');
  });

  it('a throttle far above the flow snaps back to the baseline', async () => {
    const { governor, fake, clock } = setup({ sensor: scriptedSensor({ cpu_util: [0.99, ...Array<number>(20).fill(0.2)] }) });
    fake.metrics.throughput = 100;
    await ticks(governor, 1, clock);
    expect(fake.state.rate).toBe(80);
    fake.metrics.throughput = 40;
    await ticks(governor, 20, clock);
    // 80 / 0.8 = 100 >= 2 × 40: the limit no longer binds.
    expect(fake.sets.filter(([k]) => k === 'admission').map(([, v]) => v)).toEqual([80, 1000]);
  });

  it('does not undo a knob another rule still holds', async () => {
    const { governor, fake, clock } = setup({
      sensor: scriptedSensor({ vram_util: [0.95, ...Array<number>(30).fill(0.3)], mem_util: [0.95] }),
      rules: [
        {
          name: 'vram',
          metric: 'vram_util',
          threshold: 0.85,
          clearThreshold: 0.7,
          cooldownMs: 0,
          clearAfter: 1,
          action: 'reduce_batch',
          knob: 'dispatch',
        },
        {
          name: 'mem',
          metric: 'mem_util',
          threshold: 0.9,
          clearThreshold: 0.8,
          cooldownMs: 100_000,
          action: 'reduce_batch',
          knob: 'dispatch',
        },
      ],
    });
    await ticks(governor, 10, clock);
    // vram cleared, but mem is still under pressure and holds the knob.
    expect(governor.decisions().filter((d) => d.phase === 'restore')).toHaveLength(0);
    expect(fake.state.dispatch).toBeLessThan(16);
  });

  it('rules with restore: false end without giving back', async () => {
    const { governor, fake, clock } = setup({
      sensor: scriptedSensor({ vram_util: [0.95, ...Array<number>(10).fill(0.1)] }),
      rules: [
        { metric: 'vram_util', threshold: 0.85, clearThreshold: 0.5, cooldownMs: 0, clearAfter: 1, restore: false, action: 'reduce_batch' },
      ],
    });
    await ticks(governor, 11, clock);
    expect(fake.state.dispatch).toBe(8);
    expect(governor.subsystems()[0]!.engaged).toEqual([]);
  });
});

describe('actuators and knobs', () => {
  it('rounds and clamps to the knob bounds and makes no decision at a bound', async () => {
    const { governor, fake, clock } = setup({
      rules: [{ metric: 'pool_util', threshold: 0.5, cooldownMs: 0, action: 'scale_up', factor: 3 }],
    });
    fake.metrics.pool_util = 0.9;
    await ticks(governor, 5, clock);
    expect(fake.sets).toEqual([
      ['pool', 7],
      ['pool', 8],
    ]); // max 8
    expect(governor.decisions()).toHaveLength(2);
  });

  it('records a rejected decision when the setter throws, and waits a cooldown before retrying', async () => {
    const clock = new ManualClock();
    const governor = new Governor({
      clock,
      sensor: scriptedSensor({ cpu_util: [0.99] }),
      rules: [{ metric: 'cpu_util', threshold: 0.9, cooldownMs: 1000, action: 'throttle' }],
    });
    governor.register({
      name: 'stubborn',
      knobs: () => [{ name: 'rate', kind: 'admission_rate', value: 100, min: 1, max: 100, baseline: 100 }],
      setKnob: () => {
        throw new SluiceError(ErrorCode.InvalidArgument, 'no');
      },
    });
    await ticks(governor, 4, clock);
    const decisions = governor.decisions();
    expect(decisions).toHaveLength(2); // t = 0 and t = 1000
    expect(decisions[0]).toMatchObject({
      outcome: 'rejected',
      before: 100,
      after: 100,
      requested: 80,
      error: { code: ErrorCode.InvalidArgument, message: 'no' },
    });
    expect(governor.stats().rejected).toBe(2);
  });

  it('uses the value the subsystem really applied', async () => {
    const clock = new ManualClock();
    let size = 10;
    const governor = new Governor({
      clock,
      sensor: scriptedSensor({ vram_util: [0.99] }),
      rules: [{ metric: 'vram_util', threshold: 0.85, action: 'reduce_batch' }],
    });
    governor.register({
      name: 'evens',
      knobs: () => [{ name: 'batch', kind: 'batch_size', value: size, min: 1, max: 64, baseline: 10 }],
      setKnob: (_name, value) => (size = 2 * Math.ceil(value / 2)),
    });
    await governor.tick();
    expect(governor.decisions()[0]).toMatchObject({ requested: 5, after: 6 });
  });

  it('runs a custom actuator added with addActuator', async () => {
    const { governor, clock } = setup();
    let prefetch = 8;
    governor.addActuator('cap_prefetch', {
      kinds: ['prefetch'],
      apply: (k, { factor }) => k.value - factor,
      restore: (k, { factor }) => k.value + factor,
    });
    governor.register(
      createGovernable({
        name: 'loader',
        knobs: { prefetch: { kind: 'prefetch', min: 1, max: 16, get: () => prefetch, set: (v) => void (prefetch = v) } },
      }),
    );
    governor.addRule({ name: 'io', metric: 'disk_read_bps', threshold: 1e8, action: 'cap_prefetch', factor: 2 });
    expect(() => governor.addActuator('cap_prefetch', { kinds: ['x'], apply: () => 1 })).toThrowError(
      expect.objectContaining({ code: ErrorCode.DuplicateName }),
    );
    expect(governor.actions()).toContain('cap_prefetch');
    // No sensor: feed the machine metric through the loader's own metrics instead.
    governor.unregister('loader');
    governor.register(
      createGovernable({
        name: 'loader',
        knobs: { prefetch: { kind: 'prefetch', min: 1, max: 16, get: () => prefetch, set: (v) => void (prefetch = v) } },
        metrics: () => ({ disk_read_bps: 5e8 }),
      }),
    );
    await ticks(governor, 1, clock);
    expect(prefetch).toBe(6);
  });

  it('subsystem rules act on their own subsystem only', async () => {
    const { governor, fake, clock } = setup({ rules: [] });
    const other = createFakeRuntime('other');
    governor.register(other.governable);
    governor.unregister('runtime');
    governor.register(fake.governable, { rules: [{ name: 'queue', metric: 'queue_pressure', threshold: 0.9, action: 'throttle' }] });
    fake.metrics.queue_pressure = 0.95;
    other.metrics.queue_pressure = 0.95;
    await ticks(governor, 1, clock);
    expect(fake.state.rate).toBe(800);
    expect(other.state.rate).toBe(1000);
    expect(governor.rules().find((r) => r.name === 'queue')!.subsystem).toBe('runtime');
  });

  it('one knob changes at most once a tick, even when several rules want it', async () => {
    const { governor, fake, clock } = setup({
      sensor: scriptedSensor({ vram_util: [0.99], mem_util: [0.99] }),
      rules: [
        { name: 'a', metric: 'vram_util', threshold: 0.85, action: 'reduce_batch', knob: 'dispatch' },
        { name: 'b', metric: 'mem_util', threshold: 0.85, action: 'reduce_batch', knob: 'dispatch' },
      ],
    });
    await ticks(governor, 1, clock);
    expect(fake.sets).toEqual([['dispatch', 8]]);
  });
});

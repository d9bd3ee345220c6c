import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { Governor, GovernorTopic, type Decision, type TelemetryPayload } from '../../src/governor/index.ts';
import { createFakeBus, createFakeRuntime, scriptedSensor, ticks } from './helpers.ts';
import { tick } from '../fixtures/helpers.ts';

describe('lifecycle', () => {
  it('start is idempotent, ticks every interval on the injected clock, stop leaves no timer', async () => {
    const clock = new ManualClock();
    const sensor = scriptedSensor({ cpu_util: [0.1] });
    const governor = new Governor({ clock, sensor, intervalMs: 500 });
    governor.start();
    governor.start();
    expect(governor.isRunning).toBe(true);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(499);
    await tick(1);
    expect(sensor.calls).toBe(0);
    clock.advance(1);
    await tick(1);
    expect(sensor.calls).toBe(1);
    expect(clock.pendingTimers).toBe(1); // re-armed after the tick
    for (let i = 0; i < 3; i++) {
      clock.advance(500);
      await tick(1);
    }
    expect(sensor.calls).toBe(4);
    expect(governor.stats().ticks).toBe(4);
    await governor.stop();
    await governor.stop();
    expect(governor.isRunning).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5000);
    await tick(1);
    expect(sensor.calls).toBe(4);
  });

  it('can be started again after stop, with one timer', async () => {
    const clock = new ManualClock();
    const sensor = scriptedSensor({ cpu_util: [0.1] });
    const governor = new Governor({ clock, sensor });
    governor.start();
    await governor.stop();
    governor.start();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(500);
    await tick(1);
    expect(sensor.calls).toBe(1);
    await governor[Symbol.asyncDispose]();
    expect(clock.pendingTimers).toBe(0);
  });

  it('stop during an in-flight tick waits for it and does not re-arm', async () => {
    const clock = new ManualClock();
    let release!: () => void;
    const governor = new Governor({ clock, sensor: () => new Promise((resolve) => (release = () => resolve({ cpu_util: 0.5 }))) });
    governor.start();
    clock.advance(500);
    await tick(1);
    const stopped = governor.stop();
    release();
    await stopped;
    expect(governor.stats().ticks).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('starts and stops a managed sensor with itself', async () => {
    const calls: string[] = [];
    const governor = new Governor({
      clock: new ManualClock(),
      sensor: { read: () => ({ cpu_util: 0.2 }), start: () => void calls.push('start'), stop: () => void calls.push('stop') },
    });
    governor.start();
    governor.start();
    await governor.stop();
    await governor.stop();
    expect(calls).toEqual(['start', 'stop']);
  });

  it('ticks never overlap', async () => {
    let active = 0;
    let maxActive = 0;
    const governor = new Governor({
      clock: new ManualClock(),
      sensor: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await tick(1);
        active -= 1;
        return { cpu_util: 0.1 };
      },
    });
    await Promise.all([governor.tick(), governor.tick(), governor.tick()]);
    expect(maxActive).toBe(1);
    expect(governor.stats().ticks).toBe(3);
  });

  it('a failing sensor is counted and reported, and the loop goes on with subsystem metrics', async () => {
    const clock = new ManualClock();
    const governor = new Governor({
      clock,
      sensor: () => {
        throw new Error('probe down');
      },
    });
    const fake = createFakeRuntime();
    governor.register(fake.governable);
    fake.metrics.latency_ms = 900;
    const report = await governor.tick();
    expect(report.errors).toEqual(['sensor: probe down']);
    expect(governor.stats().sensorErrors).toBe(1);
    expect(fake.state.shed).toBe(1);
  });

  it('GPU metrics absent (undefined) are not treated as zero', async () => {
    const clock = new ManualClock();
    const governor = new Governor({ clock, sensor: scriptedSensor({ gpu_util: [undefined], vram_util: [undefined], cpu_util: [0.3] }) });
    const report = await governor.tick();
    expect(report.metrics).toEqual({ cpu_util: 0.3 });
    expect(governor.profile('vram_util')).toBeUndefined();
  });
});

describe('decisions on the bus and in the history', () => {
  it('publishes each decision on drg.signal.<action> and telemetry on drg.telemetry', async () => {
    const clock = new ManualClock();
    const bus = createFakeBus();
    const governor = new Governor({ clock, bus, sensor: scriptedSensor({ vram_util: [0.99], cpu_util: [0.99] }) });
    const fake = createFakeRuntime();
    governor.register(fake.governable);
    await governor.tick();
    expect(bus.topics()).toEqual(['drg.signal.reduce_batch', 'drg.signal.reduce_batch', 'drg.signal.throttle', GovernorTopic.Telemetry]);
    const signal = bus.events[0]!.payload as Decision;
    expect(signal).toMatchObject({ rule: 'vram-pressure', subsystem: 'runtime', knob: 'dispatch', before: 16, after: 8 });
    const telemetry = bus.events.at(-1)!.payload as TelemetryPayload;
    expect(telemetry.tick).toBe(1);
    expect(telemetry.metrics).toMatchObject({ vram_util: 0.99, cpu_util: 0.99 });
    expect(telemetry.profiles.cpu_util).toMatchObject({ current: 0.99, ema: 0.99 });
    expect(telemetry.decisions).toHaveLength(3);
    expect(telemetry.knobs.runtime!.find((k) => k.name === 'dispatch')!.value).toBe(8);
  });

  it('publishes only on topics that have subscribers', async () => {
    const clock = new ManualClock();
    const bus = createFakeBus(['drg.signal.throttle']);
    const governor = new Governor({ clock, bus, sensor: scriptedSensor({ vram_util: [0.99], cpu_util: [0.99] }) });
    governor.register(createFakeRuntime().governable);
    await governor.tick();
    expect(bus.topics()).toEqual(['drg.signal.throttle']);
    expect(governor.decisions()).toHaveLength(3); // still recorded
  });

  it('a throwing bus is counted, never thrown into the loop', async () => {
    const governor = new Governor({
      clock: new ManualClock(),
      bus: {
        publish: () => {
          throw new Error('bus closed');
        },
      },
      sensor: scriptedSensor({ cpu_util: [0.99] }),
    });
    governor.register(createFakeRuntime().governable);
    await governor.tick();
    expect(governor.stats().publishErrors).toBe(2); // the signal and the telemetry
  });

  it('calls decision and tick hooks until disposed; hooks that throw are counted', async () => {
    const clock = new ManualClock();
    const governor = new Governor({
      clock,
      sensor: scriptedSensor({ cpu_util: [0.99] }),
      rules: [{ metric: 'cpu_util', threshold: 0.9, cooldownMs: 0, action: 'throttle' }],
    });
    governor.register(createFakeRuntime().governable);
    const seen: string[] = [];
    const sub = governor.onDecision((d) => seen.push(`${d.rule}:${d.after}`));
    const tickSub = governor.onTick((r) => seen.push(`tick ${r.tick}`));
    governor.onDecision(() => {
      throw new Error('bad hook');
    });
    await ticks(governor, 1, clock);
    sub.dispose();
    sub.dispose();
    tickSub[Symbol.dispose]();
    await ticks(governor, 1, clock);
    expect(seen).toEqual(['cpu_util-above-throttle:800', 'tick 1']);
    expect(governor.stats().listenerErrors).toBe(2);
  });

  it('keeps a capped history of copies', async () => {
    const clock = new ManualClock();
    const governor = new Governor({
      clock,
      historyLimit: 3,
      sensor: scriptedSensor({ pool_util: [0.1] }),
      rules: [{ metric: 'pool_util', direction: 'below', threshold: 0.5, cooldownMs: 0, action: 'scale_down' }],
    });
    const fake = createFakeRuntime();
    governor.register(fake.governable);
    await ticks(governor, 6, clock);
    const history = governor.decisions();
    expect(history.map((d) => d.after)).toEqual([3, 2, 1]);
    expect(governor.stats()).toMatchObject({ decisions: 3, dropped: 0 });
    fake.state.pool = 8;
    await ticks(governor, 7, clock); // 7, 6, …, 1
    expect(governor.decisions().map((d) => d.after)).toEqual([3, 2, 1]);
    expect(governor.stats()).toMatchObject({ decisions: 10, dropped: 7 });
    (governor.decisions()[0] as { after: number }).after = 99;
    (governor.decisions()[0]!.metrics as Record<string, number>).pool_util = 42;
    expect(governor.decisions()[0]!.after).toBe(3);
    expect(governor.decisions()[0]!.metrics.pool_util).toBe(0.1);
  });
});

describe('registry', () => {
  it('registers with a disposable that unregisters; knob changes stop after', async () => {
    const clock = new ManualClock();
    const governor = new Governor({
      clock,
      sensor: scriptedSensor({ cpu_util: [0.99] }),
      rules: [{ metric: 'cpu_util', threshold: 0.9, cooldownMs: 0, action: 'throttle' }],
    });
    const fake = createFakeRuntime();
    const registration = governor.register(fake.governable);
    expect(governor.subsystems().map((s) => s.name)).toEqual(['runtime']);
    await governor.tick();
    registration.dispose();
    registration.dispose();
    await governor.tick();
    expect(fake.sets).toHaveLength(1);
    expect(governor.subsystems()).toEqual([]);
    expect(governor.unregister('runtime')).toBe(false);
  });

  it('reports knob snapshots and engaged rules', async () => {
    const governor = new Governor({ clock: new ManualClock(), sensor: scriptedSensor({ cpu_util: [0.99] }) });
    governor.register(createFakeRuntime().governable);
    await governor.tick();
    const [snapshot] = governor.subsystems();
    expect(snapshot!.engaged).toEqual(['cpu-saturation']);
    expect(snapshot!.knobs.find((k) => k.name === 'admission')).toEqual({
      name: 'admission',
      kind: 'admission_rate',
      value: 800,
      min: 10,
      max: 1000,
      baseline: 1000,
      step: 'continuous',
    });
  });

  it('rejects a duplicate name, a non-governable and a broken knob with coded errors', () => {
    const governor = new Governor({ clock: new ManualClock() });
    governor.register(createFakeRuntime().governable);
    expect(() => governor.register(createFakeRuntime().governable)).toThrowError(
      expect.objectContaining({ code: ErrorCode.DuplicateName, message: expect.stringContaining('"runtime"') }),
    );
    expect(() => governor.register({ name: 'x' } as never)).toThrowError(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() =>
      governor.register({
        name: 'bad',
        knobs: () => [{ name: 'pool', kind: 'pool_size', value: 2, min: 4, max: 1, baseline: 2 }],
        setKnob: () => 0,
      }),
    ).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidKnob, message: expect.stringMatching(/`pool` of subsystem `bad`.*`4`/) }),
    );
    expect(() =>
      governor.register({
        name: 'nan',
        knobs: () => [{ name: 'b', kind: 'batch_size', value: Number.NaN, min: 1, max: 2, baseline: 1 }],
        setKnob: () => 0,
      }),
    ).toThrowError(/`NaN`/);
    expect(() =>
      governor.register(createFakeRuntime('other').governable, {
        rules: [{ metric: 'x', threshold: 1, action: 'throttle', subsystem: 'runtime' }],
      }),
    ).toThrowError(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining('"runtime"') }));
  });

  it('adds and removes rules; names are unique and actions must exist', () => {
    const governor = new Governor({ clock: new ManualClock() });
    expect(governor.rules()).toHaveLength(6);
    governor.addRule({ name: 'heap', metric: 'heap_util', threshold: 0.8, action: 'reduce_batch' });
    expect(() => governor.addRule({ name: 'heap', metric: 'x', threshold: 1, action: 'throttle' })).toThrowError(
      expect.objectContaining({ code: ErrorCode.DuplicateName }),
    );
    expect(() => governor.addRule({ name: 'y', metric: 'x', threshold: 1, action: 'warp' })).toThrowError(
      expect.objectContaining({ code: ErrorCode.UnknownAction, message: expect.stringContaining('"warp"') }),
    );
    expect(governor.removeRule('heap')).toBe(true);
    expect(governor.removeRule('heap')).toBe(false);
  });
});

describe('options', () => {
  it.each([
    [{ intervalMs: 100 }, /`intervalMs`.*>= 250.*`100` \(number\)/],
    [{ intervalMs: Number.NaN }, /`intervalMs`.*`NaN`/],
    [{ historyLimit: -1 }, /`historyLimit`.*`-1`/],
    [{ clock: {} }, /`clock`/],
    [{ bus: { send() {} } }, /`bus`/],
    [{ sensor: 42 }, /`sensor`.*`42`/],
    [{ profiler: { alpha: 2 } }, /`profiler\.alpha`.*`2`/],
    [{ rules: [{ metric: 'x', threshold: 1, action: 'throttle', factor: 3 }] }, /`factor`.*`3`/],
    [{ interval: 500 }, /Governor options\.interval/],
  ])('rejects %o with a coded error naming the value', (options, message) => {
    expect(() => new Governor(options as never)).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(message) }),
    );
  });

  it('rejects rules naming an unknown action or a name twice', () => {
    expect(() => new Governor({ rules: [{ metric: 'x', threshold: 1, action: 'teleport' }] })).toThrowError(
      expect.objectContaining({ code: ErrorCode.UnknownAction }),
    );
    expect(
      () =>
        new Governor({
          rules: [
            { name: 'a', metric: 'x', threshold: 1, action: 'throttle' },
            { name: 'a', metric: 'y', threshold: 1, action: 'throttle' },
          ],
        }),
    ).toThrowError(expect.objectContaining({ code: ErrorCode.DuplicateName }));
  });

  it('accepts custom actuators in options', () => {
    const governor = new Governor({
      actuators: { nudge: { kinds: ['x'], apply: (k) => k.value + 1 } },
      rules: [{ metric: 'm', threshold: 1, action: 'nudge' }],
    });
    expect(governor.actions()).toContain('nudge');
    expect(governor.intervalMs).toBe(500);
  });

  it('does nothing heavy in the constructor: no timer until start', () => {
    const clock = new ManualClock();
    new Governor({ clock });
    expect(clock.pendingTimers).toBe(0);
  });
});

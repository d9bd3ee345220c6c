import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type BusEvent, EventBus } from '../../src/bus/index.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { type ProbeSource, SystemProbe, Telemetry, TelemetryTopic, type TelemetrySnapshot } from '../../src/telemetry/index.ts';

const source: ProbeSource = {
  name: 'fake',
  cpuLoad: async () => 0.5,
  memory: async () => ({ totalBytes: 10, usedBytes: 5, availableBytes: 5 }),
  diskBytes: async () => undefined,
  networkBytes: async () => undefined,
  gpus: async () => [],
};

describe('Telemetry', () => {
  it('publishes snapshots on `telemetry` every interval, with probe, latency, throughput and drift', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    const probe = new SystemProbe({ source, clock });
    await probe.sampleNow();
    const telemetry = new Telemetry({ bus, probe, clock, intervalMs: 500, runId: 'run-1' }).start();
    const got: BusEvent<TelemetrySnapshot>[] = [];
    bus.subscribe<TelemetrySnapshot>(TelemetryTopic, (e) => void got.push(e));
    telemetry.latency('activation').record(2);
    telemetry.throughput('items').add(10);
    telemetry.drift('activation').update(2);
    clock.advance(500);
    clock.advance(500);
    await tick();
    expect(got).toHaveLength(2);
    const snap = got[1]!.payload;
    expect(got[1]).toMatchObject({ runId: 'run-1', topic: TelemetryTopic, seq: 2 });
    expect(snap.system?.cpu.load).toBe(0.5);
    expect(snap.latency.activation).toMatchObject({ count: 1, ema: 2 });
    expect(snap.throughput.items?.total).toBe(10);
    expect(snap.drift.activation).toMatchObject({ drift: false, samples: 1 });
    telemetry.stop();
    clock.advance(5000);
    await tick();
    expect(got).toHaveLength(2);
  });

  it('pays nothing when nobody listens: no snapshot is built or published', () => {
    const bus = new EventBus();
    const telemetry = new Telemetry({ bus });
    expect(telemetry.publish()).toBeUndefined();
    expect(bus.getStats().topics).toEqual({});
  });

  it('returns the same tracker for a name, and stops when the bus shuts down', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    const telemetry = new Telemetry({ bus, clock, intervalMs: 10 }).start();
    expect(telemetry.latency('a')).toBe(telemetry.latency('a'));
    expect(telemetry.throughput('a')).toBe(telemetry.throughput('a'));
    await bus.shutdown();
    clock.advance(10);
    expect(telemetry.isRunning).toBe(false);
    expect(() => new Telemetry({ bus: undefined as never })).toThrow(/`bus`/);
  });
});

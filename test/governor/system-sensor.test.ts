import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { Governor, combineSensors, createSystemSensor } from '../../src/governor/index.ts';
import { tick } from '../fixtures/helpers.ts';

describe('createSystemSensor', () => {
  it.each([100, 249, Number.NaN, '500'])('rejects intervalMs %s with a coded error naming the value', (intervalMs) => {
    expect(() => createSystemSensor({ intervalMs: intervalMs as never })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(/`sensor\.intervalMs`.*>= 250/) }),
    );
  });

  it('samples in the background on its clock and answers instantly with the last values', async () => {
    const clock = new ManualClock();
    let n = 0;
    const sensor = createSystemSensor({ clock, intervalMs: 250, probe: async () => ({ cpu_util: ++n / 10, gpu_util: undefined }) });
    expect(sensor.read()).not.toHaveProperty('cpu_util'); // not started: only process metrics
    sensor.start();
    sensor.start();
    await tick(1);
    expect(sensor.read().cpu_util).toBe(0.1);
    clock.advance(250);
    await tick(1);
    expect(sensor.read().cpu_util).toBe(0.2);
    expect(sensor.samples).toBe(2);
    const reading = sensor.read();
    expect(reading.rss_bytes).toBeGreaterThan(0);
    expect(reading.heap_used_bytes).toBeGreaterThan(0);
    expect(reading.heap_util).toBeGreaterThan(0);
    expect(reading.heap_util).toBeLessThan(1);
    expect('gpu_util' in reading).toBe(false);
    sensor.stop();
    sensor.stop();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    await tick(1);
    expect(sensor.samples).toBe(2);
  });

  it('keeps the last values when a probe fails, and tries again', async () => {
    const clock = new ManualClock();
    let fail = false;
    const sensor = createSystemSensor({
      clock,
      probe: async () => {
        if (fail) throw new Error('boom');
        return { mem_util: 0.4 };
      },
    });
    sensor.start();
    await tick(1);
    fail = true;
    clock.advance(500);
    await tick(1);
    expect(sensor.read().mem_util).toBe(0.4);
    expect(clock.pendingTimers).toBe(1);
    sensor.stop();
  });

  it('reads the real machine: CPU and memory in [0, 1], no GPU metrics here', async () => {
    const sensor = createSystemSensor({ intervalMs: 250 });
    sensor.start();
    try {
      await expect.poll(() => sensor.samples, { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
      const reading = sensor.read();
      expect(reading.cpu_util).toBeGreaterThanOrEqual(0);
      expect(reading.cpu_util).toBeLessThanOrEqual(1);
      expect(reading.mem_util).toBeGreaterThan(0);
      expect(reading.mem_util).toBeLessThan(1);
      // This machine has no GPU: absent, never a fake zero.
      expect(reading.gpu_util).toBeUndefined();
      expect(reading.vram_util).toBeUndefined();
    } finally {
      sensor.stop();
    }
  });

  it('plugs into a governor, which starts and stops it', async () => {
    const clock = new ManualClock();
    const sensor = createSystemSensor({ clock, probe: async () => ({ cpu_util: 0.5 }) });
    const governor = new Governor({ clock, sensor });
    governor.start();
    expect(sensor.isRunning).toBe(true);
    await tick(1);
    const report = await governor.tick();
    expect(report.metrics.cpu_util).toBe(0.5);
    await governor.stop();
    expect(sensor.isRunning).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('combineSensors', () => {
  it('merges sources, later ones winning, sync or async', async () => {
    const sensor = combineSensors(
      () => ({ a: 1, b: 2 }),
      async () => ({ b: 3 }),
    );
    expect(await sensor()).toEqual({ a: 1, b: 3 });
  });

  it('rejects when one source fails', async () => {
    const sensor = combineSensors(
      () => ({ a: 1 }),
      () => {
        throw new Error('down');
      },
    );
    await expect(sensor()).rejects.toThrow('down');
  });
});

describe('the default machine probe', () => {
  it("reads telemetry's SystemProbe snapshot as governor metrics: GPU and VRAM only where a GPU reports them", async () => {
    const { readingsOf } = await import('../../src/governor/system-sensor.ts');
    const base = {
      time: '2026-12-01T00:00:00.000Z',
      sample: 1,
      cpu: { load: 0.25, cores: 2 },
      memory: { totalBytes: 1000, usedBytes: 400, availableBytes: 600, usedRatio: 0.4 },
      process: { rssBytes: 1, heapUsedBytes: 1 },
    };
    expect(readingsOf(base)).toEqual({
      cpu_util: 0.25,
      mem_util: 0.4,
      disk_read_bps: undefined,
      disk_write_bps: undefined,
      net_rx_bps: undefined,
      net_tx_bps: undefined,
    });
    const full = readingsOf({
      ...base,
      disk: { readBytesPerSec: 10, writeBytesPerSec: 20 },
      network: { rxBytesPerSec: 30, txBytesPerSec: 40 },
      gpu: [
        { vendor: 'v', model: 'a', utilization: 0.5, memoryTotalBytes: 100, memoryUsedBytes: 25 },
        { vendor: 'v', model: 'b', utilization: 0.75 },
        { vendor: 'v', model: 'no-telemetry' },
      ],
    });
    expect(full).toMatchObject({ disk_read_bps: 10, disk_write_bps: 20, net_rx_bps: 30, net_tx_bps: 40, gpu_util: 0.75, vram_util: 0.25 });
  });
});

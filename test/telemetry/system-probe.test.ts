import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { type ProbeSource, SystemProbe, createOsProbeSource } from '../../src/telemetry/index.ts';

function fakeSource(overrides: Partial<ProbeSource> = {}): ProbeSource & { disk: number } {
  const source: ProbeSource & { disk: number } = {
    name: 'fake',
    disk: 0,
    cpuLoad: async () => 0.25,
    memory: async () => ({ totalBytes: 100, usedBytes: 40, availableBytes: 60 }),
    diskBytes: async () => ({ read: source.disk, written: source.disk * 2 }),
    networkBytes: async () => undefined,
    gpus: async () => [],
    ...overrides,
  };
  return source;
}

describe('SystemProbe', () => {
  it('returns sane values on this machine (systeminformation); no GPU here means no gpu field', async () => {
    const probe = new SystemProbe({ intervalMs: 50 });
    await probe.start();
    await new Promise((r) => setTimeout(r, 400));
    probe.stop();
    const s = probe.snapshot()!;
    expect(s.sample).toBeGreaterThanOrEqual(2);
    expect(s.cpu.load).toBeGreaterThanOrEqual(0);
    expect(s.cpu.load).toBeLessThanOrEqual(1);
    expect(s.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(s.memory.totalBytes).toBeGreaterThan(64 * 1024 * 1024);
    expect(s.memory.usedBytes).toBeGreaterThan(0);
    expect(s.memory.usedRatio).toBeGreaterThan(0);
    expect(s.memory.usedRatio).toBeLessThan(1);
    expect(s.process.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(s.process.rssBytes).toBeLessThan(s.memory.totalBytes);
    expect(s.process.eventLoopDelay!.p99Ms).toBeGreaterThan(0);
    expect(s.process.eventLoopDelay!.maxMs).toBeGreaterThanOrEqual(s.process.eventLoopDelay!.p50Ms);
    if (s.disk) expect(s.disk.writeBytesPerSec).toBeGreaterThanOrEqual(0);
    if (s.network) expect(s.network.rxBytesPerSec).toBeGreaterThanOrEqual(0);
    // This machine has no GPU: the key is absent, not a zero-filled entry.
    expect('gpu' in s).toBe(false);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('snapshot() is instant: it never waits on the source', async () => {
    let calls = 0;
    const never = new Promise<number>(() => {});
    const probe = new SystemProbe({
      source: fakeSource({ cpuLoad: () => (calls++ === 0 ? Promise.resolve(0.5) : never) }),
      intervalMs: 10,
    });
    await probe.start();
    await new Promise((r) => setTimeout(r, 30)); // second sample hangs in the source
    const t0 = performance.now();
    const s = probe.snapshot();
    expect(performance.now() - t0).toBeLessThan(5);
    expect(s?.cpu.load).toBe(0.5);
    probe.stop();
  });

  it('reports GPUs only when present, and computes disk rates from counters', async () => {
    const clock = new ManualClock(0);
    const source = fakeSource({
      gpus: async () => [{ vendor: 'NVIDIA', model: 'H100', utilization: 0.3, memoryTotalBytes: 80e9, memoryUsedBytes: 1e9 }],
    });
    const probe = new SystemProbe({ source, clock, intervalMs: 1000 });
    const first = await probe.sampleNow();
    expect(first.gpu).toEqual([{ vendor: 'NVIDIA', model: 'H100', utilization: 0.3, memoryTotalBytes: 80e9, memoryUsedBytes: 1e9 }]);
    expect(first.disk).toBeUndefined(); // a rate needs two readings
    source.disk = 5000;
    clock.advance(1000);
    const second = await probe.sampleNow();
    expect(second.disk).toEqual({ readBytesPerSec: 5000, writeBytesPerSec: 10_000 });
    expect(second.network).toBeUndefined();
    expect(second.memory).toEqual({ totalBytes: 100, usedBytes: 40, availableBytes: 60, usedRatio: 0.4 });
  });

  it('a failing reading is counted as a coded error, and the sample goes on', async () => {
    const probe = new SystemProbe({
      source: fakeSource({
        diskBytes: async () => {
          throw new Error('no /proc');
        },
      }),
    });
    const s = await probe.sampleNow();
    expect(s.disk).toBeUndefined();
    expect(s.cpu.load).toBe(0.25);
    expect(probe.errors()).toMatchObject({ count: 1, lastError: { code: ErrorCode.ProbeFailed } });
  });

  it('the node:os source reports CPU and memory without dependencies', async () => {
    const probe = new SystemProbe({ source: createOsProbeSource() });
    await probe.sampleNow();
    const s = await probe.sampleNow();
    expect(s.cpu.load).toBeGreaterThanOrEqual(0);
    expect(s.memory.totalBytes).toBeGreaterThan(0);
    expect(s.disk).toBeUndefined();
    expect(s.gpu).toBeUndefined();
    expect(s.process.eventLoopDelay).toBeUndefined(); // not running: no histogram, so no numbers
  });
});

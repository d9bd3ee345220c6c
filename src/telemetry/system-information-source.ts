/**
 * A {@link ProbeSource} over `systeminformation`: CPU, memory, block-device and network
 * counters, and GPUs (model, utilization and VRAM where the driver reports them). Some calls
 * read /proc, some spawn a process (`graphics()` runs lspci / nvidia-smi), so the probe calls
 * them in the background only.
 */
import si from 'systeminformation';
import type { GpuSnapshot, MemoryReading, ProbeSource } from './probe-source.ts';

const kMiB = 1024 * 1024;

/** @internal Maps systeminformation's GPU controllers, leaving out what is not reported. */
export function toGpuSnapshots(controllers: readonly si.Systeminformation.GraphicsControllerData[]): GpuSnapshot[] {
  return controllers.map((c) => {
    const gpu: { -readonly [K in keyof GpuSnapshot]: GpuSnapshot[K] } = { vendor: c.vendor, model: c.model };
    if (typeof c.utilizationGpu === 'number') gpu.utilization = c.utilizationGpu / 100;
    const totalMiB = c.memoryTotal ?? c.vram ?? undefined;
    if (typeof totalMiB === 'number' && totalMiB > 0) gpu.memoryTotalBytes = totalMiB * kMiB;
    if (typeof c.memoryUsed === 'number') gpu.memoryUsedBytes = c.memoryUsed * kMiB;
    return gpu;
  });
}

/**
 * Creates the `systeminformation` source.
 *
 * @example
 * ```ts
 * const probe = new SystemProbe({ source: createSystemInformationSource() }); // the default
 * ```
 */
export function createSystemInformationSource(): ProbeSource {
  return {
    name: 'systeminformation',
    async cpuLoad(): Promise<number> {
      const load = await si.currentLoad();
      return Math.min(1, Math.max(0, load.currentLoad / 100));
    },
    async memory(): Promise<MemoryReading> {
      const m = await si.mem();
      return { totalBytes: m.total, usedBytes: m.total - m.available, availableBytes: m.available };
    },
    async diskBytes() {
      const fs = await si.fsStats();
      return typeof fs?.rx === 'number' && typeof fs.wx === 'number' ? { read: fs.rx, written: fs.wx } : undefined;
    },
    async networkBytes() {
      const ifaces = await si.networkStats();
      if (!Array.isArray(ifaces) || ifaces.length === 0) return undefined;
      let rx = 0;
      let tx = 0;
      for (const i of ifaces) {
        rx += i.rx_bytes;
        tx += i.tx_bytes;
      }
      return { rx, tx };
    },
    async gpus(): Promise<GpuSnapshot[]> {
      return toGpuSnapshots((await si.graphics()).controllers);
    },
  };
}

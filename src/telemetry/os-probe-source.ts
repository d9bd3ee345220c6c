/**
 * A {@link ProbeSource} over `node:os` alone: CPU and memory, nothing that spawns a process.
 * Disk and network are unknown (undefined) and no GPU is reported.
 */
import os from 'node:os';
import type { MemoryReading, ProbeSource } from './probe-source.ts';

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const sum = t.user + t.nice + t.sys + t.idle + t.irq;
    total += sum;
    busy += sum - t.idle;
  }
  return { busy, total };
}

/**
 * Creates the `node:os` source.
 *
 * @example
 * ```ts
 * const probe = new SystemProbe({ source: createOsProbeSource() });
 * ```
 */
export function createOsProbeSource(): ProbeSource {
  let previous = cpuTimes();
  return {
    name: 'os',
    async cpuLoad(): Promise<number> {
      const now = cpuTimes();
      const total = now.total - previous.total;
      const busy = now.busy - previous.busy;
      previous = now;
      return total > 0 ? Math.min(1, Math.max(0, busy / total)) : 0;
    },
    async memory(): Promise<MemoryReading> {
      const totalBytes = os.totalmem();
      const availableBytes = os.freemem();
      return { totalBytes, usedBytes: totalBytes - availableBytes, availableBytes };
    },
    async diskBytes() {
      return undefined;
    },
    async networkBytes() {
      return undefined;
    },
    async gpus() {
      return [];
    },
  };
}

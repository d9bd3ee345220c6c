/**
 * Where the system probe gets its readings. Two real implementations: one over
 * `systeminformation` (CPU, memory, disk, network, GPU) and one over `node:os` alone (CPU and
 * memory; no dependencies, no child processes).
 */

/** One GPU; a field the driver does not report is absent, never zero. */
export interface GpuSnapshot {
  readonly vendor: string;
  readonly model: string;
  /** Busy fraction, 0..1. */
  readonly utilization?: number;
  readonly memoryTotalBytes?: number;
  readonly memoryUsedBytes?: number;
}

/** Machine memory, in bytes. */
export interface MemoryReading {
  readonly totalBytes: number;
  readonly usedBytes: number;
  readonly availableBytes: number;
}

/** A source of system readings; every call may be slow (tens of ms) and is awaited off the hot path. */
export interface ProbeSource {
  /** A name for logs (`systeminformation`, `os`). */
  readonly name: string;
  /** Busy fraction of all cores, 0..1, since the previous call (or since boot on the first). */
  cpuLoad(): Promise<number>;
  memory(): Promise<MemoryReading>;
  /** Cumulative bytes read and written by block devices, or undefined where unknown. */
  diskBytes(): Promise<{ read: number; written: number } | undefined>;
  /** Cumulative bytes received and sent on the default interface, or undefined where unknown. */
  networkBytes(): Promise<{ rx: number; tx: number } | undefined>;
  /** The GPUs present; an empty array when there are none. */
  gpus(): Promise<GpuSnapshot[]>;
}

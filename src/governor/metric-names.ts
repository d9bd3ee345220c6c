/**
 * The metric names the governor's sensors report and its default rules read. Subsystem
 * metrics use the same names and are reported as `<subsystem>.<metric>`; a rule acting on a
 * subsystem reads `<subsystem>.<metric>` first and falls back to the machine-wide `<metric>`.
 *
 * @example
 * ```ts
 * new PolicyRule({ metric: Metric.VramUtil, threshold: 0.85, action: 'reduce_batch' });
 * ```
 */
export const Metric = {
  /** Share of CPU time busy, 0..1, across all cores. */
  CpuUtil: 'cpu_util',
  /** Share of physical memory in use (active), 0..1. */
  MemUtil: 'mem_util',
  /** Resident set size of this process, bytes. */
  RssBytes: 'rss_bytes',
  /** V8 heap in use, bytes. */
  HeapUsedBytes: 'heap_used_bytes',
  /** V8 heap in use over the heap size limit, 0..1. */
  HeapUtil: 'heap_util',
  /** GPU busy share, 0..1; absent (undefined) without a GPU. */
  GpuUtil: 'gpu_util',
  /** GPU memory in use, 0..1; absent (undefined) without a GPU. */
  VramUtil: 'vram_util',
  /** Disk reads, bytes per second. */
  DiskReadBps: 'disk_read_bps',
  /** Disk writes, bytes per second. */
  DiskWriteBps: 'disk_write_bps',
  /** Network receive, bytes per second, all interfaces. */
  NetRxBps: 'net_rx_bps',
  /** Network transmit, bytes per second, all interfaces. */
  NetTxBps: 'net_tx_bps',
  /** Event-loop delay of the main thread, p99 over the last interval, milliseconds. */
  EventLoopDelayMs: 'event_loop_delay_ms',
  /** Items waiting in slot queues, and under a transport in other processes for this runtime's jobs (runtime metric). */
  QueueDepth: 'queue_depth',
  /** Under a transport: items sent or held for other processes and not finished there (runtime metric). */
  TransportBacklog: 'transport_backlog',
  /** Highest slot fill ratio, 0..1 (runtime metric). */
  QueuePressure: 'queue_pressure',
  /** Activation latency p95, milliseconds (runtime metric). */
  LatencyMs: 'latency_ms',
  /** Items completed per second (runtime metric). */
  Throughput: 'throughput',
  /** In-flight activations over the pool size, 0..1 (runtime metric). */
  PoolUtil: 'pool_util',
} as const;

/** One of the built-in metric names. */
export type MetricName = (typeof Metric)[keyof typeof Metric];

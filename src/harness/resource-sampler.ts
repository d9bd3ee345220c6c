/**
 * Samples what a run costs while it runs: peak RSS (`process.memoryUsage.rss()`) and pool
 * utilisation (busy batches over the effective size, from `runtime.stats().pool`), on an
 * unref'd timer so sampling never keeps the process alive. CPU time comes from
 * `process.cpuUsage()` at start and stop.
 */

/** One sample. */
export interface ResourceSample {
  /** performance.now() of the sample. */
  readonly at: number;
  readonly rssBytes: number;
  /** Busy share of the pool (0–1), or undefined without a pool. */
  readonly poolUtilization: number | undefined;
}

/** What a resource sampler reports when it stops. */
export interface ResourceReport {
  readonly peakRssBytes: number;
  readonly cpuMs: { readonly user: number; readonly system: number };
  /** Mean of the utilisation samples, or null when there was no pool. */
  readonly poolUtilization: number | null;
  readonly samples: readonly ResourceSample[];
}

/**
 * Samples resources between `start()` and `stop()`.
 *
 * @example
 * ```ts
 * const sampler = new ResourceSampler(() => runtime.stats().pool, 50);
 * sampler.start();
 * // … the run …
 * const { peakRssBytes, cpuMs, poolUtilization } = sampler.stop();
 * ```
 */
export class ResourceSampler {
  readonly #pool: () => { readonly busy: number; readonly threads: number } | undefined;
  readonly #intervalMs: number;
  readonly #samples: ResourceSample[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #cpu: NodeJS.CpuUsage | undefined;
  #peak = 0;

  constructor(pool: () => { readonly busy: number; readonly threads: number } | undefined, intervalMs: number) {
    this.#pool = pool;
    this.#intervalMs = intervalMs;
  }

  #sample(): void {
    const rssBytes = process.memoryUsage.rss();
    if (rssBytes > this.#peak) this.#peak = rssBytes;
    const pool = this.#pool();
    this.#samples.push({
      at: performance.now(),
      rssBytes,
      poolUtilization: pool === undefined || pool.threads === 0 ? undefined : Math.min(1, pool.busy / pool.threads),
    });
  }

  /** Starts sampling (and the CPU clock). */
  start(): void {
    this.#cpu = process.cpuUsage();
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops sampling and reports. */
  stop(): ResourceReport {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sample();
    const cpu = process.cpuUsage(this.#cpu);
    const util = this.#samples.map((s) => s.poolUtilization).filter((u): u is number => u !== undefined);
    return {
      peakRssBytes: this.#peak,
      cpuMs: { user: cpu.user / 1000, system: cpu.system / 1000 },
      poolUtilization: util.length === 0 ? null : util.reduce((a, b) => a + b, 0) / util.length,
      samples: this.#samples,
    };
  }
}

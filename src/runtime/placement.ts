/**
 * Where a routine's logic runs, per routine per worker. `inline` and `pool` are fixed; `auto`
 * runs inline first and measures the logic's synchronous cost over the first `samples`
 * activations, then moves to the pool when the median is above `thresholdUs` (the median, so
 * the first cold, unoptimised runs do not decide) (the hop to a thread
 * and back costs ~30–80 µs, so offloading pays above ~65–90 µs of work) and stays inline
 * otherwise. The decision is made once and shown in `runtime.stats().placements`.
 */
import type { Placement } from '../core/flow.ts';

/** A snapshot of one routine's placement. */
export interface PlacementStats {
  readonly workerId: string;
  readonly routineId: string;
  /** What the flow asked for. */
  readonly requested: Placement;
  /** Where activations run now. */
  readonly current: 'inline' | 'pool';
  /** True once `auto` has decided (always true for `inline` and `pool`). */
  readonly decided: boolean;
  /** Activations measured inline (for `auto`). */
  readonly samples: number;
  /** Median measured cost per activation in µs (for `auto`; 0 before the first sample). */
  readonly costUs: number;
  /** Why `current` is what it is. */
  readonly reason: string;
}

/** The placement state of one routine in one worker. */
export class PlacementProbe {
  readonly requested: Placement;
  #onPool: boolean;
  #measuring: boolean;
  readonly #costs: number[] = [];
  #reason: string;
  readonly #wanted: number;
  readonly #thresholdUs: number;
  readonly #poolable: boolean;

  constructor(requested: Placement, options: { samples: number; thresholdUs: number; poolable: boolean }) {
    this.requested = requested;
    this.#wanted = options.samples;
    this.#thresholdUs = options.thresholdUs;
    this.#poolable = options.poolable;
    this.#onPool = requested === 'pool';
    this.#measuring = requested === 'auto' && options.poolable;
    this.#reason =
      requested === 'pool'
        ? 'placement "pool"'
        : requested === 'inline'
          ? 'placement "inline"'
          : options.poolable
            ? `measuring the first ${options.samples} activations inline`
            : 'placement "auto" stays inline: the flow was not built by defineFlow(), so threads cannot rebuild it';
  }

  /** True when activations go to the pool. */
  get onPool(): boolean {
    return this.#onPool;
  }

  /** True while `auto` is still measuring. */
  get measuring(): boolean {
    return this.#measuring;
  }

  /** Records one inline activation's synchronous cost (µs); decides after enough samples. */
  record(costUs: number): void {
    if (!this.#measuring) return;
    this.#costs.push(costUs);
    if (this.#costs.length < this.#wanted) return;
    this.#measuring = false;
    const median = this.#median();
    this.#onPool = this.#poolable && median > this.#thresholdUs;
    this.#reason =
      `median cost ${median.toFixed(1)} µs over ${this.#costs.length} activations ${this.#onPool ? '>' : '<='} ` +
      `${this.#thresholdUs} µs threshold`;
  }

  #median(): number {
    if (this.#costs.length === 0) return 0;
    const sorted = [...this.#costs].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  }

  snapshot(workerId: string, routineId: string): PlacementStats {
    return {
      workerId,
      routineId,
      requested: this.requested,
      current: this.#onPool ? 'pool' : 'inline',
      decided: !this.#measuring,
      samples: this.#costs.length,
      costUs: this.#median(),
      reason: this.#reason,
    };
  }
}

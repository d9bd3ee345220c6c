/**
 * Feeds every job latency and activation duration to listeners (an OpenTelemetry histogram), by
 * setting the engine's histograms' observers while anyone listens and clearing them when nobody
 * does: no listener, no cost.
 */
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';
import type { DurationStats } from './duration-stats.ts';
import type { DurationLabels, DurationListener } from './runtime-observation.ts';
import type { WorkerEngine } from './worker-engine.ts';

/** The histograms there are now: job latency per flow, and every worker's runners. */
type Sources = () => { jobs: Iterable<[string, DurationStats]>; workers: Iterable<WorkerEngine> };

export class DurationFeed {
  readonly #listeners = new Set<DurationListener>();
  readonly #sources: Sources;

  constructor(sources: Sources) {
    this.#sources = sources;
  }

  /** Adds `listener`; the first one wires every histogram, the last one's dispose unwires them. */
  add(listener: DurationListener): DisposableHandle {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#wireAll(true);
    return createDisposable(() => {
      if (this.#listeners.delete(listener) && this.#listeners.size === 0) this.#wireAll(false);
    });
  }

  /** A flow's job histogram made after listeners came. */
  job(flow: string, stats: DurationStats): void {
    if (this.#listeners.size > 0) this.#wireJob(flow, stats, true);
  }

  /** A worker made after listeners came. */
  worker(engine: WorkerEngine): void {
    if (this.#listeners.size > 0) this.#wireWorker(engine, true);
  }

  #wireAll(on: boolean): void {
    const { jobs, workers } = this.#sources();
    for (const [flow, stats] of jobs) this.#wireJob(flow, stats, on);
    for (const engine of workers) this.#wireWorker(engine, on);
  }

  #wireJob(flow: string, stats: DurationStats, on: boolean): void {
    const labels = { flow };
    stats.observer = on ? (ms) => this.#emit('job', labels, ms) : undefined;
  }

  #wireWorker(engine: WorkerEngine, on: boolean): void {
    for (const runner of engine.runners.values()) {
      const inline = { flow: engine.flow.id, routine: runner.id, placement: 'inline' };
      const pool = { ...inline, placement: 'pool' };
      runner.durations.observer = on ? (ms) => this.#emit('activation', runner.placement.onPool ? pool : inline, ms) : undefined;
    }
  }

  #emit(kind: 'job' | 'activation', labels: DurationLabels, ms: number): void {
    for (const listener of this.#listeners) listener(kind, labels, ms);
  }
}

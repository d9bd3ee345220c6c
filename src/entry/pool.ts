/**
 * `sluice/pool`: the thread pool a runtime puts `placement: 'pool'` routines on (Piscina with
 * dispatch batching). A runtime makes its own from the `pool` option; make one to share it
 * between runtimes or to size it yourself. See docs/pool.md.
 *
 * @module sluice/pool
 */
export { ThreadPool } from '../pool/index.ts';
export type {
  ThreadPoolOptions,
  ResolvedThreadPoolOptions,
  ThreadPoolStats,
  ThreadPoolStatus,
  TimePercentiles,
  ThreadStats,
} from '../pool/index.ts';
export type { PlacementStats } from '../runtime/index.ts';

/** The thread pool: Piscina adapter, dispatch batching, control plane and the worker entry. */
export { ThreadPool } from './thread-pool.ts';
export type { ThreadPoolStats, ThreadPoolStatus, TimePercentiles } from './thread-pool.ts';
export { resolveThreadPoolOptions } from './pool-options.ts';
export type { ThreadPoolOptions, ResolvedThreadPoolOptions } from './pool-options.ts';
export type { ThreadStats, ControlApi } from './control-plane.ts';
export type { PoolTarget, DispatcherStats } from './dispatcher.ts';
export { serializeError, deserializeError } from './protocol.ts';
export { BatchEncoder, BatchDecoder, OpWriter, OpReader } from './batch-codec.ts';
export type { BatchHeader, DecodedActivation, DecodedJob, ItemJobs, OpVisitor } from './batch-codec.ts';
export type { OpStream, SerializedError, BatchTask, BatchResult, Mutable, StartMark } from './protocol.ts';
export { findClassInstance, findUnclonable, isDetached } from './clonable.ts';
export { isPoolThread, assertNotInFlowModuleImport, assertNotPoolThread, warnRuntimeInPoolThread } from './pool-thread.ts';
export type { Unclonable } from './clonable.ts';

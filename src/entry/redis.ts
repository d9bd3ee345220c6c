/**
 * `sluice/redis`: the Redis Streams transport. `new Runtime({ transport: redis({ url }) })` runs
 * the routines added with `distributed: true` across every process that runs their flow; the rest
 * stays in-process. Needs the optional peer `ioredis`. See docs/distributed.md.
 *
 * @module sluice/redis
 */
export { redis, RedisTransport } from '../transport/redis-transport.ts';
export { partitionOf } from '../transport/redis-binding.ts';
export type { RedisTransportOptions } from '../transport/redis-transport.ts';
export type { Transport, TransportStats } from '../runtime/transport.ts';

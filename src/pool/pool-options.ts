/**
 * The thread pool's options, declared once, defaulted once and validated at the edge.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertInteger, assertKnownKeys, assertMs, assertNumber, assertObject } from '../core/validate.ts';

/** Options of the runtime's thread pool (`new Runtime({ pool: { … } })`). */
export interface ThreadPoolOptions {
  /**
   * A Piscina pool the caller owns, used instead of one sluice creates (sluice passes its
   * worker entry as `filename` per task and never closes an injected pool).
   * @default undefined
   */
  piscina?: Piscina;
  /**
   * Effective size: how many dispatch batches run in parallel (one per thread). Change it at
   * run time with `runtime.pool.resize(n)`.
   * @default Math.max(1, availableParallelism() - 1)
   */
  threads?: number;
  /**
   * Ceiling of threads the Piscina pool may start; `resize()` past it swaps in a larger pool.
   * @default Math.max(threads, availableParallelism())
   */
  maxThreads?: number;
  /**
   * Milliseconds an idle thread above `threads` lives before it is stopped.
   * @default 30000
   */
  idleTimeout?: number;
  /**
   * Memory limits of each thread (`worker_threads` `resourceLimits`); a thread that passes them
   * dies, its activations fail with `SLUICE_ERR_WORKER_CRASHED` and it is replaced.
   * @default undefined
   */
  resourceLimits?: ResourceLimits;
  /**
   * Activations packed into one pool task (the dispatch batch). A runtime knob: see
   * `runtime.pool.setDispatchBatch(n)`.
   * @default 64
   */
  dispatchBatch?: number;
  /**
   * Longest a partial dispatch batch waits for more activations while a thread is free, in ms.
   * `0` sends it at the end of the current turn of the event loop: everything one burst of
   * posts produced travels together, and a lone activation is not held back by a timer.
   * @default 0
   */
  flushMs?: number;
  /**
   * Timeout of one pool activation when its routine sets no `timeoutMs`, in ms; `0` for none.
   * A batch of `n` activations gets `n` times its routine's timeout, counted from when a thread
   * starts running it (not while it waits for a thread or a thread starts).
   * @default 0
   */
  activationTimeoutMs?: number;
  /**
   * Structured clone carries a class instance across threads as a plain object: its prototype,
   * methods, getters and `#private` fields are lost. With `true`, an item, message, routine
   * state or job data holding a class instance (other than the built-ins clone rebuilds: Date,
   * Map, Set, RegExp, Error, typed arrays) fails its activation with `SLUICE_ERR_NOT_CLONABLE`
   * naming the class, instead of arriving stripped; so do values emitted in an owned pool's threads.
   * @default false
   */
  rejectClassInstances?: boolean;
  /**
   * Placement `auto`: activations measured inline before deciding.
   * @default 16
   */
  autoSamples?: number;
  /**
   * Placement `auto`: median logic cost per activation (µs) above which a routine moves to the
   * pool. Offloading pays above ~65–90 µs of work on the reference machine.
   * @default 100
   */
  autoThresholdUs?: number;
}

/** Options with every default filled in. */
export interface ResolvedThreadPoolOptions {
  readonly piscina: Piscina | undefined;
  readonly threads: number;
  readonly maxThreads: number;
  readonly idleTimeout: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly dispatchBatch: number;
  readonly flushMs: number;
  readonly activationTimeoutMs: number;
  readonly autoSamples: number;
  readonly autoThresholdUs: number;
  readonly rejectClassInstances: boolean;
}

const kKeys = [
  'piscina',
  'threads',
  'maxThreads',
  'idleTimeout',
  'resourceLimits',
  'dispatchBatch',
  'flushMs',
  'activationTimeoutMs',
  'autoSamples',
  'autoThresholdUs',
  'rejectClassInstances',
] as const;

/** Validates `options` and fills in defaults; `injected` is a Piscina the caller owns. */
export function resolveThreadPoolOptions(options: ThreadPoolOptions | undefined): ResolvedThreadPoolOptions {
  assertObject('pool options', options, true);
  const o = options ?? {};
  assertKnownKeys('pool options', o as Record<string, unknown>, kKeys);
  const injected = o.piscina;
  if (
    injected !== undefined &&
    (typeof injected !== 'object' || injected === null || typeof (injected as { run?: unknown }).run !== 'function')
  ) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`piscina\` to be a Piscina instance, got ${describeValue(injected)}`);
  }
  const cores = availableParallelism();
  const threads = o.threads ?? injected?.options.maxThreads ?? Math.max(1, cores - 1);
  assertInteger('threads', threads, 1);
  const maxThreads = o.maxThreads ?? injected?.options.maxThreads ?? Math.max(threads, cores);
  assertInteger('maxThreads', maxThreads, 1);
  if (threads > maxThreads) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`threads\` (${threads}) to be <= \`maxThreads\` (${maxThreads}); raise maxThreads or lower threads`,
      {
        details: { name: 'threads', threads, maxThreads },
      },
    );
  }
  const resolved: ResolvedThreadPoolOptions = {
    piscina: injected,
    threads,
    maxThreads,
    idleTimeout: o.idleTimeout ?? 30_000,
    resourceLimits: o.resourceLimits,
    dispatchBatch: o.dispatchBatch ?? 64,
    flushMs: o.flushMs ?? 0,
    activationTimeoutMs: o.activationTimeoutMs ?? 0,
    autoSamples: o.autoSamples ?? 16,
    autoThresholdUs: o.autoThresholdUs ?? 100,
    rejectClassInstances: o.rejectClassInstances ?? false,
  };
  if (typeof resolved.rejectClassInstances !== 'boolean') {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`rejectClassInstances\` to be a boolean, got ${describeValue(resolved.rejectClassInstances)}`,
    );
  }
  assertMs('idleTimeout', resolved.idleTimeout, 0);
  if (resolved.resourceLimits !== undefined && (typeof resolved.resourceLimits !== 'object' || resolved.resourceLimits === null)) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`resourceLimits\` to be an object, got ${describeValue(resolved.resourceLimits)}`,
    );
  }
  assertInteger('dispatchBatch', resolved.dispatchBatch, 1);
  assertMs('flushMs', resolved.flushMs, 0);
  assertMs('activationTimeoutMs', resolved.activationTimeoutMs, 0);
  assertInteger('autoSamples', resolved.autoSamples, 1);
  assertNumber('autoThresholdUs', resolved.autoThresholdUs, 0);
  return Object.freeze(resolved);
}

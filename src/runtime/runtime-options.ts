/**
 * The Runtime's options, declared once, defaulted once and validated at the edge.
 */
import type { Transport } from './transport.ts';
import { Piscina } from 'piscina';
import { resolveThreadPoolOptions, type ThreadPoolOptions } from '../pool/index.ts';
import { EventBus } from '../bus/index.ts';
import { realClock, type Clock } from '../core/clock.ts';
import { Governor } from '../governor/index.ts';
import type { BreakerOptions } from '../resilience/index.ts';
import type { DurableSinkOptions, EventLog } from '../store/index.ts';
import type { OtelTracerProvider } from '../core/otel.ts';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertFunction, assertInteger, assertKnownKeys, assertMs, assertName, assertObject } from '../core/validate.ts';

/**
 * Options of `new Runtime(options)`.
 *
 * @category Runtime
 */
export interface RuntimeOptions {
  /**
   * A name for logs and the event stream.
   * @default 'sluice'
   */
  name?: string;
  /**
   * The clock for policy timers, retry delays and durations; tests pass a `ManualClock`.
   * @default realClock
   */
  clock?: Clock;
  /**
   * Trace entries kept per job; further ones are counted in `job.traceDropped`.
   * @default 64
   */
  traceLimit?: number;
  /**
   * Activation records kept per worker in `executionHistory`.
   * @default 100
   */
  historyLimit?: number;
  /**
   * Finished jobs kept for `getJob()`/`listJobs()`; older ones are evicted (unfinished jobs are
   * always kept). Keeping many finished jobs costs memory and GC time on long runs.
   * @default 1000
   */
  jobHistoryLimit?: number;
  /**
   * Longest the scheduler runs routines before yielding to the event loop, in milliseconds.
   * @default 10
   */
  drainBudgetMs?: number;
  /**
   * The random source of retry jitter (tests make it deterministic).
   * @default Math.random
   */
  random?: () => number;
  /**
   * The bus the runtime publishes its events on (see `RuntimeTopic`). Give one to share it with
   * other components; by default the runtime makes its own.
   */
  bus?: EventBus;
  /**
   * The id of this run: the stream of every event this runtime publishes, and the key of its
   * record in the durable log.
   * @default `run-<time>-<random>`
   */
  runId?: string;
  /**
   * A governor to register with on `start()` (and leave on `close()`): the runtime offers its
   * pool size, dispatch batch and per-routine batch sizes as knobs, its queue, latency,
   * throughput and pool metrics, and an admission gate at `post()` (`throttle`, `shed_load`, and
   * a wait limit from the governor's `latencyTargetMs`: see docs/governor.md).
   * Requires `await runtime.start()`. The governor's own `start()`/`stop()` stay the caller's.
   * @default undefined (not governed)
   */
  governor?: Governor;
  /**
   * Circuit breakers: options every breaker starts from, and per dependency name (routines
   * declare `breaker` and `dependencies` in `addRoutine`).
   * @default { defaults: {}, dependencies: {} }
   */
  breakers?: { defaults?: BreakerOptions; dependencies?: Readonly<Record<string, BreakerOptions>> };
  /**
   * How often health checks run (store, pool, bus, governor), in ms.
   * @default 5000
   */
  healthIntervalMs?: number;
  /**
   * Interval of `run.heartbeat` events between `start()` and `close()`, so a watcher can tell a
   * stalled run from a quiet one; 0 turns them off.
   * @default 5000
   */
  heartbeatMs?: number;
  /**
   * Unfinished jobs the runtime holds at once, across flows (Routilux's `max_queue_size`). At
   * the bound, `post()` refuses with `SLUICE_ERR_TOO_MANY_JOBS`, and `postAsync()` and
   * `postAll()` wait until a job ends. `Infinity`: no bound beyond the slots' own.
   * @default Infinity
   */
  maxPendingJobs?: number;
  /**
   * `postAsync()` calls that may wait at once (for room in a full `block` slot, or for a
   * recording that is behind), across the runtime. Each waiting call holds its data and a job;
   * past this many, `postAsync()` refuses at once with `SLUICE_ERR_TOO_MANY_WAITING` instead of
   * growing memory without limit.
   * @default 10000
   */
  maxParkedPosts?: number;
  /**
   * Records the run's events durably (see `RecordOptions`); requires `await runtime.start()`.
   * @default undefined (not recorded)
   */
  record?: RecordOptions;
  /**
   * The thread pool of `pool` and `auto` routines: its options, or a Piscina instance the caller
   * owns (sluice then never closes it). The pool starts only when a routine needs it.
   * @default {} (see `ThreadPoolOptions`)
   * @example
   * ```ts
   * new Runtime({ pool: { threads: 2, dispatchBatch: 64, resourceLimits: { maxOldGenerationSizeMb: 256 } } });
   * ```
   */
  pool?: ThreadPoolOptions | Piscina;
  /**
   * An OpenTelemetry TracerProvider: every job then gets a span (`sluice.job <flow>`, child of
   * the context active at `post()`), ended with the job's status; its W3C context is
   * `job.traceparent`, in pool threads too (`currentJob().traceparent`), so logic can continue
   * the trace. See docs/serve.md ("Traces").
   * @default undefined (jobs are not traced; nothing is paid)
   */
  tracerProvider?: OtelTracerProvider;
  /**
   * The SQLite file checkpoints are saved to and resumed from (`worker.checkpoint()`,
   * `close({ checkpoint: true })`, `exec(flowId, { resume })`).
   * @default the recording's file, when `record.log` is a path
   */
  checkpoints?: string;
  /**
   * Runs the flows' distributed routines (`addRoutine(…, { distributed: true })`) across
   * processes: `redis({ url })` from `sluice/redis` (Redis Streams). Everything else stays
   * in-process. See docs/distributed.md.
   * @default undefined (every routine runs in this process)
   */
  transport?: Transport;
}

/**
 * Where and what the runtime records.
 *
 * @category Runtime
 */
export interface RecordOptions {
  /** An event log, or the path of a SQLite file to open (created when missing). */
  log: EventLog | string;
  /**
   * Topic patterns to record.
   * @default kDefaultRecordedTopics (everything but the per-activation stream)
   */
  topics?: readonly string[];
  /** Options of the durable sink (batching, high-water mark). */
  sink?: Omit<DurableSinkOptions, 'log' | 'clock'>;
  /**
   * How much of the log to keep, applied when the runtime starts and when it closes (never to
   * its own run): the most recent `keepRuns` runs, and the oldest runs go until the rest take at
   * most `maxBytes` (`RunInfo.bytes`). `false` keeps everything.
   * @default { keepRuns: 100, maxBytes: 1 GiB } (kDefaultRetention)
   * @example
   * ```ts
   * new Runtime({ record: { log: '.sluice/runs.sqlite', retention: { keepRuns: 20, maxBytes: 256 * 2 ** 20 } } });
   * ```
   */
  retention?: { keepRuns?: number; maxBytes?: number } | false;
}

/** Options with every default filled in. */
export type ResolvedRuntimeOptions = Readonly<
  Required<Omit<RuntimeOptions, 'bus' | 'record' | 'pool' | 'governor' | 'breakers' | 'tracerProvider' | 'checkpoints' | 'transport'>> & {
    checkpoints: string | undefined;
    transport: Transport | undefined;
    bus: EventBus;
    tracerProvider: OtelTracerProvider | undefined;
    record: RecordOptions | undefined;
    pool: ThreadPoolOptions;
    governor: Governor | undefined;
    breakers: { defaults: BreakerOptions; dependencies: Readonly<Record<string, BreakerOptions>> };
  }
>;

const kKeys = [
  'name',
  'clock',
  'traceLimit',
  'historyLimit',
  'jobHistoryLimit',
  'drainBudgetMs',
  'random',
  'bus',
  'runId',
  'record',
  'governor',
  'heartbeatMs',
  'breakers',
  'healthIntervalMs',
  'pool',
  'maxParkedPosts',
  'maxPendingJobs',
  'tracerProvider',
  'checkpoints',
  'transport',
] as const;

function defaultRunId(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `run-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Validates `options` and fills in defaults. */
export function resolveRuntimeOptions(options: RuntimeOptions | undefined): ResolvedRuntimeOptions {
  assertObject('Runtime options', options, true);
  const o = options ?? {};
  assertKnownKeys('Runtime options', o as Record<string, unknown>, kKeys);
  const resolved = {
    name: o.name ?? 'sluice',
    clock: o.clock ?? realClock,
    traceLimit: o.traceLimit ?? 64,
    historyLimit: o.historyLimit ?? 100,
    jobHistoryLimit: o.jobHistoryLimit ?? 1000,
    drainBudgetMs: o.drainBudgetMs ?? 10,
    random: o.random ?? Math.random,
    bus: o.bus ?? new EventBus({ clock: o.clock ?? realClock }),
    runId: o.runId ?? defaultRunId(),
    record: o.record,
    governor: o.governor,
    heartbeatMs: o.heartbeatMs ?? 5_000,
    breakers: { defaults: o.breakers?.defaults ?? {}, dependencies: o.breakers?.dependencies ?? {} },
    healthIntervalMs: o.healthIntervalMs ?? 5_000,
    maxParkedPosts: o.maxParkedPosts ?? 10_000,
    maxPendingJobs: o.maxPendingJobs ?? Number.POSITIVE_INFINITY,
    pool: o.pool instanceof Piscina ? { piscina: o.pool } : (o.pool ?? {}),
    tracerProvider: o.tracerProvider,
    checkpoints: o.checkpoints,
    transport: o.transport,
  };
  // Validated here, at the edge, though the pool itself is created on first use.
  resolveThreadPoolOptions(resolved.pool);
  assertName('name', resolved.name);
  if (
    typeof resolved.clock !== 'object' ||
    resolved.clock === null ||
    typeof resolved.clock.now !== 'function' ||
    typeof resolved.clock.setTimeout !== 'function'
  ) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`clock\` to be a Clock (with now() and setTimeout()), got ${describeValue(resolved.clock)}`,
    );
  }
  assertInteger('traceLimit', resolved.traceLimit, 0);
  assertInteger('historyLimit', resolved.historyLimit, 0);
  assertInteger('jobHistoryLimit', resolved.jobHistoryLimit, 0);
  assertMs('drainBudgetMs', resolved.drainBudgetMs, 0.1);
  assertFunction('random', resolved.random);
  if (!(resolved.bus instanceof EventBus)) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`bus\` to be an EventBus, got ${describeValue(resolved.bus)}`);
  }
  assertName('runId', resolved.runId);
  assertMs('heartbeatMs', resolved.heartbeatMs, 0, { integer: true });
  assertMs('healthIntervalMs', resolved.healthIntervalMs, 1);
  assertInteger('maxParkedPosts', resolved.maxParkedPosts, 0);
  if (resolved.maxPendingJobs !== Number.POSITIVE_INFINITY) assertInteger('maxPendingJobs', resolved.maxPendingJobs, 1);
  assertObject('breakers', o.breakers, true);
  if (o.breakers !== undefined) assertKnownKeys('breakers', o.breakers as Record<string, unknown>, ['defaults', 'dependencies']);
  assertObject('breakers.defaults', resolved.breakers.defaults);
  assertObject('breakers.dependencies', resolved.breakers.dependencies);
  if (resolved.governor !== undefined && !(resolved.governor instanceof Governor)) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`governor\` to be a Governor, got ${describeValue(resolved.governor)}`);
  }
  if (resolved.tracerProvider !== undefined && typeof (resolved.tracerProvider as { getTracer?: unknown })?.getTracer !== 'function') {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`tracerProvider\` to be an OpenTelemetry TracerProvider (with getTracer()), got ${describeValue(resolved.tracerProvider)}`,
    );
  }
  if (resolved.checkpoints !== undefined) assertName('checkpoints', resolved.checkpoints);
  const transport = resolved.transport as Partial<Transport> | undefined;
  if (transport !== undefined && (typeof transport?.bind !== 'function' || typeof transport.close !== 'function')) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`transport\` to be a transport such as redis({ url }) from sluice/redis, got ${describeValue(resolved.transport)}`,
    );
  }
  if (resolved.record !== undefined) {
    assertObject('record', resolved.record);
    assertKnownKeys('record', resolved.record as unknown as Record<string, unknown>, ['log', 'topics', 'sink', 'retention']);
    const retention = resolved.record.retention;
    if (retention !== undefined && retention !== false) {
      assertObject('record.retention', retention);
      assertKnownKeys('record.retention', retention as Record<string, unknown>, ['keepRuns', 'maxBytes']);
      if (retention.keepRuns !== undefined) assertInteger('record.retention.keepRuns', retention.keepRuns, 1);
      if (retention.maxBytes !== undefined) assertInteger('record.retention.maxBytes', retention.maxBytes, 1);
    }
    const log = resolved.record.log;
    if (typeof log !== 'string' && (typeof log !== 'object' || log === null || typeof (log as EventLog).append !== 'function')) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`record.log\` to be an EventLog or a SQLite file path, got ${describeValue(log)}`,
      );
    }
    if (typeof log === 'string') assertName('record.log', log);
    if (
      resolved.record.topics !== undefined &&
      (!Array.isArray(resolved.record.topics) || resolved.record.topics.some((t) => typeof t !== 'string'))
    ) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected \`record.topics\` to be an array of topic patterns, got ${describeValue(resolved.record.topics)}`,
      );
    }
  }
  return Object.freeze(resolved);
}

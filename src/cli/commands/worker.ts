/**
 * `sluice worker <flow-module> --redis <url>`: one process of a distributed flow. It runs the
 * flow with the Redis transport, takes items of the flow's distributed routines from Redis (with
 * every other worker of the same namespace) until SIGINT/SIGTERM, then stops taking, lets what
 * it took finish (`--drain` ms) and exits. A line of counters goes to stderr every `--every` ms.
 */
import { Runtime } from '../../runtime/runtime.ts';
import { UsageError, ExitCode } from '../cli-error.ts';
import { loadModuleArg, parseParams } from '../flow-loader.ts';
import type { CliIO } from '../output.ts';
import { terminalSafe } from '../safe-text.ts';
import { watchRedis } from '../redis-watch.ts';
import { dbPath } from '../store-args.ts';

/** The options of `sluice worker`, as the command line parsed them. */
export interface WorkerCommandOptions {
  redis?: string;
  namespace?: string;
  consumer?: string;
  concurrency?: number;
  claimIdle?: number;
  maxDeliveries?: number;
  lease?: number;
  param?: string[];
  threads?: number;
  db?: string;
  record: boolean;
  drain: number;
  every: number;
  quiet?: boolean;
}

/** Runs `sluice worker` until `stop` aborts (SIGINT/SIGTERM by default); returns the exit code. */
export async function workerCommand(specifier: string, options: WorkerCommandOptions, io: CliIO, stop?: AbortSignal): Promise<number> {
  const url = options.redis ?? process.env.SLUICE_REDIS_URL;
  if (url === undefined || url === '') {
    throw new UsageError('sluice worker needs --redis <url> (or SLUICE_REDIS_URL), e.g. --redis redis://127.0.0.1:6379');
  }
  const mod = await loadModuleArg(specifier, 'worker');
  const { redis } = await import('../../transport/redis-transport.ts');
  const transport = redis({
    url,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.consumer === undefined ? {} : { consumer: options.consumer }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.claimIdle === undefined ? {} : { claimIdleMs: options.claimIdle }),
    ...(options.maxDeliveries === undefined ? {} : { maxDeliveries: options.maxDeliveries }),
    ...(options.lease === undefined ? {} : { leaseMs: options.lease }),
  });
  const record = options.record ? dbPath(options.db, true) : undefined;
  const runtime = new Runtime({
    transport,
    ...(record === undefined ? {} : { record: { log: record } }),
    ...(options.threads === undefined ? {} : { pool: { threads: options.threads } }),
  });
  const flow = runtime.register(mod, parseParams(options.param ?? []));
  const distributed = flow.routines.filter((entry) => entry.distributed !== undefined).map((entry) => entry.id);
  if (distributed.length === 0) {
    await runtime.close({ timeout: 0 });
    throw new UsageError(
      `Flow "${flow.id}" has no distributed routine, so a worker has nothing to take: add one with addRoutine(…, { distributed: true })`,
      { helpHint: false },
    );
  }
  await runtime.start();
  runtime.exec(flow.id);
  io.stdout.write(
    `sluice worker: flow ${terminalSafe(flow.id)} (distributed: ${terminalSafe(distributed.join(', '))}) on ` +
      `${terminalSafe(url.replace(/\/\/[^@/]*@/, '//***@'))} as ${terminalSafe(transport.options.consumer)}\n`,
  );
  const report = (): void => {
    const s = runtime.stats().transport;
    if (s === undefined || options.quiet === true) return;
    io.stderr.write(
      `worker ${s.connected ? 'connected' : 'DISCONNECTED'}: handled ${s.handled}, committed ${s.committed}, claimed ${s.claimed}, ` +
        `dead-lettered ${s.deadLettered}, sent ${s.sent}, unsent ${s.unsent}\n`,
    );
  };
  const timer = options.every > 0 ? setInterval(report, options.every) : undefined;
  timer?.unref();
  const unwatch = watchRedis(transport, (line) => io.stderr.write(line));
  const signal = await new Promise<string>((resolve) => {
    const onSignal = (name: string) => () => resolve(name);
    process.once('SIGINT', onSignal('SIGINT'));
    process.once('SIGTERM', onSignal('SIGTERM'));
    stop?.addEventListener('abort', () => resolve('stop'), { once: true });
    if (stop?.aborted) resolve('stop');
  });
  clearInterval(timer);
  unwatch();
  io.stderr.write(`${signal === 'stop' ? 'stopping' : `${signal}: stopping`}; what this worker took gets ${options.drain} ms to finish\n`);
  const closed = await runtime.close({ timeout: options.drain });
  report();
  if (closed.notPersisted > 0) {
    io.stderr.write(`the recording lost ${closed.notPersisted} events: ${closed.recordingError?.message ?? 'unknown error'}\n`);
    return ExitCode.RecordingFailed;
  }
  return ExitCode.Ok;
}

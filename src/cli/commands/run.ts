/**
 * `sluice run <flow-module>`: posts generated or given items into the flow, waits for every
 * job, and prints items, seconds and items/s. SIGINT/SIGTERM close the runtime gracefully.
 */
import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { FlowModule } from '../../core/flow-module.ts';
import type { JobContext } from '../../core/job-context.ts';
import type { FailureTallySnapshot } from '../../runtime/failure-tally.ts';
import { Runtime } from '../../runtime/runtime.ts';
import type { StreamRun } from '../../runtime/index.ts';
import { ExitCode, UsageError } from '../cli-error.ts';
import { loadModuleArg, parseParams } from '../flow-loader.ts';
import { createProgress, formatCount, openOutput, type CliIO } from '../output.ts';
import { watchRedis } from '../redis-watch.ts';
import { terminalSafe } from '../safe-text.ts';
import { dbHint, dbPath } from '../store-args.ts';

/** The options of `sluice run`, as the command line parsed them. */
export interface RunOptions {
  items: number;
  input?: string;
  post?: string;
  routine?: string;
  slot?: string;
  param?: string[];
  threads?: number;
  dispatchBatch?: number;
  timeout: number;
  db?: string;
  record: boolean;
  json?: true | string;
  quiet?: boolean;
  /** Stream mode: every item through the flow as one job (`runtime.stream`). */
  stream?: boolean;
  /** The Redis transport's server: distributed routines run on `sluice worker` processes. */
  redis?: string;
  namespace?: string;
  /** With `redis`: take distributed items in this process too. */
  consume?: boolean;
}

/** The summary `run` prints. */
export interface RunSummary {
  flow: string;
  runId: string;
  /** The SQLite file the run was recorded to, if recorded (undefined when the recording failed). */
  recordedTo: string | undefined;
  /** Recorded events that are not in the log (the recording failed); 0 when all were written. */
  notPersisted: number;
  /** Why the recording failed: the log's last error. */
  recordingError?: { code: string; message: string };
  items: number;
  seconds: number;
  itemsPerSecond: number;
  completed: number;
  failed: number;
  cancelled: number;
  drained: boolean;
  /** Why jobs failed: the first distinct failures with their count of jobs (absent when none failed). */
  failures?: FailureTallySnapshot;
  /** With `--stream`: the stream job's tally (items pulled, failed, the first failure). */
  stream?: { jobId: string; status: string; failed: number; firstError?: { routineId: string; code: string; message: string } };
  /** With `--post`: each posted job's outcome and data (the first 10,000). */
  jobs?: PostedJob[];
}

interface Target {
  routine: string;
  slot: string;
  items: Iterable<unknown> | AsyncIterable<unknown>;
  total: number;
  /** Items named by `--post`: each job's outcome and data are printed. */
  posted?: true;
}

/** The most `--post` jobs whose outcome `run` keeps (and prints with `--json`). */
const kMaxPostedJobs = 10_000;
/** The most shown as text. */
const kShownPostedJobs = 10;

/** A `--post` job's outcome. */
export interface PostedJob {
  jobId: string;
  status: string;
  data: Record<string, unknown>;
  error?: { code: string; message: string };
}

async function* readJsonl(path: string): AsyncIterable<unknown> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line);
    } catch (cause) {
      throw new UsageError(`${path}:${n}: not valid JSON (${(cause as Error).message})`);
    }
  }
}

function* generate(mod: FlowModule, count: number): Iterable<unknown> {
  const make = mod.input?.generate ?? ((i: number) => ({ i }));
  for (let i = 0; i < count; i++) yield make(i);
}

async function countLines(path: string): Promise<number> {
  if (!existsSync(path)) throw new UsageError(`Input file not found: ${resolve(path)}`);
  let n = 0;
  for await (const _ of readJsonl(path)) n++;
  return n;
}

/** Where items go and which: `--post`, or `--input`/generated items into `--routine.--slot` or the module's input. */
async function resolveTarget(mod: FlowModule, options: RunOptions): Promise<Target> {
  if (options.post !== undefined) {
    if (options.input !== undefined || options.routine !== undefined)
      throw new UsageError('--post names its own target and value: use it without --input, --routine and --slot');
    return resolvePost(options.post);
  }
  if ((options.routine === undefined) !== (options.slot === undefined))
    throw new UsageError("--routine and --slot go together: name both, or neither to use the module's input");
  const into = options.routine !== undefined ? { routine: options.routine, slot: options.slot as string } : mod.input;
  if (into === undefined)
    throw new UsageError(
      'The flow module declares no input; say where to post with --routine and --slot, or --post routine.slot=<json|@file.jsonl>',
    );
  if (options.input !== undefined)
    return { routine: into.routine, slot: into.slot, items: readJsonl(options.input), total: await countLines(options.input) };
  return { routine: into.routine, slot: into.slot, items: generate(mod, options.items), total: options.items };
}

function resolvePost(post: string): Promise<Target> | Target {
  const match = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(post);
  if (match === null) throw new UsageError(`Expected --post as routine.slot=<json|@file.jsonl>, got "${post}"`);
  const [, routine, slot, value] = match as unknown as [string, string, string, string];
  if (value.startsWith('@')) {
    const path = value.slice(1);
    return countLines(path).then((total) => ({ routine, slot, items: readJsonl(path), total, posted: true as const }));
  }
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch (cause) {
    throw new UsageError(`--post value for ${routine}.${slot} is not valid JSON: ${(cause as Error).message}`);
  }
  return { routine, slot, items: [data], total: 1, posted: true };
}

/** Posts `--post` items one by one, keeping their jobs (up to {@link kMaxPostedJobs}) to report each. */
async function postEach(
  runtime: Runtime,
  flowId: string,
  target: Target,
  workerId: string,
  jobs: JobContext[],
  onPosted: (n: number) => void,
): Promise<void> {
  let n = 0;
  for await (const item of target.items) {
    const [, job] = await runtime.postAsync(flowId, target.routine, target.slot, item, { workerId });
    if (jobs.length < kMaxPostedJobs) jobs.push(job);
    onPosted(++n);
  }
}

function postedOutcome(job: JobContext): PostedJob {
  const error = job.error;
  return {
    jobId: job.jobId,
    status: job.status,
    data: { ...job.data },
    ...(error === undefined ? {} : { error: { code: error.code, message: error.message } }),
  };
}

function writePostedJobs(io: CliIO, jobs: readonly PostedJob[]): void {
  for (const job of jobs.slice(0, kShownPostedJobs)) {
    const outcome = job.error === undefined ? '' : ` ${job.error.code}: ${job.error.message}`;
    io.stdout.write(`${terminalSafe(`job ${job.jobId} ${job.status}${outcome}; data ${JSON.stringify(job.data)}`)}\n`);
  }
  if (jobs.length > kShownPostedJobs)
    io.stdout.write(`… ${formatCount(jobs.length - kShownPostedJobs)} more jobs (--json prints every one)\n`);
}

function writeFailures(io: CliIO, failures: FailureTallySnapshot, replay: { runId: string; db: string } | undefined): void {
  const ways = failures.distinct.length + (failures.otherJobs > 0 ? '+' : '');
  io.stdout.write(
    `failures: ${formatCount(failures.total)} jobs failed, ${ways} distinct ` +
      `error${failures.distinct.length === 1 && failures.otherJobs === 0 ? '' : 's'}:\n`,
  );
  for (const f of failures.distinct) {
    const where = f.routineId === undefined ? '' : ` in ${f.routineId}`;
    io.stdout.write(`${terminalSafe(`  ${formatCount(f.jobs)} × ${f.code}${where}: ${f.message} (first: job ${f.firstJobId})`)}\n`);
  }
  if (failures.otherJobs > 0) io.stdout.write(`  ${formatCount(failures.otherJobs)} more jobs failed with other errors\n`);
  if (replay !== undefined) io.stdout.write(`every failed job: sluice replay ${replay.runId} --topic job.failed${replay.db}\n`);
}

/** Runs `sluice run <module>` and returns the exit code. */
export async function runCommand(specifier: string, options: RunOptions, io: CliIO): Promise<number> {
  const mod = await loadModuleArg(specifier, 'run');
  const target = await resolveTarget(mod, options);
  if (options.stream === true && target.posted === true) {
    throw new UsageError('--stream runs the input as one job; --post posts jobs one by one: use one of them');
  }
  const quiet = options.quiet === true;
  const record = options.record ? dbPath(options.db, true) : undefined;
  // Recording is on by default: say so first, and how to turn it off.
  if (record !== undefined) io.stderr.write(`recording to ${record} (--no-record to turn off)\n`);
  const pool = {
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.dispatchBatch === undefined ? {} : { dispatchBatch: options.dispatchBatch }),
  };
  if (options.redis === undefined && (options.namespace !== undefined || options.consume === true)) {
    throw new UsageError('--namespace and --consume go with --redis <url>');
  }
  const transport =
    options.redis === undefined
      ? undefined
      : (await import('../../transport/redis-transport.ts')).redis({
          url: options.redis,
          consume: options.consume === true,
          ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
        });
  const runtime = new Runtime({
    ...(record === undefined ? {} : { record: { log: record } }),
    ...(Object.keys(pool).length === 0 ? {} : { pool }),
    ...(transport === undefined ? {} : { transport }),
  });
  const flow = runtime.register(mod, parseParams(options.param ?? []));
  await runtime.start();
  const worker = runtime.exec(flow.id);
  const unwatch = transport === undefined ? () => {} : watchRedis(transport, (line) => io.stderr.write(line));
  let interrupted = false;
  let signals = 0;
  // First signal: a graceful close (5 s for unfinished jobs). Second: cancel them now; the
  // summary is still printed and `run.stopped` recorded. Third: exit at once.
  const onSignal = (signal: string): void => {
    signals++;
    interrupted = true;
    if (signals === 1) {
      io.stderr.write(`\n${signal}: stopping; unfinished jobs get 5 s to finish (again to cancel them now)\n`);
      void runtime.close({ timeout: 5_000 });
    } else if (signals === 2) {
      io.stderr.write(`${signal} again: cancelling unfinished jobs now (again to exit without a summary)\n`);
      runtime.destroy();
    } else {
      process.exit(ExitCode.Interrupted);
    }
  };
  const sigint = (): void => onSignal('SIGINT');
  const sigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  const progress = createProgress(io, `${flow.id}`, target.total, { quiet: quiet || options.json === true });
  const start = performance.now();
  let drained = false;
  const postedJobs: JobContext[] = [];
  let streamed: Awaited<ReturnType<StreamRun['done']>> | undefined;
  try {
    try {
      if (options.stream === true) {
        streamed = await runtime.stream(flow.id, target.routine, target.slot, target.items, { workerId: worker.workerId }).done();
        progress.update(streamed.items);
      } else if (target.posted === true) await postEach(runtime, flow.id, target, worker.workerId, postedJobs, (n) => progress.update(n));
      else
        await runtime.postAll(flow.id, target.routine, target.slot, target.items, {
          workerId: worker.workerId,
          onPosted: (n) => progress.update(n),
        });
    } catch (error) {
      if (!interrupted) throw error;
    }
    drained = interrupted ? false : await runtime.waitUntilAllJobsFinished({ timeout: options.timeout });
  } finally {
    progress.done();
  }
  const seconds = (performance.now() - start) / 1000;
  let report: Awaited<ReturnType<Runtime['close']>>;
  try {
    // The handlers stay until the run is closed: a second signal while closing cuts it short.
    report = await runtime.close({ timeout: 0 });
  } finally {
    unwatch();
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
  const counters = worker.counters;
  if (streamed !== undefined) {
    // One job carried every item: the summary counts items, not jobs.
    counters.jobsPosted = streamed.items;
    counters.jobsFailed = streamed.status === 'failed' ? streamed.items - streamed.failed : streamed.failed;
    counters.jobsCancelled = streamed.status === 'cancelled' ? streamed.items - streamed.failed : 0;
    counters.jobsProcessed = streamed.status === 'completed' ? streamed.items - streamed.failed : 0;
  }
  const summary: RunSummary = {
    flow: flow.id,
    runId: runtime.runId,
    recordedTo: report.notPersisted > 0 ? undefined : record,
    notPersisted: report.notPersisted,
    ...(report.recordingError === undefined ? {} : { recordingError: report.recordingError }),
    items: counters.jobsPosted,
    seconds,
    itemsPerSecond: seconds > 0 ? counters.jobsPosted / seconds : 0,
    completed: counters.jobsProcessed,
    failed: counters.jobsFailed,
    cancelled: counters.jobsCancelled,
    drained: drained && report.cancelled.length === 0,
  };
  if (streamed !== undefined) {
    summary.stream = {
      jobId: streamed.jobId,
      status: streamed.status,
      failed: streamed.failed,
      ...(streamed.firstError === undefined ? {} : { firstError: { ...streamed.firstError } }),
    };
  }
  const failures = runtime.stats().failures;
  if (failures.total > 0) summary.failures = failures;
  if (target.posted === true) summary.jobs = postedJobs.map(postedOutcome);
  const recordingFailed = record !== undefined && report.notPersisted > 0;
  if (recordingFailed) {
    // One line, whatever the output mode: the flow's results stand, the log does not hold them.
    const why = report.recordingError?.message ?? 'the log did not take them before the close timeout';
    io.stderr.write(`sluice: recording to ${record} failed: ${why}; ${formatCount(report.notPersisted)} events not persisted\n`);
  }
  const moduleReport = mod.report?.(worker);
  // Hints name the log when it is not the default, so they can be followed as printed.
  const dbFlag = dbHint(options.db);
  if (options.json !== undefined) {
    const out = openOutput(options.json, io);
    out.write(`${JSON.stringify(moduleReport === undefined ? summary : { ...summary, report: moduleReport })}\n`);
    await out.close();
  }
  if (options.json !== true) {
    io.stdout.write(
      `flow ${summary.flow}: ${formatCount(summary.items)} items in ${summary.seconds.toFixed(2)} s = ` +
        `${formatCount(summary.itemsPerSecond)} items/s\n`,
    );
    io.stdout.write(
      `${summary.stream === undefined ? 'jobs' : 'items'}: ${formatCount(summary.completed)} completed, ` +
        `${formatCount(summary.failed)} failed, ${formatCount(summary.cancelled)} ` +
        `cancelled\n`,
    );
    for (const [key, value] of Object.entries(moduleReport ?? {}))
      io.stdout.write(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
    if (summary.jobs !== undefined) writePostedJobs(io, summary.jobs);
    if (summary.stream !== undefined) {
      io.stdout.write(`stream mode: one job, ${summary.stream.jobId}, ${summary.stream.status}\n`);
      const first = summary.stream.firstError;
      if (first !== undefined)
        io.stdout.write(`${terminalSafe(`  first failure: ${first.code} in ${first.routineId}: ${first.message}`)}\n`);
    }
    if (summary.failures !== undefined)
      writeFailures(io, summary.failures, record === undefined || recordingFailed ? undefined : { runId: summary.runId, db: dbFlag });
    if (record !== undefined && !recordingFailed)
      io.stdout.write(`recorded as ${summary.runId} in ${record} (sluice replay ${summary.runId}${dbFlag})\n`);
  }
  if (interrupted) return ExitCode.Interrupted;
  if (summary.failed + summary.cancelled > 0 || !summary.drained) return ExitCode.JobsFailed;
  return recordingFailed ? ExitCode.RecordingFailed : ExitCode.Ok;
}

/**
 * `sluice run <flow-module>`: posts generated or given items into the flow, waits for every
 * job, and prints items, seconds and items/s. SIGINT/SIGTERM close the runtime gracefully.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { FlowModule } from '../../core/flow-module.ts';
import { Runtime } from '../../runtime/runtime.ts';
import { ExitCode, UsageError } from '../cli-error.ts';
import { loadModuleArg, parseParams } from '../flow-loader.ts';
import { createProgress, formatCount, type CliIO } from '../output.ts';
import { dbPath } from '../store-args.ts';

export const runHelp = `Usage: sluice run <flow-module> [options]

Runs a flow: posts items into its input slot (one job per item), waits for every job to end,
and prints items, seconds and items/s.

Options:
  --items <n>                       items to generate with the module's input generator (default 100000)
  --post <routine.slot=value>       post into routine.slot instead; value is JSON, or @file.jsonl
                                    for one item per line
  --param key=value                 build parameter (repeatable; JSON values are parsed)
  --timeout <ms>                    longest wait for the jobs to finish (default 600000)
  --db <path>                       record the run's events to this SQLite file
                                    (default .sluice/runs.sqlite; see sluice runs / replay / tail)
  --no-record                       do not record the run
  --json                            print the summary as JSON
  -q, --quiet                       no progress output
  -h, --help                        this help

Exit codes: 0 all jobs completed, 1 some failed or were cancelled, 2 usage error,
3 flow module invalid, 4 the recording failed (events not persisted), 130 interrupted.
`;

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
}

interface Target {
  routine: string;
  slot: string;
  items: Iterable<unknown> | AsyncIterable<unknown>;
  total: number;
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
  let n = 0;
  for await (const _ of readJsonl(path)) n++;
  return n;
}

async function resolveTarget(mod: FlowModule, post: string | undefined, items: number): Promise<Target> {
  if (post === undefined) {
    if (mod.input === undefined) throw new UsageError(`The flow module declares no input; say where to post with --post routine.slot=<json|@file.jsonl>`);
    return { routine: mod.input.routine, slot: mod.input.slot, items: generate(mod, items), total: items };
  }
  const match = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(post);
  if (match === null) throw new UsageError(`Expected --post as routine.slot=<json|@file.jsonl>, got "${post}"`);
  const [, routine, slot, value] = match as unknown as [string, string, string, string];
  if (value.startsWith('@')) {
    const path = value.slice(1);
    return { routine, slot, items: readJsonl(path), total: await countLines(path) };
  }
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch (cause) {
    throw new UsageError(`--post value for ${routine}.${slot} is not valid JSON: ${(cause as Error).message}`);
  }
  return { routine, slot, items: [data], total: 1 };
}

export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      items: { type: 'string', default: '100000' },
      post: { type: 'string' },
      param: { type: 'string', multiple: true },
      timeout: { type: 'string', default: '600000' },
      db: { type: 'string' },
      'no-record': { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.stdout.write(runHelp);
    return ExitCode.Ok;
  }
  const items = Number(values.items);
  if (!Number.isInteger(items) || items < 0) throw new UsageError(`Expected --items to be an integer >= 0, got "${values.items}"`);
  const timeout = Number(values.timeout);
  if (!(timeout >= 0)) throw new UsageError(`Expected --timeout to be a number of ms >= 0, got "${values.timeout}"`);
  const mod = await loadModuleArg(positionals[0], 'run');
  const target = await resolveTarget(mod, values.post, items);

  const record = values['no-record'] === true ? undefined : dbPath(values.db, true);
  const runtime = new Runtime(record === undefined ? {} : { record: { log: record } });
  const flow = runtime.register(mod, parseParams(values.param ?? []));
  await runtime.start();
  const worker = runtime.exec(flow.id);
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
  const progress = createProgress(io, `${flow.id}`, target.total, { quiet: values.quiet === true || values.json === true });
  const start = performance.now();
  let drained = false;
  try {
    try {
      await runtime.postAll(flow.id, target.routine, target.slot, target.items, { workerId: worker.workerId, onPosted: (n) => progress.update(n) });
    } catch (error) {
      if (!interrupted) throw error;
    }
    drained = interrupted ? false : await runtime.waitUntilAllJobsFinished({ timeout });
  } finally {
    progress.done();
  }
  const seconds = (performance.now() - start) / 1000;
  let report: Awaited<ReturnType<Runtime['close']>>;
  try {
    // The handlers stay until the run is closed: a second signal while closing cuts it short.
    report = await runtime.close({ timeout: 0 });
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
  const counters = worker.counters;
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
  const recordingFailed = record !== undefined && report.notPersisted > 0;
  if (recordingFailed) {
    // One line, whatever the output mode: the flow's results stand, the log does not hold them.
    const why = report.recordingError?.message ?? 'the log did not take them before the close timeout';
    io.stderr.write(`sluice: recording to ${record} failed: ${why}; ${formatCount(report.notPersisted)} events not persisted\n`);
  }
  if (values.json === true) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    io.stdout.write(`flow ${summary.flow}: ${formatCount(summary.items)} items in ${summary.seconds.toFixed(2)} s = ${formatCount(summary.itemsPerSecond)} items/s\n`);
    io.stdout.write(`jobs: ${formatCount(summary.completed)} completed, ${formatCount(summary.failed)} failed, ${formatCount(summary.cancelled)} cancelled\n`);
    if (record !== undefined && !recordingFailed) io.stdout.write(`recorded as ${summary.runId} in ${record} (sluice replay ${summary.runId})\n`);
  }
  if (interrupted) return ExitCode.Interrupted;
  if (summary.failed + summary.cancelled > 0 || !summary.drained) return ExitCode.JobsFailed;
  return recordingFailed ? ExitCode.RecordingFailed : ExitCode.Ok;
}

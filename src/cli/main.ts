/**
 * The `sluice` command line, on commander: generated help for every command, `--version`,
 * "did you mean" for unknown commands and options, and typed option values. Every error is one
 * line (`sluice <command>: SLUICE_ERR_…: message`, the stack with `--verbose`) and an exit code.
 *
 * This module stays light: a command's code (and the engine behind it) is imported only when
 * that command runs, so `sluice --help` starts fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { ErrorCode, isSluiceError } from '../core/errors.ts';
import { packageVersion } from '../core/package-version.ts';

export { packageVersion };
import { ExitCode, UsageError } from './cli-error.ts';
import { collect, integer, integerList, moment, number } from './options.ts';
import { processIO, type CliIO } from './output.ts';

const kExitCodes = `
Exit codes: 0 all jobs completed, 1 some failed or were cancelled, 2 usage error,
3 flow module invalid, 4 the recording failed (events not persisted), 130 interrupted.`;

/** The options every command that reads or writes the durable log shares. */
function dbOption(): Option {
  return new Option('--db <path>', 'the durable event log, a SQLite file (default: .sluice/runs.sqlite)');
}

function jsonOption(what: string): Option {
  return new Option('--json [file]', `${what} as JSON, to stdout or into file`);
}

function paramOption(): Option {
  return new Option('--param <key=value>', 'build parameter (repeatable; JSON values are parsed)').argParser(collect);
}

/** Builds the program; `exit` receives each command's exit code. */
function program(io: CliIO, exit: (code: number) => void): Command {
  const root = new Command('sluice')
    .description('sluice: a worker-thread dataflow engine. Run, inspect and measure flows; read their recorded runs.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces with errors')
    .helpOption('-h, --help', 'this help')
    .addHelpCommand(false)
    .showSuggestionAfterError(true)
    .addHelpText('after', '\nRun "sluice <command> --help" for a command\'s options.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Errors are printed by main() as one coded line.
      outputError: () => undefined,
    });
  const command = (name: string, summary: string): Command =>
    root
      .command(name)
      .summary(summary)
      .helpOption('-h, --help', 'this help')
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
        outputError: () => undefined,
      });

  command('run', 'run a flow over generated or given items and print throughput')
    .description(
      'Runs a flow: posts items into its input slot (one job per item), waits for every job to end, and prints items, seconds and ' +
        'items/s. The run is recorded unless --no-record.',
    )
    .argument('<flow-module>', 'a flow module (.ts or .js) whose default export is defineFlow(...)')
    .option('--items <n>', "items to generate with the module's input generator", integer(0), 100_000)
    .option('--input <file.jsonl>', 'post the items of this file (one JSON value a line) instead of generating')
    .option('--post <routine.slot=value>', 'post into routine.slot instead; value is JSON, or @file.jsonl for one item a line')
    .option('--routine <routine>', "where to post generated or --input items (with --slot; default: the module's input)")
    .option('--slot <slot>', 'the slot of --routine')
    .addOption(paramOption())
    .option('--threads <n>', 'pool threads (pool routines only; default: one fewer than the CPUs)', integer(1))
    .option('--dispatch-batch <n>', 'activations sent to a pool thread in one message', integer(1))
    .option('--timeout <ms>', 'longest wait for the jobs to finish', number(0), 600_000)
    .addOption(dbOption())
    .option('--no-record', 'do not record the run')
    .option('--stream', 'stream mode: every item through the flow as one job (items not tracked one by one; failures counted)')
    .option('--redis <url>', "run the flow's distributed routines on `sluice worker` processes through this Redis (this process sends)")
    .option('--namespace <ns>', 'with --redis: the key prefix the workers share (default sluice)')
    .option('--consume', 'with --redis: take distributed items in this process too')
    .addOption(jsonOption('print the summary'))
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', kExitCodes)
    .action(async (module: string, options) => {
      const { runCommand } = await import('./commands/run.ts');
      exit(await runCommand(module, options, io));
    });

  command('bench', 'measure a flow over pool sizes and batches; table, JSON and HTML report')
    .description(
      'Measures a flow: for every pool configuration (--threads × --dispatch-batch) it warms up, then ' +
        'posts items several times (--repeat) and reports the median and spread of items/s, latency ' +
        '(post → job end) p50/p95/p99/max, peak RSS, CPU time, pool utilisation and failed jobs. ' +
        "A flow module may export `baseline` (a function doing one item's work in plain JavaScript, " +
        'or { name, run(items) }): it is timed in the same run and every figure gets a ratio to it.',
    )
    .argument('<flow-module>', 'a flow module (.ts or .js)')
    .option('--routine <routine>', "where to post (with --slot; default: the module's input)")
    .option('--slot <slot>', 'the slot of --routine')
    .option('--items <n>', 'items per repetition (default 10000)', integer(1))
    .option('--input <file.jsonl>', 'post these items (one JSON value a line, cycled) instead of generating')
    .option('--rate <r>', 'open loop: post r items/s on a schedule (default: closed loop)', number(0.001))
    .option('--ramp-to <r>', 'with --rate and --duration: raise the rate linearly to r', number(0.001))
    .option('--duration <d>', 'each repetition lasts d (500ms, 10s, 2m) instead of --items')
    .option('--threads <list>', 'pool sizes to sweep, e.g. 1,2,4 (pool routines only)', integerList)
    .option('--dispatch-batch <list>', 'dispatch batch sizes to sweep, e.g. 1,16,256 (pool routines only)', integerList)
    .addOption(new Option('--batch <list>', 'old name of --dispatch-batch').argParser(integerList).hideHelp())
    .option('--warmup <n>', 'items posted before measuring each configuration (default min(1000, items))', integer(0))
    .option('--repeat <n>', 'measured repetitions per configuration (default 3)', integer(1))
    .addOption(paramOption())
    .addOption(jsonOption('write the results (schema sluice.bench/1)'))
    .option('--report <file.html>', 'write a self-contained HTML report, and a Markdown summary beside it')
    .option('--timeout <ms>', "longest wait for one repetition's jobs (default 600000)", number(0))
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      '\nProgress goes to stderr: a redrawn line with rate and ETA on a terminal, a plain line every\n2 s when piped, nothing with ' +
        '--quiet.\n\nExit codes: 0 every job completed, 1 some jobs failed or the run failed, 2 usage error,\n3 flow module invalid, ' +
        '130 interrupted.',
    )
    .action(async (module: string, options) => {
      const { benchCommand } = await import('./commands/bench.ts');
      exit(await benchCommand(module, options, io));
    });

  command('validate', 'check a flow file (or module): every problem with file, line and key')
    .description(
      "Checks a flow file (.yaml, .yml, .json in Routilux's shape; see docs/flow-files.md): its schema, the classes it names, " +
        'its connections and cycles. Prints every problem as "CODE: file:line:column: path: problem". A flow module (.ts, .js) is ' +
        'loaded and built, and its graph warnings shown.',
    )
    .argument('<file>', 'a flow file or flow module')
    .option('--json', 'the result as one JSON line')
    .addHelpText('after', '\nExit codes: 0 valid, 2 usage error, 3 invalid.')
    .action(async (file: string, options) => {
      const { validateCommand } = await import('./commands/validate.ts');
      exit(await validateCommand(file, options, io));
    });

  command('serve', 'serve flows over HTTP: API, Prometheus metrics, live dashboard')
    .description(
      'Starts a runtime with the given flows (one worker each), recorded to --db, and serves it over HTTP until SIGINT/SIGTERM: the ' +
        'API under /api/v1/ (OpenAPI at /api/v1/openapi.json), /metrics for Prometheus, and the live dashboard at /. Every route but ' +
        '/api/v1/health/live needs the token: SLUICE_TOKEN, or one generated and printed at start. Listening beyond 127.0.0.1 ' +
        'needs SLUICE_TOKEN.',
    )
    .argument('<flow-module...>', 'flow modules (.ts or .js) to serve')
    .option('--port <port>', 'TCP port, 0 for a free one', integer(0), 7070)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(dbOption())
    .option('--no-record', 'do not record the run (the runs routes then answer 409)')
    .option('--threads <n>', 'pool threads for pool routines', integer(1))
    .addOption(paramOption())
    .addHelpText(
      'after',
      '\nSee docs/serve.md for the routes, metrics and security model.\n\nExit codes: 0 stopped cleanly, 2 usage error ' +
        '(a port in use, a bad option),\n3 flow module invalid, 4 the recording failed.',
    )
    .action(async (modules: string[], options) => {
      const { serveCommand } = await import('./commands/serve.ts');
      exit(await serveCommand(modules, options, io));
    });

  command('worker', "take a flow's distributed items from Redis until stopped (one of many processes)")
    .description(
      'Runs a flow with the Redis transport: the routines it adds with `distributed: true` take their items from Redis, shared with ' +
        'every other worker of the same --namespace; the rest runs in this process. Runs until SIGINT/SIGTERM, then takes nothing ' +
        'more and lets what it took finish. Post with `sluice run <flow> --redis <url>` or a Runtime with redis({ url }). See ' +
        'docs/distributed.md.',
    )
    .argument('<flow-module>', 'a flow module (.ts or .js) with at least one distributed routine')
    .option('--redis <url>', 'the Redis server (default: SLUICE_REDIS_URL)')
    .option('--namespace <ns>', 'key prefix shared with the producers and other workers (default sluice)')
    .option('--consumer <name>', "this worker's name in the consumer groups (default host-pid-random)")
    .option('--concurrency <n>', 'entries of one routine handled at once (default 64)', integer(1))
    .option('--claim-idle <ms>', "claim another worker's entries idle this long (default 30000)", integer(10))
    .option('--max-deliveries <n>', 'deliveries before an entry goes to the dead-letter stream (default 5)', integer(1))
    .option('--lease <ms>', 'how long this worker owns an ordered partition without renewing it (default 10000)', integer(100))
    .option('--threads <n>', 'pool threads for pool routines', integer(1))
    .option('--drain <ms>', 'on SIGINT/SIGTERM, how long what was taken may take to finish', integer(0), 30_000)
    .option('--every <ms>', 'print counters to stderr this often (0: never)', integer(0), 10_000)
    .addOption(dbOption())
    .option('--no-record', 'do not record the run')
    .addOption(paramOption())
    .option('-q, --quiet', 'no counter lines')
    .addHelpText('after', '\nExit codes: 0 stopped cleanly, 2 usage error, 3 flow module invalid, 4 the recording failed.')
    .action(async (module: string, options) => {
      const { workerCommand } = await import('./commands/worker.ts');
      exit(await workerCommand(module, options, io));
    });

  command('inspect', 'show a flow: routines, slots, events, connections, diagram')
    .description(
      'Shows a flow: its routines (placement, activation policy, slots, events), connections, warnings from validate(), and a diagram.',
    )
    .argument('<flow-module>', 'a flow module (.ts or .js)')
    .addOption(paramOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'mermaid', 'dot']).default('text'))
    .addOption(jsonOption('the description (same as --format json)'))
    .action(async (module: string, options) => {
      const { inspectCommand } = await import('./commands/inspect.ts');
      exit(await inspectCommand(module, options, io));
    });

  const runs = command('runs', "the run registry: each recorded run's flow, status, jobs and duration; prune the log").description(
    'The runs recorded in the durable event log. "sluice runs" lists them; "sluice runs <runId|latest>" shows one; "sluice runs prune" ' +
      'bounds the log.',
  );
  runs
    .command('list [runId]', { isDefault: true })
    .summary('list the runs, newest first, or show one (an id or latest)')
    .description(
      'Lists the runs recorded in the durable event log, newest first: flow, status (running, completed, failed, interrupted), jobs ' +
        'completed/failed/cancelled, overflows, start, duration and events, with the size of the log. Given a run id (or latest), ' +
        'shows that run.',
    )
    .helpOption('-h, --help', 'this help')
    .exitOverride()
    .addOption(dbOption())
    .option('--flow <flow>', 'only runs of this flow')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(['running', 'completed', 'failed', 'interrupted']))
    .addOption(jsonOption('one object per run'))
    .action(async (run: string | undefined, options) => {
      const { runsCommand } = await import('./commands/runs.ts');
      exit(await runsCommand(run, options, io));
    });
  runs
    .command('prune [runIds...]')
    .summary('remove runs from the log: by count, age, size or id')
    .description(
      'Removes whole runs from the durable event log and gives their space back (VACUUM). A running runtime applies its own retention ' +
        '(record.retention) at start and close.',
    )
    .helpOption('-h, --help', 'this help')
    .exitOverride()
    .addOption(dbOption())
    .option('--keep <n>', 'keep only the n most recent runs', integer(0))
    .option('--older-than <age|date>', 'remove runs whose last event is older (30m, 12h, 7d, 2w, or a date)', moment)
    .option('--max-mb <n>', 'remove the oldest runs until the rest take at most n MB', number(0))
    .action(async (runIds: string[], options) => {
      const { pruneCommand } = await import('./commands/runs.ts');
      exit(await pruneCommand(runIds, options, io));
    });

  command('replay', "print a recorded run's events in order")
    .description('Prints the events of a recorded run in order (seq, time, topic, payload).')
    .argument('<runId>', 'the run (see sluice runs), or latest')
    .option('--since <seq>', 'only events after this seq (a cursor)', integer(0), 0)
    .option('--topic <prefix>', 'only events whose topic starts with this')
    .addOption(dbOption())
    .addOption(jsonOption('one event a line'))
    .action(async (runId: string, options) => {
      const { replayCommand } = await import('./commands/replay.ts');
      exit(await replayCommand(runId, options, io));
    });

  command('tail', 'follow a run from the durable log while it is recorded')
    .description(
      'Follows a run from the durable log: prints its events as they are recorded, until the run stops (run.stopped), you press ' +
        'Ctrl-C, or --idle ms pass without a new event.',
    )
    .argument('<runId>', 'the run (see sluice runs), or latest')
    .option('--since <seq>', 'start after this seq (0: print the run from its start)', integer(0), 0)
    .option('--idle <ms>', 'give up after this long without events (default: wait for the run to stop)', number(1))
    .option('--topic <prefix>', 'only events whose topic starts with this')
    .option('--events', 'one line per event also at high volume (by default more than 20 events a second become one summary line a second)')
    .addOption(dbOption())
    .addOption(jsonOption('one event a line'))
    .action(async (runId: string, options) => {
      const { tailCommand } = await import('./commands/tail.ts');
      exit(await tailCommand(runId, options, io));
    });
  return root;
}

/** The top-level help. */
export function mainHelp(): string {
  let text = '';
  program({ stdout: { write: (t: string) => (text += t) }, stderr: { write: () => undefined } }, () => undefined).outputHelp();
  return text;
}

/** One line for a commander error: "error: unknown option '--x'\n(Did you mean --y?)" → "unknown option '--x' (did you mean --y?)". */
function commanderMessage(error: CommanderError): string {
  return error.message
    .replace(/^error: /, '')
    .replace(/\(Did you mean/, '(did you mean')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const verbose = argv.includes('--verbose');
  let code: number = ExitCode.Ok;
  const root = program(io, (c) => (code = c));
  if (argv.length === 0) {
    root.outputHelp();
    return ExitCode.Usage;
  }
  // The command named, for error lines: the first word that is not an option, and its
  // subcommand when it has one (`sluice runs prune`).
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = root.commands.find((c) => c.name() === words[0]);
  const sub = command?.commands.find((c) => c.name() === words[1]);
  const label =
    command === undefined ? 'sluice' : sub === undefined ? `sluice ${command.name()}` : `sluice ${command.name()} ${sub.name()}`;
  try {
    await root.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end parsing with an "error" that is a success.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help')
        return ExitCode.Ok;
      io.stderr.write(`${label}: ${ErrorCode.Usage}: ${commanderMessage(error)} (see ${label} --help)\n`);
      return ExitCode.Usage;
    }
    const err = error as Error & { code?: string };
    const usage = error instanceof UsageError;
    const prefix = isSluiceError(error) ? `${error.code}: ` : '';
    // One line: node's own messages may span several.
    const message = String(err.message ?? error).replace(/\s*\n\s*/g, ' ');
    io.stderr.write(`${label}: ${prefix}${message}${usage && error.helpHint ? ` (see ${label} --help)` : ''}\n`);
    if (verbose && err.stack !== undefined) io.stderr.write(`${err.stack}\n`);
    if (usage || (isSluiceError(error) && (error.code === ErrorCode.UnsafeBind || error.code === ErrorCode.InvalidArgument))) {
      return ExitCode.Usage;
    }
    const invalid: readonly string[] = [
      ErrorCode.FlowModuleInvalid,
      ErrorCode.FlowFileInvalid,
      ErrorCode.UnknownRoutineClass,
      ErrorCode.FlowCycle,
    ];
    if (isSluiceError(error) && invalid.includes(error.code)) return ExitCode.FlowInvalid;
    return ExitCode.JobsFailed;
  }
}

/**
 * The `sluice` command line: dispatches to a command, prints errors as one clear line (the
 * stack with `--verbose`) and returns the exit code.
 */
import { ErrorCode, isSluiceError } from '../core/errors.ts';
import { ExitCode, UsageError } from './cli-error.ts';
import { benchCommand, benchHelp } from './commands/bench.ts';
import { inspectCommand, inspectHelp } from './commands/inspect.ts';
import { replayCommand, replayHelp } from './commands/replay.ts';
import { runCommand, runHelp } from './commands/run.ts';
import { runsCommand, runsHelp } from './commands/runs.ts';
import { tailCommand, tailHelp } from './commands/tail.ts';
import { processIO, type CliIO } from './output.ts';

type Command = (argv: string[], io: CliIO) => Promise<number>;

const kCommands: Record<string, { run: Command; help: string; summary: string }> = {
  run: { run: runCommand, help: runHelp, summary: 'run a flow over generated or given items and print throughput' },
  bench: { run: benchCommand, help: benchHelp, summary: 'measure a flow over pool sizes and batches; table, JSON and HTML report' },
  inspect: { run: inspectCommand, help: inspectHelp, summary: 'show a flow: routines, slots, events, connections, diagram' },
  runs: { run: runsCommand, help: runsHelp, summary: 'list the runs recorded in the durable event log' },
  replay: { run: replayCommand, help: replayHelp, summary: "print a recorded run's events in order" },
  tail: { run: tailCommand, help: tailHelp, summary: 'follow a run from the durable log while it is recorded' },
};

/** The top-level help. */
export function mainHelp(): string {
  const width = Math.max(...Object.keys(kCommands).map((c) => c.length));
  const lines = Object.entries(kCommands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: sluice <command> [options]

Commands:
${lines.join('\n')}

Run "sluice <command> --help" for a command's options. Add --verbose to see stack traces.
`;
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--verbose');
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp());
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  const command = kCommands[name];
  if (command === undefined) {
    io.stderr.write(`sluice: unknown command "${name}" (commands: ${Object.keys(kCommands).join(', ')}); see sluice --help\n`);
    return ExitCode.Usage;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const err = error as Error & { code?: string };
    const usage = error instanceof UsageError || err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL';
    const prefix = isSluiceError(error) ? `${error.code}: ` : '';
    // One line: node's own messages (parseArgs) may span several.
    const message = String(err.message ?? error).replace(/\s*\n\s*/g, ' ');
    io.stderr.write(`sluice ${name}: ${prefix}${message}${usage ? ` (see sluice ${name} --help)` : ''}\n`);
    if (verbose && err.stack !== undefined) io.stderr.write(`${err.stack}\n`);
    if (usage) return ExitCode.Usage;
    if (isSluiceError(error) && error.code === ErrorCode.FlowModuleInvalid) return ExitCode.FlowInvalid;
    return ExitCode.JobsFailed;
  }
}

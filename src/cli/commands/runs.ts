/**
 * `sluice runs`: the runs recorded in the durable log, newest first.
 */
import { parseArgs } from 'node:util';
import { ExitCode } from '../cli-error.ts';
import type { CliIO } from '../output.ts';
import { jsonTerminalSafe, terminalSafe } from '../safe-text.ts';
import { openExistingLog } from '../store-args.ts';

export const runsHelp = `Usage: sluice runs [options]

Lists the runs recorded in the durable event log: run id, events, first and last time.

Options:
  --db <path>     the event log (default .sluice/runs.sqlite)
  --json          one JSON object per run
  -h, --help      this help
`;

export async function runsCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help === true) {
    io.stdout.write(runsHelp);
    return ExitCode.Ok;
  }
  const log = await openExistingLog(values.db);
  try {
    const runs = (await log.runs()).sort((a, b) => b.lastTime.localeCompare(a.lastTime));
    if (values.json === true) {
      for (const run of runs) io.stdout.write(`${jsonTerminalSafe(JSON.stringify(run))}\n`);
    } else if (runs.length === 0) {
      io.stdout.write('no runs recorded\n');
    } else {
      const width = Math.max(6, ...runs.map((r) => r.runId.length));
      io.stdout.write(`${'run'.padEnd(width)}  ${'events'.padStart(8)}  first                     last\n`);
      for (const r of runs) io.stdout.write(`${terminalSafe(`${r.runId.padEnd(width)}  ${String(r.count).padStart(8)}  ${r.firstTime}  ${r.lastTime}`)}\n`);
    }
  } finally {
    await log.close();
  }
  return ExitCode.Ok;
}

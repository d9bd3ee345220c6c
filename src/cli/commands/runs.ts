/**
 * `sluice runs`: the runs recorded in the durable log, newest first.
 */
import { ExitCode } from '../cli-error.ts';
import { openOutput, type CliIO } from '../output.ts';
import { jsonTerminalSafe, terminalSafe } from '../safe-text.ts';
import { openExistingLog } from '../store-args.ts';

/** Runs `sluice runs` and returns the exit code. */
export async function runsCommand(values: { db?: string; json?: true | string }, io: CliIO): Promise<number> {
  const log = await openExistingLog(values.db);
  try {
    const runs = (await log.runs()).sort((a, b) => b.lastTime.localeCompare(a.lastTime));
    if (values.json !== undefined) {
      const out = openOutput(values.json, io);
      for (const run of runs) out.write(`${jsonTerminalSafe(JSON.stringify(run))}\n`);
      await out.close();
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

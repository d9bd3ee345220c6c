/**
 * `sluice replay <runId>`: prints a recorded run's events in order, from the durable log.
 */
import { ExitCode } from '../cli-error.ts';
import { writeEvent } from '../event-format.ts';
import { openOutput, type CliIO } from '../output.ts';
import { openExistingLog, resolveRunId } from '../store-args.ts';

/** The options of `sluice replay`, as the command line parsed them. */
export interface ReplayOptions {
  since: number;
  topic?: string;
  db?: string;
  json?: true | string;
}

/** Runs `sluice replay <runId>` and returns the exit code. */
export async function replayCommand(run: string, values: ReplayOptions, io: CliIO): Promise<number> {
  const since = values.since;
  const log = await openExistingLog(values.db);
  const out = openOutput(values.json ?? true, io);
  try {
    const runId = await resolveRunId(log, run, values.db);
    for await (const event of log.replay(runId, { since })) {
      if (values.topic === undefined || event.topic.startsWith(values.topic))
        writeEvent((t) => out.write(t), event, values.json !== undefined, values.json === undefined && io.stdout.isTTY === true);
    }
  } finally {
    await out.close();
    await log.close();
  }
  return ExitCode.Ok;
}

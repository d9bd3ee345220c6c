/**
 * `sluice replay <runId>`: prints a recorded run's events in order, from the durable log.
 */
import { ExitCode, UsageError } from '../cli-error.ts';
import { writeEvent } from '../event-format.ts';
import { openOutput, type CliIO } from '../output.ts';
import { openExistingLog } from '../store-args.ts';

/** The options of `sluice replay`, as the command line parsed them. */
export interface ReplayOptions {
  since: number;
  topic?: string;
  db?: string;
  json?: true | string;
}

/** Runs `sluice replay <runId>` and returns the exit code. */
export async function replayCommand(runId: string, values: ReplayOptions, io: CliIO): Promise<number> {
  const since = values.since;
  const log = await openExistingLog(values.db);
  const out = openOutput(values.json ?? true, io);
  try {
    if ((await log.lastSeq(runId)) === 0) throw new UsageError(`No run "${runId}" in the event log (see sluice runs)`);
    for await (const event of log.replay(runId, { since })) {
      if (values.topic === undefined || event.topic.startsWith(values.topic)) writeEvent((t) => out.write(t), event, values.json !== undefined);
    }
  } finally {
    await out.close();
    await log.close();
  }
  return ExitCode.Ok;
}

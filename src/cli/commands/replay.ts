/**
 * `sluice replay <runId>`: prints a recorded run's events in order, from the durable log.
 */
import { parseArgs } from 'node:util';
import { ExitCode, UsageError } from '../cli-error.ts';
import { writeEvent } from '../event-format.ts';
import type { CliIO } from '../output.ts';
import { openExistingLog } from '../store-args.ts';

export const replayHelp = `Usage: sluice replay <runId> [options]

Prints the events of a recorded run in order (seq, time, topic, payload).

Options:
  --since <seq>     only events after this seq (a cursor; default 0)
  --topic <prefix>  only events whose topic starts with this
  --db <path>       the event log (default .sluice/runs.sqlite)
  --json            one JSON event per line
  -h, --help        this help
`;

/** Parses a `--since` value. */
export function parseSince(value: string | undefined): number {
  const since = Number(value ?? '0');
  if (!Number.isInteger(since) || since < 0) throw new UsageError(`Expected --since to be an integer >= 0, got "${value}"`);
  return since;
}

export async function replayCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { since: { type: 'string' }, topic: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    io.stdout.write(replayHelp);
    return ExitCode.Ok;
  }
  const runId = positionals[0];
  if (runId === undefined) throw new UsageError('sluice replay needs a run id (see sluice runs)');
  const since = parseSince(values.since);
  const log = await openExistingLog(values.db);
  try {
    if ((await log.lastSeq(runId)) === 0) throw new UsageError(`No run "${runId}" in the event log (see sluice runs)`);
    for await (const event of log.replay(runId, { since })) {
      if (values.topic === undefined || event.topic.startsWith(values.topic)) writeEvent((t) => io.stdout.write(t), event, values.json === true);
    }
  } finally {
    await log.close();
  }
  return ExitCode.Ok;
}

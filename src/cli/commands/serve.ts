/**
 * `sluice serve <flow-module…>`: a runtime with the given flows (one worker each), recorded to
 * the durable log, behind the HTTP API and the live dashboard until SIGINT/SIGTERM; then the
 * server closes, unfinished jobs get 5 s, and the run is recorded as stopped.
 */
import { Runtime } from '../../runtime/runtime.ts';
import { ExitCode, UsageError } from '../cli-error.ts';
import { loadModuleArg, parseParams } from '../flow-loader.ts';
import type { CliIO } from '../output.ts';
import { terminalSafe } from '../safe-text.ts';
import { dbPath } from '../store-args.ts';

/** The options of `sluice serve`, as the command line parsed them. */
export interface ServeCommandOptions {
  port: number;
  host: string;
  db?: string;
  record: boolean;
  param?: string[];
  threads?: number;
  quiet?: boolean;
}

/** Runs `sluice serve` until `stop` aborts (SIGINT/SIGTERM by default); returns the exit code. */
export async function serveCommand(specifiers: string[], options: ServeCommandOptions, io: CliIO, stop?: AbortSignal): Promise<number> {
  if (specifiers.length === 0) throw new UsageError('sluice serve needs at least one flow module, e.g. sluice serve flows/pipeline.ts');
  const modules = [];
  for (const specifier of specifiers) modules.push(await loadModuleArg(specifier, 'serve'));
  const record = options.record ? dbPath(options.db, true) : undefined;
  const runtime = new Runtime({
    ...(record === undefined ? {} : { record: { log: record } }),
    ...(options.threads === undefined ? {} : { pool: { threads: options.threads } }),
  });
  const params = parseParams(options.param ?? []);
  const flows = modules.map((mod) => runtime.register(mod, params));
  await runtime.start();
  for (const flow of flows) runtime.exec(flow.id);
  let url: string;
  let token: string;
  try {
    const server = await runtime.serve({ port: options.port, host: options.host, quiet: true });
    url = server.url as string;
    token = server.token;
  } catch (error) {
    await runtime.close({ timeout: 0 });
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UsageError(`Port ${options.port} on ${options.host} is in use; pass another --port (0 picks a free one)`, {
        helpHint: false,
      });
    }
    throw error;
  }
  const generated = process.env.SLUICE_TOKEN === undefined || process.env.SLUICE_TOKEN === '';
  io.stdout.write(`sluice serve: ${url} (flows: ${terminalSafe(flows.map((f) => f.id).join(', '))}; run ${runtime.runId})\n`);
  if (record !== undefined) io.stdout.write(`recording to ${record} (--no-record to turn off)\n`);
  // The token is printed once, here, only when it was generated (a given one is the operator's already).
  if (generated) io.stdout.write(`dashboard: ${url}/?token=${token}\napi: Authorization: Bearer ${token}\n`);
  else io.stdout.write(`dashboard: ${url}/?token=<SLUICE_TOKEN>\n`);
  const signal = await new Promise<string>((resolve) => {
    const onSignal = (name: string) => () => resolve(name);
    const sigint = onSignal('SIGINT');
    const sigterm = onSignal('SIGTERM');
    process.once('SIGINT', sigint);
    process.once('SIGTERM', sigterm);
    stop?.addEventListener('abort', () => resolve('stop'), { once: true });
    if (stop?.aborted) resolve('stop');
  });
  io.stderr.write(`${signal === 'stop' ? 'stopping' : `${signal}: stopping`}; unfinished jobs get 5 s to finish\n`);
  const report = await runtime.close({ timeout: 5_000 });
  if (report.notPersisted > 0) {
    io.stderr.write(`the recording lost ${report.notPersisted} events: ${report.recordingError?.message ?? 'unknown error'}\n`);
    return ExitCode.RecordingFailed;
  }
  return ExitCode.Ok;
}

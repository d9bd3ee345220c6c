/**
 * `sluice bench <flow-module>`: measures a flow over a sweep of pool sizes and dispatch batches
 * with the benchmark harness, prints a table, and writes JSON, Markdown and an HTML report.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ErrorCode, isSluiceError } from '../../core/errors.ts';
import { toModuleUrl } from '../../core/flow-module.ts';
import {
  benchResultToJson,
  benchResultToReport,
  benchSummaryTable,
  markdownTable,
  parseDuration,
  renderHtmlReport,
  renderMarkdownReport,
  runBench,
  type BenchBaseline,
  type BenchOptions,
} from '../../harness/index.ts';
import { ExitCode, UsageError } from '../cli-error.ts';
import { loadModuleArg, parseParams } from '../flow-loader.ts';
import { createProgress, type CliIO } from '../output.ts';

/** The options of `sluice bench`, as the command line parsed them. */
export interface BenchCliOptions {
  routine?: string;
  slot?: string;
  items?: number;
  input?: string;
  rate?: number;
  rampTo?: number;
  duration?: string;
  threads?: number[];
  dispatchBatch?: number[];
  /** The old name of `dispatchBatch`. */
  batch?: number[];
  warmup?: number;
  repeat?: number;
  param?: string[];
  json?: true | string;
  report?: string;
  timeout?: number;
  quiet?: boolean;
}

async function readItems(path: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let n = 0;
  try {
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })) {
      n++;
      if (line.trim() === '') continue;
      try {
        items.push(JSON.parse(line));
      } catch (cause) {
        throw new UsageError(`${path}:${n}: not valid JSON (${(cause as Error).message})`);
      }
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw new UsageError(`--input file not found: ${path}`);
    throw error;
  }
  if (items.length === 0) throw new UsageError(`--input ${path} holds no items`);
  return items;
}

/** The module's `baseline` export, if any, as a {@link BenchBaseline}. */
async function moduleBaseline(specifier: string): Promise<BenchBaseline | undefined> {
  const mod = (await import(toModuleUrl(specifier))) as { baseline?: unknown };
  const b = mod.baseline;
  if (typeof b === 'function') {
    const work = b as (item: unknown) => unknown;
    return {
      name: 'plain JS (module baseline)',
      run: (items) => {
        for (const item of items) work(item);
      },
    };
  }
  if (typeof b === 'object' && b !== null && typeof (b as BenchBaseline).run === 'function') return b as BenchBaseline;
  if (b !== undefined)
    throw new UsageError(`The module's \`baseline\` export must be a function (item) => work or { name, run(items) }, got ${typeof b}`);
  return undefined;
}

async function writeOut(path: string, text: string): Promise<string> {
  const full = resolve(path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, text);
  return full;
}

/** Runs `sluice bench <module>` and returns the exit code. */
export async function benchCommand(specifier: string, cli: BenchCliOptions, io: CliIO): Promise<number> {
  // `--json -` is stdout, like a bare `--json`.
  const values = cli.json === '-' ? { ...cli, json: true as const } : cli;
  if ((values.routine === undefined) !== (values.slot === undefined))
    throw new UsageError("--routine and --slot go together: name both, or neither to use the module's input");
  let durationMs: number | undefined;
  if (values.duration !== undefined) {
    try {
      durationMs = parseDuration(values.duration);
    } catch {
      throw new UsageError(`Expected --duration to be a duration such as 500ms, 10s or 2m, got "${values.duration}"`);
    }
    if (durationMs <= 0) throw new UsageError(`Expected --duration to be longer than 0, got "${values.duration}"`);
  }
  if (values.rampTo !== undefined && (values.rate === undefined || durationMs === undefined))
    throw new UsageError('--ramp-to needs --rate (where the ramp starts) and --duration (how long it lasts)');
  const options: Omit<BenchOptions, 'module'> = {
    items: values.items,
    rate: values.rate,
    rampTo: values.rampTo,
    durationMs,
    threads: values.threads,
    batch: values.dispatchBatch ?? values.batch,
    warmup: values.warmup,
    repeat: values.repeat,
    timeoutMs: values.timeout,
    routine: values.routine,
    slot: values.slot,
    params: values.param === undefined ? undefined : parseParams(values.param),
  };
  const mod = await loadModuleArg(specifier, 'bench');
  const input = values.input === undefined ? undefined : await readItems(values.input);
  const baseline = await moduleBaseline(specifier);
  const quiet = values.quiet === true || values.json === true;
  let progress: ReturnType<typeof createProgress> | undefined;
  let result: Awaited<ReturnType<typeof runBench>>;
  try {
    result = await runBench({
      module: mod,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      ...(input === undefined ? {} : { input }),
      ...(baseline === undefined ? {} : { baseline }),
      onProgress: (p) => {
        progress ??= createProgress(io, 'bench', p.sweepTotal, { quiet });
        progress.update(p.sweepDone);
      },
    });
  } catch (error) {
    // An option the harness refuses is the command line's mistake: say it as a usage error.
    if (isSluiceError(error) && error.code === ErrorCode.InvalidArgument) throw new UsageError(error.message);
    throw error;
  } finally {
    progress?.done();
  }
  const json = benchResultToJson(result);
  if (values.json === true) io.stdout.write(json);
  else {
    io.stdout.write(
      `\nsluice bench ${result.flow}: ${result.settings.mode} loop, ${result.settings.repeat} repetition(s) per configuration (median, ` +
        `spread)\n\n`,
    );
    io.stdout.write(markdownTable(benchSummaryTable(result)));
    for (const note of result.notes) io.stdout.write(`\nnote: ${note}`);
    io.stdout.write('\n');
  }
  const say = (text: string): void => {
    if (values.json === true) io.stderr.write(text);
    else io.stdout.write(text);
  };
  if (typeof values.json === 'string') say(`results: ${await writeOut(values.json, json)}\n`);
  if (values.report !== undefined) {
    const model = benchResultToReport(result);
    const html = await writeOut(values.report, renderHtmlReport(model));
    const md = await writeOut(`${values.report.replace(/\.html?$/i, '')}.md`, renderMarkdownReport(model));
    say(`report: ${html}\nsummary: ${md}\n`);
  }
  const failed = result.configurations.some((c) => c.jobs.failed + c.jobs.cancelled > 0);
  return failed ? ExitCode.JobsFailed : ExitCode.Ok;
}

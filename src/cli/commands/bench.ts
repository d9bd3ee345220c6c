/**
 * `sluice bench <flow-module>`: measures a flow over a sweep of pool sizes and dispatch batches
 * with the benchmark harness, prints a table, and writes JSON, Markdown and an HTML report.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
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

export const benchHelp = `Usage: sluice bench <flow-module> [options]

Measures a flow: for every pool configuration (--threads × --batch) it warms up, then posts
items several times (--repeat) and reports the median and spread of items/s, latency
(post → job end) p50/p95/p99/max, peak RSS, CPU time, pool utilisation and failed jobs.
A flow module may export \`baseline\` (a function doing one item's work in plain JavaScript,
or { name, run(items) }): it is timed in the same run and every figure gets a ratio to it.

Options:
  --routine <r> --slot <s>   where to post (default: the module's input)
  --items <n>                items per repetition (default 10000)
  --input <file.jsonl>       post these items (one JSON value a line, cycled) instead of generating
  --rate <r>                 open loop: post r items/s on a schedule (default: closed loop)
  --ramp-to <r>              with --rate and --duration: raise the rate linearly to r
  --duration <d>             each repetition lasts d (500ms, 10s, 2m) instead of --items
  --threads <list>           pool sizes to sweep, e.g. 1,2,4 (pool routines only)
  --batch <list>             dispatch batch sizes to sweep, e.g. 1,16,256 (pool routines only)
  --warmup <n>               items posted before measuring each configuration (default min(1000, items))
  --repeat <n>               measured repetitions per configuration (default 3)
  --param key=value          build parameter (repeatable; JSON values are parsed)
  --json <file>              write the results as JSON (schema sluice.bench/1; "-" for stdout)
  --report <file.html>       write a self-contained HTML report, and a Markdown summary beside it
  --timeout <ms>             longest wait for one repetition's jobs (default 600000)
  -q, --quiet                no progress output
  -h, --help                 this help

Progress goes to stderr: a redrawn line with rate and ETA on a terminal, a plain line every
2 s when piped, nothing with --quiet.

Exit codes: 0 every job completed, 1 some jobs failed or the run failed, 2 usage error,
3 flow module invalid, 130 interrupted.
`;

/** Parses a comma-separated list of integers >= 1 (`--threads 1,2,4`). */
export function parseIntList(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  const list = parts.map(Number);
  if (parts.length === 0 || list.some((n, i) => parts[i] === '' || !Number.isInteger(n) || n < 1)) {
    throw new UsageError(`Expected --${name} to be a comma-separated list of integers >= 1 (e.g. 1,2,4), got "${value}"`);
  }
  return list;
}

function positive(name: string, value: string | undefined, integer: boolean, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new UsageError(`Expected --${name} to be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${value}"`);
  }
  return n;
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
    return { name: 'plain JS (module baseline)', run: (items) => { for (const item of items) work(item); } };
  }
  if (typeof b === 'object' && b !== null && typeof (b as BenchBaseline).run === 'function') return b as BenchBaseline;
  if (b !== undefined) throw new UsageError(`The module's \`baseline\` export must be a function (item) => work or { name, run(items) }, got ${typeof b}`);
  return undefined;
}

async function writeOut(path: string, text: string): Promise<string> {
  const full = resolve(path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, text);
  return full;
}

export async function benchCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      routine: { type: 'string' },
      slot: { type: 'string' },
      items: { type: 'string' },
      input: { type: 'string' },
      rate: { type: 'string' },
      'ramp-to': { type: 'string' },
      duration: { type: 'string' },
      threads: { type: 'string' },
      batch: { type: 'string' },
      warmup: { type: 'string' },
      repeat: { type: 'string' },
      param: { type: 'string', multiple: true },
      json: { type: 'string' },
      report: { type: 'string' },
      timeout: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.stdout.write(benchHelp);
    return ExitCode.Ok;
  }
  if ((values.routine === undefined) !== (values.slot === undefined)) throw new UsageError('--routine and --slot go together: name both, or neither to use the module\'s input');
  let durationMs: number | undefined;
  if (values.duration !== undefined) {
    try {
      durationMs = parseDuration(values.duration);
    } catch {
      throw new UsageError(`Expected --duration to be a duration such as 500ms, 10s or 2m, got "${values.duration}"`);
    }
    if (durationMs <= 0) throw new UsageError(`Expected --duration to be longer than 0, got "${values.duration}"`);
  }
  if (values['ramp-to'] !== undefined && (values.rate === undefined || durationMs === undefined)) throw new UsageError('--ramp-to needs --rate (where the ramp starts) and --duration (how long it lasts)');
  const options: Omit<BenchOptions, 'module'> = {
    items: positive('items', values.items, true),
    rate: positive('rate', values.rate, false, 0.001),
    rampTo: positive('ramp-to', values['ramp-to'], false, 0.001),
    durationMs,
    threads: parseIntList('threads', values.threads),
    batch: parseIntList('batch', values.batch),
    warmup: positive('warmup', values.warmup, true, 0),
    repeat: positive('repeat', values.repeat, true),
    timeoutMs: positive('timeout', values.timeout, false, 0),
    routine: values.routine,
    slot: values.slot,
    params: values.param === undefined ? undefined : parseParams(values.param),
  };
  const mod = await loadModuleArg(positionals[0], 'bench');
  const input = values.input === undefined ? undefined : await readItems(values.input);
  const baseline = await moduleBaseline(positionals[0] as string);
  const quiet = values.quiet === true || values.json === '-';
  let progress: ReturnType<typeof createProgress> | undefined;
  let result;
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
  if (values.json === '-') io.stdout.write(json);
  else {
    io.stdout.write(`\nsluice bench ${result.flow}: ${result.settings.mode} loop, ${result.settings.repeat} repetition(s) per configuration (median, spread)\n\n`);
    io.stdout.write(markdownTable(benchSummaryTable(result)));
    for (const note of result.notes) io.stdout.write(`\nnote: ${note}`);
    io.stdout.write('\n');
  }
  const say = (text: string): void => {
    if (values.json === '-') io.stderr.write(text);
    else io.stdout.write(text);
  };
  if (values.json !== undefined && values.json !== '-') say(`results: ${await writeOut(values.json, json)}\n`);
  if (values.report !== undefined) {
    const model = benchResultToReport(result);
    const html = await writeOut(values.report, renderHtmlReport(model));
    const md = await writeOut(values.report.replace(/\.html?$/i, '') + '.md', renderMarkdownReport(model));
    say(`report: ${html}\nsummary: ${md}\n`);
  }
  const failed = result.configurations.some((c) => c.jobs.failed + c.jobs.cancelled > 0);
  return failed ? ExitCode.JobsFailed : ExitCode.Ok;
}

/**
 * `npm run bench`: runs every built-in scenario — inline pipeline, fan-out/fan-in, CPU-bound
 * scaling by threads, the dispatch-batch sweep, latency at fixed rates, durable-log throughput,
 * what recording costs the pipeline, scale-out over Redis Streams (vs raw Streams and BullMQ),
 * the governor ramp and the command line's start-up — each beside a baseline measured in the
 * same run; prints a table per scenario and writes bench/results/<scenario>.json, report.html
 * (self-contained, with charts) and report.md.
 *
 * Usage: npm run bench [-- --only inline,sweeps,pool,store,recording,serve,distributed,governor,inference,cli] [--quick]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { renderHtmlReport, renderMarkdownReport } from '../src/harness/index.ts';
import type { BenchRow } from './inline.ts';
import { printRows, writeResults } from './report.ts';
import { suiteReport, type SuiteResults } from './suite-report.ts';
import type { StoreBenchResult } from './store.ts';

const kScenarios = ['inline', 'sweeps', 'pool', 'store', 'recording', 'serve', 'distributed', 'governor', 'inference', 'cli'] as const;
const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean' } } });
const only = values.only?.split(',');
for (const name of only ?? []) {
  if (!(kScenarios as readonly string[]).includes(name)) {
    process.stderr.write(`bench: unknown scenario "${name}" (scenarios: ${kScenarios.join(', ')})\n`);
    process.exit(2);
  }
}
const quick = values.quick === true;
const wanted = (name: (typeof kScenarios)[number]): boolean => only === undefined || only.includes(name);
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const started = performance.now();
const suite: SuiteResults = { quick, seconds: 0, failures: [] };

/** Runs one scenario; a failure is reported (and sets the exit code) but the others still run. */
async function scenario(name: (typeof kScenarios)[number], body: () => Promise<void>): Promise<void> {
  if (!wanted(name)) return;
  log(`${name}…`);
  try {
    await body();
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    log(`  ✗ ${name} failed: ${message}`);
    suite.failures.push(`${name}: ${message}`);
    process.exitCode = 1;
  }
}

function storeRows(r: StoreBenchResult): BenchRow[] {
  return [
    {
      scenario: 'durable log: DurableSink, thread writer vs raw better-sqlite3 batched',
      unit: 'rows/s',
      sluice: r.throughput.sinkRowsPerSec,
      baseline: r.throughput.rawRowsPerSec,
      ratio: r.throughput.ratio,
      spread: 0,
      note: `${r.events} events, batch ${r.batchSize}, median of ${r.throughput.runs.sink.length}`,
    },
    {
      scenario: 'durable log: DurableSink, inline writer vs raw',
      unit: 'rows/s',
      sluice: r.throughput.sinkInlineRowsPerSec,
      baseline: r.throughput.rawRowsPerSec,
      ratio: r.throughput.sinkInlineRowsPerSec / r.throughput.rawRowsPerSec,
      spread: 0,
      note: 'the writer on the main thread',
    },
    {
      scenario: 'live path p99 publish → deliver, stalled database vs healthy',
      unit: 'µs',
      sluice: r.latency.stalled.p99Us,
      baseline: r.latency.healthy.p99Us,
      ratio: r.latency.p99Ratio,
      spread: 0,
      note: `${r.latency.stalled.committedDuringWindow} rows committed while stalled`,
    },
  ];
}

await scenario('inline', async () => {
  const { runInlineBench } = await import('./inline.ts');
  suite.inline = await runInlineBench(
    quick
      ? { items: 50_000, runs: 2, latencyMs: 1_000, streamItems: 1_000_000, streamCompareItems: 200_000 }
      : { items: 200_000, runs: 3, latencyMs: 2_000 },
    log,
  );
  printRows('inline engine (core)', suite.inline);
  log(`  → ${await writeResults('inline', suite.inline)}`);
});
await scenario('sweeps', async () => {
  const { runSweepBench } = await import('./sweeps.ts');
  suite.sweeps = await runSweepBench({ quick, log });
  printRows('harness sweeps', suite.sweeps.rows);
  log(`  → ${await writeResults('sweeps', suite.sweeps)}`);
});
await scenario('pool', async () => {
  const { runPoolBench } = await import('./pool.ts');
  suite.pool = await runPoolBench({ quick: true, runs: quick ? 1 : 2 }, log);
  printRows('pool', suite.pool);
  log(`  → ${await writeResults('pool', suite.pool)}`);
});
await scenario('store', async () => {
  const { runStoreBench } = await import('./store.ts');
  const result = await runStoreBench(
    quick ? { events: 50_000, repeats: 1, latencyWindowMs: 500 } : { events: 150_000, repeats: 2, latencyWindowMs: 1_000 },
  );
  suite.store = storeRows(result);
  printRows('durable log', suite.store);
  log(`  → ${await writeResults('store', result)}`);
});
await scenario('recording', async () => {
  const { runRecordingBench } = await import('./recording.ts');
  suite.recording = await runRecordingBench({ quick }, log);
  printRows('recording cost', suite.recording);
  log(`  → ${await writeResults('recording', suite.recording)}`);
});
await scenario('serve', async () => {
  const { runServeBench } = await import('./serve.ts');
  suite.serve = await runServeBench({ quick }, log);
  printRows('serving: HTTP server, dashboard, live stream', suite.serve);
  log(`  → ${await writeResults('serve', suite.serve)}`);
});
await scenario('distributed', async () => {
  const { runDistributedBench } = await import('./distributed.ts');
  const result = await runDistributedBench({ quick }, log);
  suite.distributed = result.rows;
  printRows('across processes: Redis Streams vs raw Streams and BullMQ', result.rows);
  log(`  → ${await writeResults('distributed', result)}`);
});
await scenario('governor', async () => {
  const { runGovernorBench } = await import('./governor.ts');
  const result = await runGovernorBench({ quick }, log);
  suite.governor = result;
  printRows('governor ramp', result.rows);
  log(`  → ${await writeResults('governor', result)}`);
});
await scenario('inference', async () => {
  const { runInferenceBench } = await import('./inference.ts');
  const result = await runInferenceBench({ quick });
  printRows(`model inference (${result.backend} backend)`, result.rows);
  log(`  → ${await writeResults('inference', result)}`);
});
await scenario('cli', async () => {
  const { runCliBench } = await import('./cli.ts');
  suite.cli = await runCliBench({ quick }, log);
  printRows('command-line start-up', suite.cli);
  log(`  → ${await writeResults('cli', suite.cli)}`);
});

suite.seconds = (performance.now() - started) / 1000;
const model = suiteReport(suite);
const dir = new URL('./results/', import.meta.url);
await mkdir(dir, { recursive: true });
await writeFile(new URL('report.html', dir), renderHtmlReport(model));
await writeFile(new URL('report.md', dir), renderMarkdownReport(model));
process.stdout.write(`\n### headline ratios\n\n${model.headlines.map((h) => `- ${h.label}: ${h.value}`).join('\n')}\n`);
log(`report: bench/results/report.html (summary bench/results/report.md), ${Math.round(suite.seconds)} s`);

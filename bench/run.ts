/**
 * `npm run bench`: runs every built-in scenario, prints a table per scenario (each figure beside
 * its baseline measured in the same run, as a ratio) and writes JSON to bench/results/.
 *
 * Usage: npm run bench [-- --only inline,store,pool] [--quick]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runInlineBench } from './inline.ts';
import { printRows, writeResults } from './report.ts';

const { values } = parseArgs({ options: { only: { type: 'string' }, quick: { type: 'boolean' } } });
const only = values.only?.split(',');
const quick = values.quick === true;
const wanted = (name: string): boolean => only === undefined || only.includes(name);
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

if (wanted('inline')) {
  log('inline engine…');
  const rows = await runInlineBench(quick ? { items: 50_000, runs: 2, latencyMs: 1_000 } : {}, log);
  printRows('inline engine (core)', rows);
  log(`  → ${await writeResults('inline', rows)}`);
}

// Scenarios of other subsystems, each in its own module exporting run<Name>Bench(options).
const optional: Array<{ name: string; file: string; exportName: string }> = [
  { name: 'store', file: './store.ts', exportName: 'runStoreBench' },
  { name: 'pool', file: './pool.ts', exportName: 'runPoolBench' },
];
for (const scenario of optional) {
  if (!wanted(scenario.name) || !existsSync(new URL(scenario.file, import.meta.url))) continue;
  log(`${scenario.name}…`);
  const mod = (await import(scenario.file)) as Record<string, (options: { quick?: boolean }) => Promise<unknown>>;
  const runBench = mod[scenario.exportName];
  if (typeof runBench !== 'function') throw new Error(`bench/${scenario.file} does not export ${scenario.exportName}`);
  const result = await runBench({ quick });
  const rows = (result as { rows?: unknown }).rows ?? result;
  if (Array.isArray(rows) && rows.every((r) => typeof r === 'object' && r !== null && 'scenario' in r && 'ratio' in r)) printRows(scenario.name, rows);
  else process.stdout.write(`\n### ${scenario.name}\n\n\`\`\`json\n${JSON.stringify(result, null, 2)}\n\`\`\`\n`);
  log(`  → ${await writeResults(scenario.name, result)}`);
}

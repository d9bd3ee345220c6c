/**
 * The command line's start-up, as a user waits for it: `sluice --help` and a first item
 * (`sluice run flows/pipeline.ts --items 1 --no-record`) from the built package (dist/, what an
 * installed sluice runs) and from the sources under tsx (a checkout), each beside `node -e ''`
 * in the same run, interleaved, median of the runs. Builds dist/ first (`npm run build`).
 *
 *   node --import tsx bench/cli.ts [--quick]     (or npm run bench -- --only cli)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './inline.ts';
import { summarize } from './stats.ts';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Wall time of one run of `node args`, ms; throws when it fails. */
function wallMs(args: readonly string[], env: NodeJS.ProcessEnv = {}): number {
  const started = performance.now();
  const out = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (out.status !== 0) throw new Error(`node ${args.join(' ')} exited ${out.status}: ${out.stderr}`);
  return ms;
}

/** Runs the CLI start-up measurements and returns their rows. */
export async function runCliBench(options: { quick?: boolean } = {}, log: (line: string) => void = () => undefined): Promise<BenchRow[]> {
  const runs = options.quick === true ? 5 : 15;
  log('  building dist/ (npm run build)');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'ignore' });
  const cases = {
    node: () => wallMs(['-e', '']),
    helpBuilt: () => wallMs(['bin/sluice.js', '--help'], { SLUICE_CLI: 'dist' }),
    helpSource: () => wallMs(['bin/sluice.js', '--help']),
    firstItemBuilt: () =>
      wallMs(['bin/sluice.js', 'run', 'flows/pipeline.ts', '--items', '1', '--no-record', '--quiet'], { SLUICE_CLI: 'dist' }),
  };
  const samples: Record<keyof typeof cases, number[]> = { node: [], helpBuilt: [], helpSource: [], firstItemBuilt: [] };
  // One warm-up round (file cache), then interleaved rounds.
  for (const run of Object.values(cases)) run();
  for (let i = 0; i < runs; i++) for (const [name, run] of Object.entries(cases)) samples[name as keyof typeof cases].push(run());
  const m = (name: keyof typeof cases): number => summarize(samples[name]).median;
  const row = (scenario: string, name: keyof typeof cases, note: string): BenchRow => ({
    scenario,
    unit: 'ms',
    sluice: m(name),
    baseline: m('node'),
    ratio: m(name) / m('node'),
    spread: summarize(samples[name]).spread,
    note,
  });
  return [
    row("sluice --help (built, as installed) vs node -e ''", 'helpBuilt', `goal < 150 ms; median of ${runs}`),
    row("sluice --help (sources under tsx, a checkout) vs node -e ''", 'helpSource', `median of ${runs}`),
    row(
      "sluice run flows/pipeline.ts --items 1 (built; .ts flow through tsx) vs node -e ''",
      'firstItemBuilt',
      'start, load the flow, one job, close',
    ),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await runCliBench({ quick: process.argv.includes('--quick') }, (line) => process.stderr.write(`${line}\n`));
  for (const r of rows)
    console.log(
      `${r.scenario}: ${r.sluice.toFixed(0)} ms vs ${r.baseline.toFixed(0)} ms (${r.ratio.toFixed(2)}×, spread ` +
        `${(100 * r.spread).toFixed(0)}%)`,
    );
}

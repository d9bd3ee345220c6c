/**
 * What recording costs: flows/pipeline.ts (one job per item) posted with `postAll()` and run to
 * the end — close included, so a recording runtime has committed every event — with the run
 * recorded to a SQLite file (the default recorded topics, the writer thread) and without, in the
 * same process, alternating, median of the runs. The same work `sluice run` and
 * `sluice run --no-record` do.
 *
 *   node --import tsx bench/recording.ts [--quick]     (or npm run bench -- --only recording)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime, type RuntimeOptions } from '../src/index.ts';
import pipeline from '../flows/pipeline.ts';
import type { BenchRow } from './inline.ts';
import { readings } from './readings.ts';
import { settle, summarize } from './stats.ts';

/** Items/s of one run of the pipeline over `items` generated readings. */
async function once(items: number, options: RuntimeOptions): Promise<number> {
  const runtime = new Runtime(options);
  runtime.register(pipeline);
  await runtime.start();
  const started = performance.now();
  await runtime.postAll('pipeline', 'source', 'in', readings(items));
  await runtime.waitUntilAllJobsFinished();
  const report = await runtime.close();
  const seconds = (performance.now() - started) / 1000;
  if (!report.flushed || report.notPersisted > 0) throw new Error(`the recording lost ${report.notPersisted} events`);
  return items / seconds;
}

/** The recording-cost rows. */
export async function runRecordingBench(
  options: { quick?: boolean } = {},
  log: (line: string) => void = () => undefined,
): Promise<BenchRow[]> {
  const items = options.quick === true ? 50_000 : 200_000;
  const runs = options.quick === true ? 3 : 5;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-recording-'));
  try {
    let n = 0;
    const recorded = (): RuntimeOptions => ({ record: { log: join(dir, `run-${n++}.sqlite`) } });
    await once(Math.min(items, 20_000), {});
    await once(Math.min(items, 20_000), recorded());
    const on: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < runs; i++) {
      off.push(await once(items, {}));
      await settle();
      on.push(await once(items, recorded()));
      await settle();
      log(
        `  run ${i + 1}/${runs}: recorded ${Math.round(on.at(-1) as number)} items/s, not recorded ${Math.round(off.at(-1) as number)} ` +
          `items/s`,
      );
    }
    const a = summarize(on);
    const b = summarize(off);
    return [
      {
        scenario: 'pipeline, recording on vs --no-record (postAll to the end, close included)',
        unit: 'items/s',
        sluice: a.median,
        baseline: b.median,
        ratio: a.median / b.median,
        spread: Math.max(a.spread, b.spread),
        note: `goal >= 0.85x; ${items.toLocaleString('en-US')} items, median of ${runs}, SQLite writer thread, every event committed`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await runRecordingBench({ quick: process.argv.includes('--quick') }, (line) => process.stderr.write(`${line}\n`));
  for (const r of rows)
    console.log(
      `${r.scenario}: ${Math.round(r.sluice)} vs ${Math.round(r.baseline)} items/s = ${r.ratio.toFixed(2)}x (spread ` +
        `${(100 * r.spread).toFixed(0)}%)`,
    );
}

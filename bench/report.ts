/**
 * Printing benchmark rows as a table and writing them as JSON under bench/results/ (ignored by
 * git: results are reported, not committed).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './inline.ts';

const kResults = join(dirname(fileURLToPath(import.meta.url)), 'results');

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}

/** Prints `rows` as a Markdown table under `title`. */
export function printRows(title: string, rows: readonly BenchRow[], out: (text: string) => void = (t) => process.stdout.write(t)): void {
  out(`\n### ${title}\n\n| scenario | sluice | baseline | ratio | spread | note |\n|---|---:|---:|---:|---:|---|\n`);
  for (const r of rows)
    out(
      `| ${r.scenario} | ${fmt(r.sluice)} ${r.unit} | ${fmt(r.baseline)} ${r.unit} | ${r.ratio.toFixed(2)}× | ` +
        `${(100 * r.spread).toFixed(0)}% | ${r.note} |\n`,
    );
}

/** Writes `rows` to bench/results/<name>.json and returns the path. */
export async function writeResults(name: string, rows: unknown): Promise<string> {
  await mkdir(kResults, { recursive: true });
  const path = join(kResults, `${name}.json`);
  await writeFile(path, `${JSON.stringify({ name, at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
  return path;
}

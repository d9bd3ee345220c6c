/**
 * The public surface stays small and deliberate: the root export holds at most 80 names (values
 * and types) — what a flow author needs — and the internals (queues, filters, charts, the thread
 * codec) are exported by no entry at all.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const kEntries = [
  'src/index.ts',
  ...['bus', 'store', 'governor', 'resilience', 'telemetry', 'pool', 'harness', 'testing', 'serve', 'flow-files'].map(
    (e) => `src/entry/${e}.ts`,
  ),
];
const kInternals = [
  'RingQueue',
  'ArrayQueue',
  'Ema',
  'RandomWalkKalman',
  'renderChart',
  'BatchEncoder',
  'OpWriter',
  'DropOldestQueue',
  'BusTicker',
  'JobOutcomePack',
];

/** The names a module's `export { … }` and `export type { … }` lists give. */
function exportedNames(file: string): string[] {
  const text = readFileSync(new URL(file, root), 'utf8');
  const names: string[] = [];
  for (const list of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const raw of (list[1] as string).split(',')) {
      const name = raw.trim().replace(/^type\s+/, '');
      if (name !== '') names.push(name.split(/\s+as\s+/).pop() as string);
    }
  }
  return names;
}

describe('the public surface', () => {
  it('the root export holds at most 80 names, each once', () => {
    const names = exportedNames('src/index.ts');
    expect(names.length).toBeGreaterThan(40);
    expect(names.length).toBeLessThanOrEqual(80);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(kEntries)('%s exports no internal', async (file) => {
    const module = (await import(new URL(file, root).href)) as Record<string, unknown>;
    expect(Object.keys(module).length).toBeGreaterThan(0);
    expect(kInternals.filter((name) => name in module)).toEqual([]);
    expect(kInternals.filter((name) => exportedNames(file).includes(name))).toEqual([]);
  });
});

import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const flows = readdirSync(new URL('flows/', root)).filter((f) => f.endsWith('.ts'));

describe('every example flow runs through the CLI', () => {
  it('finds the examples', () => {
    expect(flows).toEqual(expect.arrayContaining(['pipeline.ts', 'fanout.ts']));
  });

  for (const file of flows) {
    it(`flows/${file}: every job completes`, async () => {
      const { stdout } = await run(process.execPath, ['bin/sluice.js', 'run', `flows/${file}`, '--items', '300', '--json'], {
        cwd: root,
        timeout: 120_000,
      });
      const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
        items: number;
        completed: number;
        failed: number;
        cancelled: number;
        drained: boolean;
      };
      expect(summary).toMatchObject({ items: 300, completed: 300, failed: 0, cancelled: 0, drained: true });
    }, 120_000);

    it(`flows/${file}: sluice inspect describes it`, async () => {
      const { stdout } = await run(process.execPath, ['bin/sluice.js', 'inspect', `flows/${file}`, '--format', 'json'], {
        cwd: root,
        timeout: 60_000,
      });
      const described = JSON.parse(stdout) as { routines: unknown[]; connections: unknown[] };
      expect(described.routines.length).toBeGreaterThan(0);
      expect(described.connections.length).toBeGreaterThan(0);
    }, 60_000);
  }
});

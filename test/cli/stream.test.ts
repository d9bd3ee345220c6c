/** `sluice run --stream`: the whole input through the flow as one job, failures counted per item. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { io } from '../fixtures/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice run --stream', () => {
  it('runs generated items as one job and reports items', async () => {
    const t = io();
    expect(await main(['run', 'flows/pipeline.ts', '--items', '50000', '--stream', '--no-record', '--json'], t)).toBe(0);
    const summary = JSON.parse(t.out()) as { items: number; completed: number; failed: number; stream: { status: string; failed: number } };
    expect(summary).toMatchObject({ items: 50_000, completed: 50_000, failed: 0, stream: { status: 'completed', failed: 0 } });
  });

  it('counts failed items, names the first failure, and exits 1; --post with --stream is a usage error', async () => {
    const input = join(dir, 'readings.jsonl');
    const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify(i === 42 ? { celsius: 'warm' } : { sensor: 's', celsius: i }));
    writeFileSync(input, `${lines.join('\n')}\n`);
    const t = io();
    expect(await main(['run', 'flows/pipeline.ts', '--input', input, '--stream', '--no-record'], t)).toBe(1);
    expect(t.out()).toMatch(/^items: 199 completed, 1 failed, 0 cancelled$/m);
    expect(t.out()).toMatch(/^stream mode: one job, \S+, completed$/m);
    expect(t.out()).toMatch(/first failure: SLUICE_ERR_ROUTINE_FAILED in source: .*"warm"/);
    const bad = io();
    expect(await main(['run', 'flows/pipeline.ts', '--post', 'source.in={"celsius":1}', '--stream', '--no-record'], bad)).toBe(2);
    expect(bad.err()).toContain('--stream runs the input as one job');
  });
});

/**
 * Fault: data that tries to act on its reader. Names in a flow module and strings in a recorded
 * log reach diagrams and terminals; they must be shown, never obeyed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { SqliteEventLog } from '../../src/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io() {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => void (out += s), isTTY: false },
    stderr: { write: (s: string) => void (err += s), isTTY: false },
    out: () => out,
    err: () => err,
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
const kControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('output never lets data act on the reader', () => {
  it('inspect --format mermaid: one statement per line, no injected click, every name escaped inside its quoted label', async () => {
    const m = io();
    expect(await main(['inspect', 'test/faults/fixtures/hostile-names.ts', '--format', 'mermaid'], m as never)).toBe(0);
    const lines = m.out().trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    // Two nodes and one edge: the names added no statement.
    expect(lines).toHaveLength(4);
    for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}r\d+(\["[^"]*"\]| -- "[^"]*" --> r\d+)$/);
    expect(m.out()).not.toMatch(/^\s*click/m);
    expect(m.out()).not.toContain('javascript:');
    expect(m.out()).not.toMatch(kControl);
  });

  it('inspect --format dot: names stay inside their quoted strings; no injected node or edge', async () => {
    const d = io();
    expect(await main(['inspect', 'test/faults/fixtures/hostile-names.ts', '--format', 'dot'], d as never)).toBe(0);
    const lines = d.out().trimEnd().split('\n');
    // digraph, rankdir, node style, two nodes, one edge, closing brace.
    expect(lines).toHaveLength(7);
    // Outside quoted strings (with \" escapes) nothing but DOT syntax remains.
    const bare = lines.map((line) => line.replace(/"(?:[^"\\]|\\.)*"/g, '""'));
    expect(bare.filter((l) => l.includes(' -> '))).toHaveLength(1);
    for (const line of bare) expect(line).not.toMatch(/pwned|label=x|javascript/);
    expect(d.out()).not.toMatch(kControl);
  });

  it('inspect text output shows control characters as escapes', async () => {
    const t = io();
    expect(await main(['inspect', 'test/faults/fixtures/hostile-names.ts'], t as never)).toBe(0);
    expect(t.out()).not.toMatch(kControl);
    expect(t.out()).toContain('\\x1b[2J');
  });

  it('runs, replay and tail neutralise control characters from recorded strings, in text and JSON', async () => {
    const db = join(dir, 'hostile.sqlite');
    const runId = 'run-\u001b[2Jevil\u009b31m';
    const log = await SqliteEventLog.open({ path: db });
    await log.append([
      {
        runId,
        seq: 1,
        time: new Date().toISOString(),
        topic: 'run.started',
        payload: { note: 'clear\u001b[2J\u001b]8;;javascript:x\u0007 bidi\u202e' },
      },
      { runId, seq: 2, time: new Date().toISOString(), topic: 'job.completed\u001b[31m', payload: { c1: '\u009b31m' } },
      { runId, seq: 3, time: new Date().toISOString(), topic: 'run.stopped', payload: {} },
    ]);
    await log.close();
    for (const args of [['runs'], ['runs', '--json'], ['replay', runId], ['replay', runId, '--json'], ['tail', runId, '--idle', '50']]) {
      const r = io();
      await main([...args, '--db', db], r as never);
      expect(r.out().length, `${args.join(' ')}: ${r.err()}`).toBeGreaterThan(0);
      expect(r.out(), args.join(' ')).not.toMatch(kControl);
    }
    const j = io();
    await main(['replay', runId, '--json', '--db', db], j as never);
    // Still the same JSON values.
    const events = j
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { topic: string; payload: Record<string, string> });
    expect(events[1]?.topic).toBe('job.completed\u001b[31m');
    expect(events[1]?.payload.c1).toBe('\u009b31m');
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { io } from '../fixtures/cli-io.ts';
import { Runtime } from '../../src/index.ts';
import pipeline from '../../flows/pipeline.ts';

let dir: string;
let db: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  db = join(dir, 'runs.sqlite');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sluice (top level)', () => {
  it('--help lists every command', async () => {
    const t = io();
    expect(await main(['--help'], t)).toBe(0);
    for (const command of ['run', 'inspect', 'runs', 'replay', 'tail']) expect(t.out()).toContain(`  ${command}`);
  });

  it('every command has --help', async () => {
    for (const command of ['run', 'inspect', 'runs', 'replay', 'tail']) {
      const t = io();
      expect(await main([command, '--help'], t)).toBe(0);
      expect(t.out()).toMatch(new RegExp(`^Usage: sluice ${command} \\[options\\]`));
    }
  });

  it('--version prints the package version', async () => {
    const t = io();
    expect(await main(['--version'], t)).toBe(0);
    expect(t.out().trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it.each([
    [['rnu'], /^sluice: SLUICE_ERR_USAGE: unknown command 'rnu' \(did you mean run\?\) \(see sluice --help\)$/],
    [['run', 'flows/pipeline.ts', '--itmes', '5'], /^sluice run: SLUICE_ERR_USAGE: unknown option '--itmes' \(did you mean --items\?\)/],
    [
      ['run', 'flows/pipeline.ts', '--items', 'abc'],
      /^sluice run: SLUICE_ERR_USAGE: option '--items <n>' argument 'abc' is invalid\. Expected an integer >= 0\./,
    ],
    [['run', 'flows/pipeline.ts', '--threads', '0'], /option '--threads <n>' argument '0' is invalid\. Expected an integer >= 1/],
    [['run', 'flows/pipeline.ts', '--timeout', 'soon'], /option '--timeout <ms>' argument 'soon' is invalid\. Expected a number >= 0/],
    [['inspect', 'flows/pipeline.ts', '--format', 'svg'], /argument 'svg' is invalid\. Allowed choices are text, json, mermaid, dot/],
    [['replay'], /^sluice replay: SLUICE_ERR_USAGE: missing required argument 'runId'/],
    [['run', 'flows/pipeline.ts', 'extra'], /too many arguments for 'run'/],
    [
      ['run', 'flows/pipeline.ts', '--input', '/nonexistent/items.jsonl', '--no-record'],
      /Input file not found: \/nonexistent\/items\.jsonl/,
    ],
  ])('a bad command line is one coded line with exit 2: %j', async (args, message) => {
    const t = io();
    expect(await main(args, t)).toBe(2);
    expect(t.err().trim()).toMatch(message);
    expect(t.err().trim().split('\n')).toHaveLength(1);
    expect(t.out()).toBe('');
  });

  it('an unknown command or option is a usage error (exit 2) in one line', async () => {
    const t = io();
    expect(await main(['frobnicate'], t)).toBe(2);
    expect(t.err()).toMatch(/unknown command 'frobnicate'/);
    const u = io();
    expect(await main(['run', 'flows/pipeline.ts', '--bogus'], u)).toBe(2);
    expect(u.err().trim().split('\n')).toHaveLength(1);
  });

  it('a module that is not a flow exits 3 naming the code; --verbose adds the stack', async () => {
    const bad = join(dir, 'not-a-flow.mjs');
    writeFileSync(bad, 'export const x = 1;\n');
    const t = io();
    expect(await main(['inspect', bad], t)).toBe(3);
    expect(t.err()).toMatch(/SLUICE_ERR_FLOW_MODULE_INVALID/);
    expect(t.err()).not.toMatch(/\n\s+at /);
    const v = io();
    expect(await main(['inspect', bad, '--verbose'], v)).toBe(3);
    expect(v.err()).toMatch(/\n\s+at /);
  });
});

describe('sluice run and inspect', () => {
  it('run prints a JSON summary with every job completed and records the run', async () => {
    const t = io();
    expect(await main(['run', 'flows/pipeline.ts', '--items', '500', '--json', '--db', db], t)).toBe(0);
    const summary = JSON.parse(t.out()) as { items: number; completed: number; recordedTo: string; runId: string };
    expect(summary).toMatchObject({ items: 500, completed: 500, failed: 0, cancelled: 0, drained: true, recordedTo: db });
  });

  it('run --post posts one JSON value; a failing job makes exit code 1', async () => {
    const ok = io();
    expect(await main(['run', 'flows/pipeline.ts', '--post', 'source.in={"celsius": 21}', '--json', '--no-record'], ok)).toBe(0);
    expect(JSON.parse(ok.out())).toMatchObject({ items: 1, completed: 1 });
    const bad = io();
    expect(await main(['run', 'flows/pipeline.ts', '--post', 'source.in={"no": 1}', '--json', '--no-record'], bad)).toBe(1);
    expect(JSON.parse(bad.out())).toMatchObject({ items: 1, failed: 1 });
  });

  it('run --post @file.jsonl posts one item per line', async () => {
    const file = join(dir, 'items.jsonl');
    writeFileSync(file, `${Array.from({ length: 25 }, (_, i) => JSON.stringify({ sensor: 's', celsius: i })).join('\n')}\n`);
    const t = io();
    expect(await main(['run', 'flows/pipeline.ts', '--post', `source.in=@${file}`, '--json', '--no-record'], t)).toBe(0);
    expect(JSON.parse(t.out())).toMatchObject({ items: 25, completed: 25 });
  });

  it('inspect draws the flow as Mermaid and DOT', async () => {
    const m = io();
    expect(await main(['inspect', 'flows/fanout.ts', '--format', 'mermaid'], m)).toBe(0);
    expect(m.out()).toMatch(/^flowchart LR/);
    expect(m.out()).toContain('r0["split<br/>Split · inline · immediate"]');
    expect(m.out()).toContain('r0 -- "doc → in" --> r1');
    const d = io();
    expect(await main(['inspect', 'flows/fanout.ts', '--format', 'dot'], d)).toBe(0);
    expect(d.out()).toContain('"join" -> "collect"');
  });
});

describe('sluice runs, replay and tail', () => {
  it('runs lists recorded runs and replay prints one in order, with --since and --topic', async () => {
    const r = io();
    expect(await main(['run', 'flows/pipeline.ts', '--items', '50', '--json', '--db', db], r)).toBe(0);
    const { runId } = JSON.parse(r.out()) as { runId: string };
    const list = io();
    expect(await main(['runs', '--db', db, '--json'], list)).toBe(0);
    const runs = list
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { runId: string; count: number });
    expect(runs.find((x) => x.runId === runId)?.count).toBe(55);
    const all = io();
    expect(await main(['replay', runId, '--db', db, '--json'], all)).toBe(0);
    const events = all
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; topic: string });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 55 }, (_, i) => i + 1));
    expect(events[1]?.topic).toBe('run.started');
    const tail = io();
    expect(await main(['replay', runId, '--db', db, '--since', '50', '--topic', 'run.'], tail)).toBe(0);
    expect(tail.out().trim().split('\n')).toHaveLength(1);
    expect(tail.out()).toMatch(/^\s+55 \S+ run\.stopped/);
  });

  it('replay of an unknown run or a missing database is a usage error', async () => {
    const t = io();
    expect(await main(['replay', 'nope', '--db', db], t)).toBe(2);
    expect(t.err()).toMatch(/No run "nope"/);
    const m = io();
    expect(await main(['runs', '--db', join(dir, 'missing.sqlite')], m)).toBe(2);
  });

  it('tail follows a run recorded by another runtime until it stops', async () => {
    const runtime = new Runtime({ runId: 'live-run', record: { log: db, sink: { flushIntervalMs: 1 } } });
    await runtime.start();
    runtime.register(pipeline);
    const t = io();
    const tailing = main(['tail', 'live-run', '--db', db, '--json', '--idle', '20000'], t);
    for (let i = 0; i < 5; i++) {
      runtime.post('pipeline', 'source', 'in', { sensor: 's', celsius: i });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await runtime.waitUntilAllJobsFinished({ timeout: 5_000 });
    await runtime.close();
    expect(await tailing).toBe(0);
    const topics = t
      .out()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { topic: string }).topic);
    expect(topics.slice(0, 2)).toEqual(['runtime.state', 'run.started']);
    expect(topics.filter((x) => x === 'job.completed')).toHaveLength(5);
    expect(topics.at(-1)).toBe('run.stopped');
  });
});

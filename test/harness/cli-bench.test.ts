import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main, mainHelp } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/output.ts';
import { validateBenchResult } from '../../src/harness/index.ts';

function io(tty = false): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t), isTTY: tty },
    out: () => out,
    err: () => err,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tiny = 'test/harness/fixtures/tiny-flow.ts';

describe('sluice bench', () => {
  it('is listed in sluice --help and has its own --help with exit codes', async () => {
    expect(mainHelp()).toMatch(/^ {2}bench \[options\] <flow-module> +measure a flow/m);
    const t = io();
    expect(await main(['bench', '--help'], t)).toBe(0);
    expect(t.out()).toMatch(/^Usage: sluice bench \[options\] <flow-module>/);
    for (const option of [
      '--threads',
      '--dispatch-batch',
      '--rate',
      '--duration',
      '--warmup',
      '--json',
      '--report',
      '--input',
      '--routine',
      '--quiet',
    ])
      expect(t.out()).toContain(option);
    expect(t.out()).toMatch(/Exit codes: 0 .*1 .*2 usage error/s);
  });

  it('prints a table and writes JSON, an HTML report and a Markdown summary, with the module baseline', async () => {
    const t = io();
    const json = join(dir, 'out.json');
    const html = join(dir, 'report.html');
    expect(
      await main(
        [
          'bench',
          tiny,
          '--items',
          '200',
          '--warmup',
          '20',
          '--repeat',
          '2',
          '--threads',
          '1,2',
          '--json',
          json,
          '--report',
          html,
          '--quiet',
        ],
        t,
      ),
    ).toBe(0);
    expect(t.out()).toMatch(/\| configuration \| items\/s \(median\) \| spread \| speed-up \| × plain JS \(module baseline\) \| p50 ms \|/);
    expect(t.out()).toMatch(/\| inline \| [\d,.]+ \|/);
    expect(t.out()).toMatch(/\| baseline: plain JS \(module baseline\) \|/);
    expect(t.out()).toContain('note: The flow has no pool routines');
    expect(t.err()).toBe('');
    const result = JSON.parse(readFileSync(json, 'utf8')) as { configurations: Array<{ jobs: { completed: number } }> };
    expect(validateBenchResult(result)).toEqual([]);
    expect(result.configurations[0]?.jobs.completed).toBe(400);
    expect(readFileSync(html, 'utf8')).toContain('<svg class="chart"');
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/^# sluice bench: tiny/);
  }, 60_000);

  it('--json alone (or --json -) writes only JSON to stdout; items come from --input', async () => {
    const input = join(dir, 'items.jsonl');
    writeFileSync(input, '1\n2\n\n3\n');
    const t = io();
    expect(await main(['bench', tiny, '--input', input, '--items', '30', '--warmup', '0', '--repeat', '1', '--json'], t)).toBe(0);
    expect(JSON.parse(t.out())).toMatchObject({
      schema: 'sluice.bench/1',
      flow: 'tiny',
      configurations: [{ jobs: { posted: 30, completed: 30 } }],
    });
    const u = io();
    expect(await main(['bench', tiny, '--input', input, '--items', '30', '--warmup', '0', '--repeat', '1', '--json', '-'], u)).toBe(0);
    expect(JSON.parse(u.out())).toMatchObject({ schema: 'sluice.bench/1' });
  }, 30_000);

  it('shows progress with rate and ETA as plain lines when piped', async () => {
    const t = io(false);
    expect(
      await main(['bench', tiny, '--items', '3000', '--warmup', '0', '--repeat', '1', '--rate', '2000', '--json', join(dir, 'p.json')], t),
    ).toBe(0);
    // 1.5 s of posting: at least one plain progress line (every 2 s when piped, and at the end of phases).
    expect(t.err()).not.toContain('\r');
  }, 30_000);

  it('a failing job makes exit code 1', async () => {
    const input = join(dir, 'bad.jsonl');
    writeFileSync(input, '1\n-1\n');
    const t = io();
    expect(await main(['bench', tiny, '--input', input, '--items', '10', '--warmup', '0', '--repeat', '1', '--quiet'], t)).toBe(1);
    expect(t.out()).toMatch(/\| inline \|.*\| 5 \|$/m);
  }, 30_000);

  it.each([
    [
      ['--threads', '0,2'],
      new RegExp(
        "SLUICE_ERR_USAGE: option '--threads <list>' argument '0,2' is invalid\\. " +
          'Expected a comma-separated list of integers >= 1 \\(e\\.g\\. 1,2,4\\)',
      ),
    ],
    [['--dispatch-batch', 'x'], /option '--dispatch-batch <list>' argument 'x' is invalid\. Expected a comma-separated list/],
    [['--batch', 'x'], /option '--batch <list>' argument 'x' is invalid/],
    [['--items=-3'], /option '--items <n>' argument '-3' is invalid\. Expected an integer >= 1/],
    [['--items', '-3'], /option '--items <n>' argument '-3' is invalid/],
    [['--items', 'abc'], /option '--items <n>' argument 'abc' is invalid/],
    [['--duration', 'soon'], /Expected --duration to be a duration such as 500ms, 10s or 2m, got "soon"/],
    [['--ramp-to', '50'], /--ramp-to needs --rate/],
    [['--routine', 'double'], /--routine and --slot go together/],
    [['--slot', 'nope', '--routine', 'double', '--items', '5', '--warmup', '0', '--repeat', '1'], /has no slot "nope"/],
    [['--input', '/nonexistent/items.jsonl'], /--input file not found/],
    [['--bogus'], /SLUICE_ERR_USAGE: unknown option '--bogus'/],
    [['--repaet', '2'], /unknown option '--repaet' \(did you mean --repeat\?\)/],
  ])(
    'usage errors are one line, exit 2: %j',
    async (args, message) => {
      const t = io();
      const code = await main(['bench', tiny, ...args], t);
      expect(t.err()).toMatch(message);
      expect(t.err().trim().split('\n')).toHaveLength(1);
      expect(code).toBe(/has no slot/.test(String(message)) ? 1 : 2);
    },
    30_000,
  );

  it('a missing module argument is a usage error; a module that is not a flow exits 3', async () => {
    const t = io();
    expect(await main(['bench'], t)).toBe(2);
    expect(t.err()).toMatch(/sluice bench: SLUICE_ERR_USAGE: missing required argument 'flow-module'/);
    const bad = join(dir, 'not-a-flow.mjs');
    writeFileSync(bad, 'export const x = 1;\n');
    const u = io();
    expect(await main(['bench', bad], u)).toBe(3);
    expect(u.err()).toMatch(/SLUICE_ERR_FLOW_MODULE_INVALID/);
    expect(u.err()).not.toMatch(/\n\s+at /);
  });
});

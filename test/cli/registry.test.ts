/**
 * Seeing what happened (issue 15): failures in one command, the run registry in `sluice runs`
 * (status, outcomes, filters, one run, `latest`), pruning, the runtime's retention, a readable
 * tail, and text replay that never cuts a payload when piped.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/output.ts';
import { Flow, Routine, Runtime } from '../../src/index.ts';
import { SqliteEventLog, type RunInfo } from '../../src/entry/store.ts';

function io(): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, out: () => out, err: () => err };
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const t = io();
  const code = await main(args, t);
  return { code, out: t.out(), err: t.err() };
}

let dir: string;
let db: string;
let input: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-registry-'));
  db = join(dir, 'a log', 'runs.sqlite');
  input = join(dir, 'readings.jsonl');
  writeFileSync(input, `${['{"celsius": 21}', '{"no": 1}', '{"celsius": 22}', '{"no": 2}', '{"celsius": "hot"}'].join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runsJson(...args: string[]): Promise<RunInfo[]> {
  const r = await cli('runs', ...args, '--db', db, '--json');
  expect(r.code).toBe(0);
  return r.out.trim() === ''
    ? []
    : r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RunInfo);
}

describe('failures in one command', () => {
  it('sluice run ends with the distinct errors, their routine and count; --post prints each job; hints carry --db', async () => {
    const r = await cli('run', 'flows/pipeline.ts', '--post', `source.in=@${input}`, '--db', db);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^jobs: 2 completed, 3 failed, 0 cancelled$/m);
    expect(r.out).toMatch(/^job \S+-1 completed; data \{"fahrenheit":69\.8/m);
    expect(r.out).toMatch(
      /^job \S+-2 failed SLUICE_ERR_ROUTINE_FAILED: Routine "source" failed: reading has no numeric celsius: \{"no":1\}; data \{\}$/m,
    );
    expect(r.out).toMatch(/^failures: 3 jobs failed, 1 distinct error:$/m);
    expect(r.out).toMatch(
      new RegExp(
        '^ {2}3 × SLUICE_ERR_ROUTINE_FAILED in source: Routine "source" failed: ' +
          String.raw`reading has no numeric celsius: \{"no":1\} \(first: job \S+-2\)$`,
        'm',
      ),
    );
    const runId = /recorded as (\S+) in/.exec(r.out)?.[1] as string;
    expect(r.out).toContain(`every failed job: sluice replay ${runId} --topic job.failed --db '${db}'`);
    expect(r.err).toContain(`recording to ${db} (--no-record to turn off)`);
    // Followed as printed, the hint finds the failures.
    const replay = await cli('replay', runId, '--topic', 'job.failed', '--db', db);
    expect(replay.out.trim().split('\n')).toHaveLength(3);
  });

  it("--json has every job's outcome and the failure tally", async () => {
    const r = await cli('run', 'flows/pipeline.ts', '--post', `source.in=@${input}`, '--no-record', '--json');
    const summary = JSON.parse(r.out) as {
      jobs: Array<{ status: string; data: unknown; error?: { code: string } }>;
      failures: { total: number; distinct: Array<{ jobs: number; routineId: string }> };
    };
    expect(summary.jobs.map((j) => j.status)).toEqual(['completed', 'failed', 'completed', 'failed', 'failed']);
    expect(summary.jobs[2]?.data).toMatchObject({ fahrenheit: 71.6 });
    expect(summary.failures).toMatchObject({
      total: 3,
      otherJobs: 0,
      distinct: [{ jobs: 3, routineId: 'source', code: 'SLUICE_ERR_ROUTINE_FAILED' }],
    });
  });

  it('text replay prints whole payloads when piped; an unknown run names the log searched', async () => {
    const long = join(dir, 'long.jsonl');
    writeFileSync(long, `${JSON.stringify({ celsius: 1, note: 'x'.repeat(400) })}\n`);
    const run = await cli('run', 'flows/pipeline.ts', '--post', `source.in=@${long}`, '--db', db, '--json');
    const { runId } = JSON.parse(run.out) as { runId: string };
    const all = await cli('replay', runId, '--db', db);
    expect(all.out).not.toContain('...');
    const unknown = await cli('replay', 'nope', '--db', db);
    expect(unknown.code).toBe(2);
    // The message says where to look; no second hint is added.
    expect(unknown.err.trim()).toBe(`sluice replay: SLUICE_ERR_USAGE: No run "nope" in the event log ${db} (see sluice runs --db '${db}')`);
  });
});

describe('the run registry', () => {
  it('sluice runs shows flow, status, job outcomes and the log size; --status and --flow filter; latest shows one', async () => {
    const ok = await cli('run', 'flows/fanout.ts', '--items', '40', '--db', db, '--json');
    const { runId } = JSON.parse(ok.out) as { runId: string };
    const list = await cli('runs', '--db', db);
    expect(list.out).toMatch(new RegExp(`^${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [\\d.]+ (kB|MB), \\d+ runs$`, 'm'));
    expect(list.out).toMatch(/^run +flow +status +jobs ok\/failed\/cancelled +overflows +started +duration +events$/m);
    expect(list.out).toMatch(new RegExp(`^${runId} +fanout +completed +40/0/0 +0 `, 'm'));
    expect(list.out).toMatch(/ pipeline +failed +2\/3\/0 /);
    const completed = await runsJson('--status', 'completed');
    expect(completed.every((r) => r.status === 'completed')).toBe(true);
    expect(completed.map((r) => r.runId)).toContain(runId);
    expect((await runsJson('--flow', 'pipeline')).every((r) => r.flow === 'pipeline')).toBe(true);
    const latest = await cli('runs', 'latest', '--db', db);
    expect(latest.out).toMatch(
      new RegExp(`^run ${runId}\\nflow: fanout\\nstatus: completed\\njobs: 40 completed, 0 failed \\(0 dropped\\), 0 cancelled\\n`),
    );
    expect(latest.out).toMatch(/^ended: \S+Z$/m);
    const [one] = await runsJson(runId);
    expect(one).toMatchObject({
      runId,
      flow: 'fanout',
      status: 'completed',
      jobs: { completed: 40, failed: 0, cancelled: 0, dropped: 0 },
      lost: 0,
      recordingFailed: false,
    });
    expect(one?.heartbeatMs).toBe(5_000);
    // --json with a file writes there and says so (a run id after --json would be taken as the file).
    const file = join(dir, 'out', 'runs.jsonl');
    const written = await cli('runs', '--db', db, '--json', file);
    expect(written).toMatchObject({ code: 0, out: '', err: `JSON written to ${file}\n` });
    expect(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as RunInfo).runId),
    ).toContain(runId);
    const bad = await cli('runs', '--db', db, '--status', 'crashed');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Allowed choices are running, completed, failed, interrupted/);
  });

  it('a process killed without run.stopped is interrupted once its heartbeats stop', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/record-forever.ts', import.meta.url)), db],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()));
      child.once('exit', (code) => reject(new Error(`fixture exited ${code}`)));
    });
    const { runId } = JSON.parse(line) as { runId: string };
    try {
      const [running] = await runsJson(runId);
      expect(running?.status).toBe('running');
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // Heartbeats every 100 ms: 3 missed beats and more.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const [dead] = await runsJson(runId);
    expect(dead).toMatchObject({ runId, flow: 'forever', status: 'interrupted', heartbeatMs: 100 });
    expect(dead?.endTime).toBeUndefined();
    expect((await runsJson('--status', 'interrupted')).map((r) => r.runId)).toContain(runId);
  }, 60_000);

  it('sluice runs prune removes runs by id, count and age, and the file shrinks', async () => {
    const runs = await runsJson();
    expect(runs.length).toBeGreaterThanOrEqual(4);
    const before = statSync(db).size;
    const byId = await cli('runs', 'prune', runs.at(-1)!.runId, '--db', db);
    expect(byId.out).toMatch(/^pruned 1 runs \(\d+ events\) from .*: [\d.]+ \S+ → [\d.]+ \S+$/m);
    expect((await runsJson()).map((r) => r.runId)).not.toContain(runs.at(-1)!.runId);
    expect((await cli('runs', 'prune', '--older-than', '1h', '--db', db)).out).toMatch(/^pruned 0 runs/);
    expect((await cli('runs', 'prune', '--keep', '1', '--db', db)).out).toMatch(new RegExp(`^pruned ${runs.length - 2} runs`));
    expect(await runsJson()).toHaveLength(1);
    expect(statSync(db).size).toBeLessThan(before);
    const nothing = await cli('runs', 'prune', '--db', db);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toMatch(/Say what to prune/);
    expect((await cli('runs', 'prune', '--older-than', 'soon', '--db', db)).err.trim()).toMatch(
      new RegExp(
        "^sluice runs prune: SLUICE_ERR_USAGE: option '--older-than <age\\|date>' argument 'soon' is invalid\\. " +
          'Expected an age such as 30m.* \\(see sluice runs prune --help\\)$',
      ),
    );
  });
});

describe('retention', () => {
  class Noop extends Routine {
    constructor() {
      super();
      this.addSlot('in');
    }
    logic() {}
  }

  it('a recording runtime keeps the last keepRuns runs and never prunes its own', async () => {
    const path = join(dir, 'retained.sqlite');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      await using runtime = new Runtime({ record: { log: path, retention: { keepRuns: 2 } } });
      runtime.register(new Flow('noop').addRoutine(new Noop(), 'noop'));
      await runtime.start();
      await runtime.post('noop', 'noop', 'in', i)[1].done();
      ids.push(runtime.runId);
    }
    const log = await SqliteEventLog.open({ path, readonly: true });
    try {
      expect((await log.runs()).map((r) => r.runId)).toEqual([ids[3], ids[2]]);
    } finally {
      await log.close();
    }
    await expect(async () => new Runtime({ record: { log: path, retention: { keepRuns: 0 } } })).rejects.toThrow(
      /record\.retention\.keepRuns/,
    );
  });
});

describe('a tail a person can read', () => {
  it('summarises at high volume (one line a second), --events prints every event, --topic filters', async () => {
    const r = await cli('run', 'flows/pipeline.ts', '--items', '3000', '--db', db, '--json');
    const { runId } = JSON.parse(r.out) as { runId: string };
    const summary = await cli('tail', runId, '--db', db);
    expect(summary.out).toMatch(/^\(more than 20 events a second: one line a second from here; --events prints every event\)$/m);
    const lines = summary.out
      .trim()
      .split('\n')
      .filter((l) => / jobs\/s: /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const ended = lines.reduce((n, l) => n + Number(/^\S+ {2}([\d,]+) jobs\/s/.exec(l)?.[1]?.replace(/,/g, '')), 0);
    expect(ended).toBe(3_000);
    expect(summary.out.trim().split('\n').length).toBeLessThan(20);
    const every = await cli('tail', runId, '--db', db, '--events');
    expect(every.out.trim().split('\n')).toHaveLength(3_005);
    const topic = await cli('tail', 'latest', '--db', db, '--topic', 'run.');
    expect(
      topic.out
        .trim()
        .split('\n')
        .map((l) => /^\s*\d+ \S+ (\S+)/.exec(l)?.[1]),
    ).toEqual(['run.started', 'run.stopped']);
  });
});

/**
 * Fault: a slow disk under a recording runtime. The database is write-locked by another
 * connection; posting must slow down (the recording's backlog stays near its high-water mark),
 * the live bus must keep delivering, nothing may be lost, and a kill -9 may lose at most the
 * events not yet committed — which the bound now caps.
 */
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime } from '../../src/index.ts';
import { expectCode, isSettled } from '../fixtures/helpers.ts';
import { Collect, Pass } from '../fixtures/routines.ts';
import { createTempDir } from '../store/temp-dir.ts';

const temps: Array<ReturnType<typeof createTempDir>> = [];
afterEach(() => {
  for (const temp of temps.splice(0)) temp.remove();
});
function tempFile(name: string): string {
  const temp = createTempDir('sluice-slow-disk-');
  temps.push(temp);
  return temp.file(name);
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
function* numbers(n: number): Iterable<number> {
  for (let i = 0; i < n; i++) yield i;
}
function countCompleted(db: string): number {
  const reader = new Database(db, { readonly: true, fileMustExist: true });
  try {
    // The registry counts every completed job, also those stored packed (one row for many).
    return reader.prepare('SELECT coalesce(sum(jobs_completed), 0) FROM runs').pluck().get() as number;
  } finally {
    reader.close();
  }
}

describe('a slow disk slows posting, never loses or balloons', () => {
  it('postAll waits while the log is write-locked, post() refuses with SLUICE_ERR_STORE_BACKPRESSURE, postAsync waits; the live bus ' +
    'keeps delivering; every event is recorded', async () => {
    const db = tempFile('locked.sqlite');
    const hwm = 2_000;
    const total = 50_000;
    const runtime = new Runtime({ record: { log: db, sink: { highWaterMark: hwm } }, heartbeatMs: 0 });
    const seen: Array<{ data: unknown; jobId: string }> = [];
    runtime.register(
      new Flow('rec').addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b').addRoutine(new Collect(seen), 'c').pipe('a', 'b', 'c'),
    );
    await runtime.start();
    let live = 0;
    runtime.bus.subscribe('job.completed', () => void live++);
    const locker = new Database(db);
    locker.exec('BEGIN IMMEDIATE');
    let released = false;
    try {
      let posted = 0;
      const posting = runtime.postAll('rec', 'a', 'in', numbers(total), { onPosted: (n) => (posted = n) });
      await sleep(1_500);
      const sink = runtime.recorder;
      expect(sink).toBeDefined();
      const during = { posted, ...sink!.stats(), live, seen: seen.length };
      // Posting waited: far from everything was admitted, and the backlog stayed near the mark
      // (what was already in the flow still finishes: at most the slots' capacity more).
      expect(during.posted).toBeLessThan(total / 2);
      expect(during.peakPending).toBeLessThanOrEqual(hwm + 3 * 1_000 + 1_024);
      expect(during.pressured).toBe(true);
      // The live path did not wait on the database: every job that ran was delivered live.
      expect(during.live).toBeGreaterThan(0);
      expect(during.live).toBe(during.seen);
      expect(countCompleted(db)).toBe(0);
      // The synchronous post cannot wait: a coded refusal, nothing half-posted.
      const before = runtime.listWorkers()[0]?.counters.jobsPosted;
      expect(expectCode(() => runtime.post('rec', 'a', 'in', -1), ErrorCode.StoreBackpressure).message).toContain('high-water mark 2000');
      expect(runtime.listWorkers()[0]?.counters.jobsPosted).toBe(before);
      const waiting = runtime.postAsync('rec', 'a', 'in', -2);
      expect(await isSettled(waiting)).toBe(false);
      locker.exec('COMMIT');
      released = true;
      await posting;
      await waiting;
      await runtime.waitUntilAllJobsFinished();
    } finally {
      if (!released) locker.exec('ROLLBACK');
      locker.close();
    }
    const report = await runtime.close();
    expect(report.flushed).toBe(true);
    expect(seen).toHaveLength(total + 1);
    expect(countCompleted(db)).toBe(total + 1);
  }, 60_000);

  it('a kill -9 while the log is locked loses at most the uncommitted backlog, which the high-water mark caps', async () => {
    const db = tempFile('killed.sqlite');
    const hwm = 5_000;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/faults/fixtures/record-under-lock.ts', db, '2000000', String(hwm)], {
      cwd: new URL('../../', import.meta.url),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastPosted = 0;
    let started = false;
    let locked = false;
    let peakRssDuringLock = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'started') started = true;
        const m = /^posted (\d+)/.exec(line);
        if (m !== null) lastPosted = Number(m[1]);
        const rss = /^rss (\d+)/.exec(line);
        if (rss !== null && locked) peakRssDuringLock = Math.max(peakRssDuringLock, Number(rss[1]));
      }
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      const deadline = Date.now() + 30_000;
      while (!(started && lastPosted >= 20_000)) {
        if (Date.now() > deadline) throw new Error(`the child did not start posting: ${stderr}`);
        await sleep(20);
      }
      const locker = new Database(db);
      locker.exec('BEGIN IMMEDIATE');
      locked = true;
      try {
        await sleep(2_500);
        const atKill = lastPosted;
        child.kill('SIGKILL');
        expect(await exited).toBe('SIGKILL');
        locker.exec('ROLLBACK');
        const committed = countCompleted(db);
        // Jobs posted (up to 1,023 more than the last line printed) minus jobs recorded: the
        // events lost with the process. Bounded by the mark plus what was in flight in the
        // flow's slots; before the bound, ~700k of ~703k were lost here.
        const lost = atKill + 1_024 - committed;
        expect(atKill).toBeLessThan(2_000_000);
        expect(lost).toBeLessThanOrEqual(hwm + 3 * 1_000 + 2 * 1_024);
        // Memory stays flat while posting waits (before the bound: 655 MB over a 3 s lock).
        console.log(
          `kill -9 under a 2.5 s lock: ${atKill} posted, ${committed} recorded, peak RSS ${(peakRssDuringLock / 1e6).toFixed(0)} MB`,
        );
        expect(peakRssDuringLock).toBeGreaterThan(0);
        expect(peakRssDuringLock).toBeLessThan(400e6);
      } finally {
        locker.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/bus/index.ts';
import { DurableSink, SqliteEventLog } from '../../src/store/index.ts';
import { createTempDir } from './temp-dir.ts';

describe('DurableSink on a real SQLite file', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('loses nothing across 1M events, with memory bounded by backpressure; backfill and replay are exact', async () => {
    const path = temp.file('million.sqlite');
    const log = await SqliteEventLog.open({ path });
    const bus = new EventBus();
    const highWaterMark = 20_000;
    const chunk = 1000;
    const sink = new DurableSink({ log, highWaterMark });
    // The job events only: the live subscriber's drops are reported on bus.overflow, not counted here.
    bus.addSink(sink, { topics: ['job.*'] });
    let live = 0;
    bus.subscribe('job.*', () => void live++, { maxQueue: 64 }); // a live subscriber that may lose events
    const total = 1_000_000;
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    for (let i = 0; i < total; i += chunk) {
      for (let j = 0; j < chunk; j++)
        bus.publish(j % 2 ? 'job.odd' : 'job.even', { i: i + j, tag: 'x' }, { runId: i + j < 10 ? 'small' : 'big' });
      if (sink.isPressured) await sink.ready();
      else await new Promise((r) => setImmediate(r));
      if (i % 50_000 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }
    expect(await sink.flush({ timeout: 30_000 })).toBe(true);
    const stats = sink.stats();
    expect(stats).toMatchObject({ accepted: total, committed: total, pending: 0, failures: 0, duplicates: 0 });
    // Bounded: the backlog never exceeded the mark by more than one producer chunk.
    expect(stats.peakPending).toBeLessThanOrEqual(highWaterMark + chunk);
    expect(heapPeak - heapBefore).toBeLessThan(256 * 1024 * 1024);

    // Nothing lost or duplicated, straight from SQLite.
    const db = new Database(path, { readonly: true });
    const row = db.prepare("SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM events WHERE run_id = 'big'").get() as Record<
      string,
      number
    >;
    db.close();
    expect(row).toEqual({ n: total - 10, lo: 1, hi: total - 10 });
    expect((await log.runs()).map((r) => [r.runId, r.firstSeq, r.lastSeq, r.count])).toEqual(
      expect.arrayContaining([
        ['big', 1, total - 10, total - 10],
        ['small', 1, 10, 10],
      ]),
    );

    // Cursor backfill is exact.
    const tail = await log.since('big', total - 10 - 5);
    expect(tail.map((e) => e.seq)).toEqual([999_986, 999_987, 999_988, 999_989, 999_990]);
    expect(tail.at(-1)?.payload).toEqual({ i: total - 1, tag: 'x' });

    // Replay is exact and in order.
    let expected = 1;
    for await (const event of log.replay('big', { pageSize: 5000 })) {
      if (event.seq !== expected) throw new Error(`replay gave seq ${event.seq}, expected ${expected}`);
      expected++;
    }
    expect(expected - 1).toBe(total - 10);
    await sink.close();
    await log.close();
  }, 120_000);

  it('a stalled database leaves the live path on time (thread writer), while the inline writer blocks it', async () => {
    async function liveLatencyDuringStall(writer: 'thread' | 'inline'): Promise<{ maxLagMs: number; committedDuringStall: number }> {
      const path = temp.file(`stall-${writer}.sqlite`);
      const log = await SqliteEventLog.open({ path, writer, busyTimeoutMs: 600 });
      const bus = new EventBus();
      const sink = new DurableSink({ log, batchSize: 16, retryInitialMs: 5 });
      sink.onError(() => {});
      bus.addSink(sink);
      // Another connection holds the write lock: every commit now waits for busy_timeout.
      const blocker = new Database(path);
      blocker.prepare('BEGIN IMMEDIATE').run();
      const committedBefore = sink.stats().committed;
      let maxLagMs = 0;
      bus.subscribe('tick', (event) => {
        const { due } = event.payload as { due: number };
        maxLagMs = Math.max(maxLagMs, performance.now() - due);
      });
      // A producer that means to publish every 2 ms for 400 ms; lag = delivery time - intended time.
      const start = performance.now();
      for (let k = 1; k <= 200; k++) {
        const due = start + 2 * k;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        bus.publish('tick', { due });
      }
      await new Promise((r) => setTimeout(r, 20));
      const committedDuringStall = sink.stats().committed - committedBefore;
      blocker.prepare('COMMIT').run();
      blocker.close();
      expect(await sink.flush({ timeout: 10_000 })).toBe(true);
      expect(await log.lastSeq('default')).toBe(200);
      await sink.close();
      await log.close();
      return { maxLagMs, committedDuringStall };
    }

    const thread = await liveLatencyDuringStall('thread');
    expect(thread.committedDuringStall).toBe(0); // the database really was stalled
    expect(thread.maxLagMs).toBeLessThan(150); // busy_timeout is 600 ms: the live path never waited for it
    const inline = await liveLatencyDuringStall('inline');
    expect(inline.maxLagMs).toBeGreaterThan(500); // control: the same stall on the main thread is visible
  }, 60_000);

  it('a crash loses nothing that was committed, and a restart resumes the sequence', async () => {
    const path = temp.file('crash.sqlite');
    const fixture = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path, '5000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const committed = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /committed (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 150)); // let it write more, some of it mid-batch
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(committed).toBe(5000);

    const log = await SqliteEventLog.open({ path });
    const lastSeq = await log.lastSeq('crash');
    expect(lastSeq).toBeGreaterThanOrEqual(committed);
    const [run] = await log.runs();
    // Batches commit in order, one at a time: what survived is a prefix without holes.
    expect(run).toMatchObject({ runId: 'crash', firstSeq: 1, lastSeq, count: lastSeq });
    const bus = new EventBus();
    const sink = new DurableSink({ log });
    bus.addSink(sink);
    bus.resumeSequence('crash', lastSeq);
    expect(bus.publish('restart', {}, { runId: 'crash' })?.seq).toBe(lastSeq + 1);
    await sink.flush();
    expect(sink.stats().duplicates).toBe(0);
    expect(await log.lastSeq('crash')).toBe(lastSeq + 1);
    await sink.close();
    await log.close();
  }, 60_000);
});

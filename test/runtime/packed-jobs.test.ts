/**
 * A recording runtime stores its completed jobs packed (one row for many) when only the log
 * listens to `job.completed`: read back, every job is there with its own seq, time and payload,
 * interleaved in seq order with the events recorded one by one, across pages; the registry counts
 * every job and loses none. A live subscriber on `job.completed` gets every event as before, and
 * the log then records them one by one.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/bus/index.ts';
import { Flow, Runtime, type JobContext } from '../../src/index.ts';
import { SqliteEventLog } from '../../src/entry/store.ts';
import { EventBus } from '../../src/entry/bus.ts';
import { createTempDir } from '../store/temp-dir.ts';
import { makeRoutine } from '../fixtures/routines.ts';

const temps: Array<{ remove(): void }> = [];
afterEach(() => {
  for (const t of temps.splice(0)) t.remove();
});

/** A flow whose one routine fails items divisible by 7. */
function picky(): Flow {
  return new Flow('picky').addRoutine(
    makeRoutine({
      logic: (items) => {
        for (const x of (items.in ?? []) as number[]) if (x % 7 === 0) throw new Error(`no ${x}`);
      },
    }),
    'check',
  );
}

async function recordRun(
  path: string,
  items: number,
  options: { live?: boolean; given?: boolean } = {},
): Promise<{ jobs: JobContext[]; live: BusEvent[] }> {
  const runtime = new Runtime({ runId: 'run-p', record: { log: path }, heartbeatMs: 5 });
  const live: BusEvent[] = [];
  if (options.live === true) runtime.bus.subscribe('job.completed', (e) => void live.push(e), { maxQueue: 100_000 });
  await runtime.start();
  runtime.register(picky());
  const jobs: JobContext[] = [];
  for (let i = 1; i <= items; i++) {
    // postAsync waits for room in the slot.
    const [, job] = await runtime.postAsync(
      'picky',
      'check',
      'in',
      i,
      options.given === true && i % 10 === 0 ? { jobId: `given-${i}` } : {},
    );
    jobs.push(job);
  }
  expect(await runtime.waitUntilAllJobsFinished({ timeout: 20_000 })).toBe(true);
  expect(await runtime.close()).toMatchObject({ drained: true, flushed: true, notPersisted: 0 });
  return { jobs, live };
}

function packedRows(path: string): { packed: number; rows: number } {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT sum(packed) AS packed, count(*) AS rows FROM events').get() as { packed: number; rows: number };
  } finally {
    db.close();
  }
}

describe('completed jobs of a recording runtime', () => {
  it('are stored packed and read back as one job.completed event each, in seq order with the rest', async () => {
    const temp = createTempDir('sluice-packed-');
    temps.push(temp);
    const path = temp.file('runs.sqlite');
    const { jobs } = await recordRun(path, 3_000, { given: true });
    const completed = jobs.filter((j) => j.status === 'completed');
    const failed = jobs.filter((j) => j.status === 'failed');
    expect(failed).toHaveLength(Math.floor(3_000 / 7));

    const { packed, rows } = packedRows(path);
    expect(packed).toBeGreaterThan(0);
    // Each recorded event between completions (a failure, a heartbeat) ends a pack: still far fewer rows than jobs.
    expect(rows).toBeLessThan(jobs.length / 2);

    const log = await SqliteEventLog.open({ path });
    try {
      const events = await log.since('run-p', 0);
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      const byJob = new Map(events.filter((e) => e.topic === 'job.completed').map((e) => [(e.payload as { jobId: string }).jobId, e]));
      expect(byJob.size).toBe(completed.length);
      for (const job of completed) {
        const event = byJob.get(job.jobId) as BusEvent;
        expect(event.payload).toEqual({
          jobId: job.jobId,
          flowId: 'picky',
          workerId: job.workerId,
          status: 'completed',
          durationMs: (job.finishedAt as number) - job.createdAt,
        });
        expect(event.time).toBe(new Date(job.finishedAt as number).toISOString());
      }
      expect(events.filter((e) => e.topic === 'job.failed')).toHaveLength(failed.length);
      // A job that ended later has a later seq, whether it completed or failed.
      const ended = events
        .filter((e) => e.topic === 'job.completed' || e.topic === 'job.failed')
        .map((e) => (e.payload as { jobId: string }).jobId);
      const order = new Map(jobs.map((j, i) => [j.jobId, i]));
      expect(ended.map((id) => order.get(id))).toEqual(jobs.map((_, i) => i));
      expect(events.at(-1)?.topic).toBe('run.stopped');

      // Paging lands inside packs and still gives every event once, in order.
      const paged: number[] = [];
      for await (const e of log.replay('run-p', { pageSize: 7 })) paged.push(e.seq);
      expect(paged).toEqual(seqs);
      expect((await log.since('run-p', seqs[100] as number, { limit: 5 })).map((e) => e.seq)).toEqual(seqs.slice(101, 106));

      const [run] = await log.runs();
      expect(run).toMatchObject({
        runId: 'run-p',
        status: 'failed',
        count: events.length,
        firstSeq: seqs[0],
        lastSeq: seqs.at(-1),
        lost: 0,
        jobs: { completed: completed.length, failed: failed.length, cancelled: 0 },
      });
      expect(await log.lastSeq('run-p')).toBe(seqs.at(-1));
    } finally {
      await log.close();
    }
  });

  it('go on the bus one by one while someone listens live, and are recorded one by one then', async () => {
    const temp = createTempDir('sluice-packed-live-');
    temps.push(temp);
    const path = temp.file('runs.sqlite');
    const { jobs, live } = await recordRun(path, 700, { live: true });
    const completed = jobs.filter((j) => j.status === 'completed');
    expect(live.map((e) => (e.payload as { jobId: string }).jobId)).toEqual(completed.map((j) => j.jobId));
    expect(packedRows(path).packed).toBe(0);
    const log = await SqliteEventLog.open({ path });
    try {
      const recorded = (await log.since('run-p', 0)).filter((e) => e.topic === 'job.completed');
      expect(recorded).toEqual(live);
      expect((await log.runs())[0]).toMatchObject({ jobs: { completed: completed.length }, lost: 0 });
    } finally {
      await log.close();
    }
  });

  it("take their times from the bus's wall clock, as published events do", async () => {
    const temp = createTempDir('sluice-packed-clock-');
    temps.push(temp);
    const path = temp.file('runs.sqlite');
    const at = Date.parse('2030-01-01T00:00:00.000Z');
    const runtime = new Runtime({ runId: 'run-c', bus: new EventBus({ wallTime: () => at }), record: { log: path }, heartbeatMs: 0 });
    await runtime.start();
    runtime.register(picky());
    await runtime.postAll('picky', 'check', 'in', [1, 2, 3, 4, 5]);
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
    await runtime.close();
    expect(packedRows(path).packed).toBeGreaterThan(0);
    const log = await SqliteEventLog.open({ path });
    try {
      const events = await log.since('run-c', 0);
      expect(events.filter((e) => e.topic === 'job.completed')).toHaveLength(5);
      expect(new Set(events.map((e) => e.time))).toEqual(new Set(['2030-01-01T00:00:00.000Z']));
    } finally {
      await log.close();
    }
  });
});

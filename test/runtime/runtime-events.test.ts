import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventBus, BusEvent } from '../../src/bus/index.ts';
import { SqliteEventLog, MemoryEventLog } from '../../src/store/index.ts';
import { ErrorCode, Flow, Runtime } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { RuntimeTopic } from '../../src/runtime/runtime-events.ts';
import { expectCode, tick } from '../fixtures/helpers.ts';
import { Pass, makeRoutine } from '../fixtures/routines.ts';

function chain(id = 'chain'): Flow {
  const sink = makeRoutine({ logic: () => {} });
  return new Flow(id).addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b').addRoutine(sink, 'c').pipe('a', 'b', 'c');
}

function collect(bus: EventBus, pattern: string): BusEvent[] {
  const seen: BusEvent[] = [];
  bus.subscribe(pattern, (e) => void seen.push(e), { maxQueue: 100_000 });
  return seen;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('runtime events on the bus', () => {
  it('publishes the life of a job: started, each activation, completed, in one strictly increasing stream', async () => {
    const runtime = new Runtime({ runId: 'r1' });
    const seen = collect(runtime.bus, '**');
    runtime.register(chain());
    const [worker, job] = runtime.post('chain', 'a', 'in', 1);
    await job.done();
    await tick();
    const topics = seen.map((e) => (e.topic === 'runtime.state' ? `state:${(e.payload as { to: string }).to}` : e.topic));
    expect(topics).toEqual([
      'state:starting',
      'state:running',
      RuntimeTopic.RunStarted,
      RuntimeTopic.WorkerStarted,
      RuntimeTopic.JobStarted,
      ...Array(3).fill([RuntimeTopic.ActivationStarted, RuntimeTopic.ActivationFinished]).flat(),
      RuntimeTopic.JobCompleted,
    ]);
    expect(seen.every((e) => e.runId === 'r1')).toBe(true);
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    const finished = seen
      .filter((e) => e.topic === RuntimeTopic.ActivationFinished)
      .map((e) => e.payload as { routineId: string; status: string; jobIds: string[]; workerId: string });
    expect(finished.map((p) => p.routineId)).toEqual(['a', 'b', 'c']);
    expect(finished.every((p) => p.status === 'ok' && p.jobIds[0] === job.jobId && p.workerId === worker.workerId)).toBe(true);
    expect(seen.at(-1)?.payload).toMatchObject({ jobId: job.jobId, status: 'completed' });
    await runtime.close();
  });

  it('publishes nothing (no seq used) when nobody listens', async () => {
    const runtime = new Runtime();
    runtime.register(chain());
    const [, job] = runtime.post('chain', 'a', 'in', 1);
    await job.done();
    expect(runtime.bus.getStats().topics).toEqual({});
    expect(runtime.bus.lastSeq(runtime.runId)).toBe(0);
  });

  it('reports overflow: rejected posts, dropped items and blocked emits', async () => {
    const runtime = new Runtime();
    const seen = collect(runtime.bus, 'slot.overflow');
    const hold = makeRoutine({ slots: [['in', { maxQueueLength: 1 }]], logic: () => new Promise(() => {}) });
    runtime.register(new Flow('f').addRoutine(hold, 'hold'));
    runtime.post('f', 'hold', 'in', 1);
    await tick();
    runtime.post('f', 'hold', 'in', 2);
    expectCode(() => runtime.post('f', 'hold', 'in', 3), ErrorCode.QueueFull);
    const dropper = makeRoutine({ slots: [['in', { maxQueueLength: 1, overflow: 'dropOldest' }]], logic: () => new Promise(() => {}) });
    runtime.register(new Flow('d').addRoutine(dropper, 'drop'));
    runtime.post('d', 'drop', 'in', 1);
    await tick();
    runtime.post('d', 'drop', 'in', 2);
    runtime.post('d', 'drop', 'in', 3);
    const blockedTarget = makeRoutine({ slots: [['in', { maxQueueLength: 1, overflow: 'block' }]], logic: () => new Promise(() => {}) });
    const emitter = makeRoutine({
      events: ['out'],
      logic: (items) => {
        for (const x of items.in ?? []) emitter.emit('out', x);
      },
    });
    runtime.register(new Flow('b').addRoutine(emitter, 'emit').addRoutine(blockedTarget, 'slow').pipe('emit', 'slow'));
    for (const x of [1, 2, 3]) runtime.post('b', 'emit', 'in', x);
    await tick();
    await tick();
    const actions = seen.map(
      (e) => `${(e.payload as { routineId: string; action: string }).action}:${(e.payload as { routineId: string }).routineId}`,
    );
    expect(actions).toEqual(['rejected:hold', 'dropped:drop', 'blocked:slow']);
    runtime.destroy();
  });

  it('reports errors and retries with the strategy, attempt and delay', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock, random: () => 0.5 });
    const errors = collect(runtime.bus, 'activation.error');
    const retries = collect(runtime.bus, 'activation.retry');
    let calls = 0;
    const flaky = makeRoutine({
      logic: () => {
        if (++calls < 3) throw new Error(`boom ${calls}`);
      },
    });
    runtime.register(new Flow('f').addRoutine(flaky, 'flaky', { errorHandler: { strategy: 'retry', retryDelayMs: 100, backoff: 2 } }));
    const [, job] = runtime.post('f', 'flaky', 'in', 1);
    await tick();
    clock.advance(100);
    await tick();
    clock.advance(200);
    await job.done();
    await tick();
    expect(job.status).toBe('completed');
    expect(errors.map((e) => (e.payload as { strategy: string; message: string }).strategy)).toEqual(['retry', 'retry']);
    expect(retries.map((e) => e.payload)).toEqual([
      expect.objectContaining({ routineId: 'flaky', attempt: 2, delayMs: 100, jobIds: [job.jobId] }),
      expect.objectContaining({ routineId: 'flaky', attempt: 3, delayMs: 200, jobIds: [job.jobId] }),
    ]);
  });
});

describe('recording a run to the durable log', () => {
  it('refuses work before start() when it records', () => {
    const runtime = new Runtime({ record: { log: new MemoryEventLog() } });
    runtime.register(chain());
    expectCode(() => runtime.post('chain', 'a', 'in', 1), ErrorCode.RuntimeNotStarted);
  });

  it('records every job and the run life to SQLite, and a restarted run resumes its sequence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-record-'));
    dirs.push(dir);
    const path = join(dir, 'runs.sqlite');
    const runtime = new Runtime({ runId: 'recorded', record: { log: path } });
    await runtime.start();
    runtime.register(chain());
    await runtime.postAll(
      'chain',
      'a',
      'in',
      Array.from({ length: 500 }, (_, i) => i),
    );
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
    const report = await runtime.close();
    expect(report).toMatchObject({ drained: true, flushed: true });

    const log = await SqliteEventLog.open({ path });
    let lastSeq = 0;
    try {
      const events = await log.since('recorded', 0);
      const topics = events.map((e) => (e.topic === 'runtime.state' ? `state:${(e.payload as { to: string }).to}` : e.topic));
      expect(topics.slice(0, 3)).toEqual(['state:running', RuntimeTopic.RunStarted, RuntimeTopic.WorkerStarted]);
      expect(topics.slice(-2)).toEqual(['state:stopping', RuntimeTopic.RunStopped]);
      expect(topics.filter((t) => t === RuntimeTopic.JobCompleted)).toHaveLength(500);
      // The per-activation stream is not recorded by default.
      expect(topics).not.toContain(RuntimeTopic.ActivationFinished);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const replayed: number[] = [];
      for await (const e of log.replay('recorded')) replayed.push(e.seq);
      expect(replayed).toEqual(events.map((e) => e.seq));
      expect((await log.runs()).map((r) => r.runId)).toEqual(['recorded']);
      lastSeq = events.at(-1)?.seq ?? 0;
      expect(lastSeq).toBe(505); // state running, run.started, worker.started, 500 jobs, state stopping, run.stopped
    } finally {
      await log.close();
    }

    const again = new Runtime({ runId: 'recorded', record: { log: path } });
    await again.start();
    await again.close();
    const reopened = await SqliteEventLog.open({ path });
    try {
      const tail = await reopened.since('recorded', lastSeq);
      expect(tail.map((e) => [e.seq, e.topic])).toEqual([
        [lastSeq + 1, 'runtime.state'],
        [lastSeq + 2, RuntimeTopic.RunStarted],
        [lastSeq + 3, 'runtime.state'],
        [lastSeq + 4, RuntimeTopic.RunStopped],
      ]);
    } finally {
      await reopened.close();
    }
  });
});

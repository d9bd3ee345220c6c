/**
 * The dual-path bus seed: a live subscriber sees RUN_COMPLETED (`run.stopped`) and replays the
 * run from the durable log — without sleeping — and a watcher reads a finished run as stopped,
 * never as stalled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Flow, Runtime } from '../../src/index.ts';
import { EventBus, LivenessMonitor, createHeartbeat, type BusEvent } from '../../src/entry/bus.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { MemoryEventLog } from '../../src/entry/store.ts';
import { SqliteEventLog } from '../../src/store/index.ts';
import { tick } from '../fixtures/helpers.ts';
import { Collect, Pass } from '../fixtures/routines.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-dual-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replay after RUN_COMPLETED', () => {
  it('a live subscriber that sees run.stopped waits for its rows with log.waitFor(seq), then replays the whole run', async () => {
    const db = join(dir, 'replay.sqlite');
    const runtime = new Runtime({ record: { log: db }, heartbeatMs: 0 });
    const seen: Array<{ data: unknown; jobId: string }> = [];
    runtime.register(new Flow('p').addRoutine(new Pass(), 'a').addRoutine(new Collect(seen), 'b').pipe('a', 'b'));
    await runtime.start();
    // Another connection, as a separate reader (a dashboard, another process) would have.
    const reader = await SqliteEventLog.open({ path: db, readonly: true });
    const replayed = new Promise<{ stopped: BusEvent; committedAtOnce: number; waited: boolean; events: BusEvent[] }>((resolve) => {
      runtime.bus.subscribe('run.stopped', async (stopped) => {
        const committedAtOnce = (await reader.since(stopped.runId, 0)).length;
        const waited = await reader.waitFor(stopped.runId, stopped.seq, { timeout: 10_000 });
        const events: BusEvent[] = [];
        for await (const event of reader.replay(stopped.runId)) events.push(event);
        resolve({ stopped, committedAtOnce, waited, events });
      });
    });
    for (let i = 0; i < 20; i++) runtime.post('p', 'a', 'in', i);
    await runtime.waitUntilAllJobsFinished();
    const closing = runtime.close();
    const { stopped, committedAtOnce, waited, events } = await replayed;
    await closing;
    await reader.close();
    console.log(`rows committed when run.stopped arrived live: ${committedAtOnce} of ${stopped.seq}; after waitFor: ${events.length}`);
    expect(waited).toBe(true);
    expect(events.at(-1)?.topic).toBe('run.stopped');
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: stopped.seq }, (_, i) => i + 1));
    expect(events.filter((e) => e.topic === 'job.completed')).toHaveLength(20);
  });

  it('close() resolves after the log committed everything; waitFor times out with false and wakes at once on its own appends', async () => {
    const db = join(dir, 'close.sqlite');
    const runtime = new Runtime({ record: { log: db }, heartbeatMs: 0 });
    runtime.register(new Flow('p').addRoutine(new Pass(), 'a'));
    await runtime.start();
    for (let i = 0; i < 10; i++) runtime.post('p', 'a', 'in', i);
    await runtime.waitUntilAllJobsFinished();
    const last = runtime.bus.lastSeq(runtime.runId);
    await runtime.close();
    const log = await SqliteEventLog.open({ path: db, readonly: true });
    expect((await log.since(runtime.runId, 0)).length).toBe(runtime.bus.lastSeq(runtime.runId));
    expect(runtime.bus.lastSeq(runtime.runId)).toBeGreaterThan(last);
    expect(await log.waitFor(runtime.runId, 1_000_000, { timeout: 30 })).toBe(false);
    await log.close();
    const memory = new MemoryEventLog();
    const waiting = memory.waitFor('r', 2);
    await memory.append([{ runId: 'r', seq: 1, time: '', topic: 't', payload: {} }]);
    await tick();
    let done = false;
    void waiting.then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    await memory.append([{ runId: 'r', seq: 2, time: '', topic: 't', payload: {} }]);
    expect(await waiting).toBe(true);
  });
});

describe('a finished run is not stalled', () => {
  it('after run.stopped the liveness monitor reads stopped, however long the silence', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    const monitor = new LivenessMonitor({ clock });
    bus.subscribe('**', (event) => monitor.observe(event));
    const beat = createHeartbeat(bus, { runId: 'run-1', intervalMs: 100, clock }).start();
    bus.publish('job.completed', {}, { runId: 'run-1' });
    clock.advance(100);
    await tick();
    expect(monitor.status('run-1')).toBe('active');
    bus.publish('run.stopped', {}, { runId: 'run-1' });
    beat.stop();
    await tick();
    clock.advance(10_000);
    expect(monitor.status('run-1')).toBe('stopped');
    // Without run.stopped the same silence is a stall.
    const other = createHeartbeat(bus, { runId: 'run-2', intervalMs: 100, clock }).start();
    clock.advance(100);
    await tick();
    other.stop();
    clock.advance(1_000);
    expect(monitor.status('run-2')).toBe('stalled');
  });
});

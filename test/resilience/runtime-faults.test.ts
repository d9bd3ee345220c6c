/**
 * Fault injection through a whole Runtime: every test counts items in and out (nothing lost,
 * nothing duplicated beyond what RETRY documents).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Routine, Runtime, defineFlow, type SlotItems } from '../../src/index.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { SqliteEventLog } from '../../src/store/index.ts';
import { deferred, tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-faults-'));
  dirs.push(dir);
  return join(dir, name);
}

/** source → call (may fail, has a breaker) → sink; fallback routine `cache`. */
function breakerFlow(behaviour: { fail: boolean }, delivered: unknown[], fallback?: 'routine' | 'event') {
  const call = makeRoutine({
    events: ['out', 'degraded'],
    logic: (items) => {
      if (behaviour.fail) throw new Error('upstream down');
      for (const x of items.in ?? []) call.emit('out', x);
    },
  });
  const sink = makeRoutine({ logic: (items) => void delivered.push(...(items.in ?? []).map((x) => `ok:${String(x)}`)) });
  const cache = makeRoutine({ logic: (items) => void delivered.push(...(items.in ?? []).map((x) => `cached:${String(x)}`)) });
  return new Flow('guarded')
    .addRoutine(call, 'call', {
      breaker: { threshold: 3, halfOpenAfterMs: 1_000 },
      ...(fallback === 'routine'
        ? { fallback: { routine: 'cache', slot: 'in' } }
        : fallback === 'event'
          ? { fallback: { event: 'degraded' } }
          : {}),
    })
    .addRoutine(sink, 'sink')
    .addRoutine(cache, 'cache')
    .connect('call', 'out', 'sink', 'in')
    .connect('call', 'degraded', 'cache', 'in');
}

describe('circuit breakers through the runtime', () => {
  it(
    'opens after consecutive failures, fails fast with SLUICE_ERR_CIRCUIT_OPEN, half-opens after the delay and closes on a good ' + 'probe',
    async () => {
      const clock = new ManualClock();
      const runtime = new Runtime({ clock });
      const states: string[] = [];
      runtime.bus.subscribe('breaker.state', (e) => void states.push((e.payload as { to: string }).to));
      const behaviour = { fail: true };
      const delivered: unknown[] = [];
      let _calls = 0;
      runtime.register(breakerFlow(behaviour, delivered));
      runtime.bus.subscribe('activation.finished', (e) => {
        if ((e.payload as { routineId: string }).routineId === 'call') _calls++;
      });
      const post = (x: number) => runtime.post('guarded', 'call', 'in', x)[1];
      const failing = [1, 2, 3].map(post);
      await tick();
      expect(failing.map((j) => j.error?.code)).toEqual(Array(3).fill(ErrorCode.RoutineFailed));
      expect(runtime.breakers.get('routine:guarded/call')?.state).toBe('open');
      // Open: fails fast, the logic is not called.
      const fast = [4, 5].map(post);
      await tick();
      expect(fast.map((j) => j.error?.code)).toEqual([ErrorCode.CircuitOpen, ErrorCode.CircuitOpen]);
      expect(runtime.health().subsystems['breaker:routine:guarded/call']?.status).not.toBe('healthy');
      expect(runtime.status).toBe('degraded');
      // After the delay one probe goes through; it succeeds and closes the breaker.
      behaviour.fail = false;
      clock.advance(1_000);
      const probe = post(6);
      await tick();
      expect(probe.status).toBe('completed');
      expect(runtime.breakers.get('routine:guarded/call')?.state).toBe('closed');
      const after = post(7);
      await tick();
      expect(after.status).toBe('completed');
      expect(delivered).toEqual(['ok:6', 'ok:7']);
      await tick();
      expect(states).toEqual(['open', 'half-open', 'closed']);
      expect(runtime.status).toBe('running');
      await runtime.close();
    },
  );

  it('routes items to a fallback routine while open, and to a fallback event', async () => {
    for (const kind of ['routine', 'event'] as const) {
      const clock = new ManualClock();
      const runtime = new Runtime({ clock });
      const delivered: unknown[] = [];
      runtime.register(breakerFlow({ fail: true }, delivered, kind));
      const jobs = [1, 2, 3, 4, 5, 6].map((x) => runtime.post('guarded', 'call', 'in', x)[1]);
      await tick();
      // Three failures open the breaker; the next three go to the fallback and complete.
      expect(jobs.map((j) => j.status)).toEqual(['failed', 'failed', 'failed', 'completed', 'completed', 'completed']);
      expect(delivered).toEqual(['cached:4', 'cached:5', 'cached:6']);
      expect(jobs[3]?.traceLog.map((t) => `${t.routineId}:${t.status}`)).toEqual(['call:fallback', 'cache:ok']);
      await runtime.close();
    }
  });

  it('a fallback naming a missing routine or an undeclared event is refused at register', () => {
    const runtime = new Runtime();
    const r = () => makeRoutine({ events: ['out'], logic: () => {} });
    expect(() =>
      runtime.register(new Flow('a').addRoutine(r(), 'x', { breaker: true, fallback: { routine: 'ghost', slot: 'in' } })),
    ).toThrow(expect.objectContaining({ code: ErrorCode.RoutineNotFound }));
    expect(() => runtime.register(new Flow('b').addRoutine(r(), 'x', { breaker: true, fallback: { event: 'nope' } }))).toThrow(
      expect.objectContaining({ code: ErrorCode.UnknownEvent }),
    );
  });

  it('a dependency breaker is shared by every routine that declares the dependency', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock, breakers: { dependencies: { geo: { threshold: 2, halfOpenAfterMs: 500 } } } });
    const a = makeRoutine({
      logic: () => {
        throw new Error('geo down');
      },
    });
    const b = makeRoutine({ logic: () => {} });
    runtime.register(new Flow('deps').addRoutine(a, 'a', { dependencies: ['geo'] }).addRoutine(b, 'b', { dependencies: ['geo'] }));
    runtime.post('deps', 'a', 'in', 1);
    runtime.post('deps', 'a', 'in', 2);
    await tick();
    const [, job] = runtime.post('deps', 'b', 'in', 3);
    await tick();
    expect(job.error?.code).toBe(ErrorCode.CircuitOpen);
    expect(job.error?.message).toContain('geo');
    await runtime.close();
  });
});

describe('timeouts of inline activations', () => {
  it('hanging async logic fails with SLUICE_ERR_ACTIVATION_TIMEOUT, its signal aborts, and RETRY runs it again', async () => {
    const clock = new ManualClock();
    const runtime = new Runtime({ clock, random: () => 0.5 });
    const aborted: unknown[] = [];
    let calls = 0;
    const hang = makeRoutine({
      logic: (_items, ctx) => {
        calls++;
        if (calls === 1) {
          ctx.signal.addEventListener('abort', () => aborted.push(ctx.signal.reason));
          return new Promise(() => {});
        }
        return undefined;
      },
    });
    runtime.register(new Flow('t').addRoutine(hang, 'hang', { timeoutMs: 200, errorHandler: { strategy: 'retry', retryDelayMs: 10 } }));
    const [, job] = runtime.post('t', 'hang', 'in', 1);
    await tick();
    clock.advance(200);
    await tick();
    expect((aborted[0] as { code?: string }).code).toBe(ErrorCode.ActivationTimeout);
    clock.advance(10);
    await job.done();
    expect(job.status).toBe('completed');
    expect(job.traceLog.map((t) => t.status)).toEqual(['retrying', 'ok']);
    expect(job.traceLog[0]?.error?.code).toBe(ErrorCode.ActivationTimeout);
    expect(calls).toBe(2);
    await runtime.close();
  });
});

describe('a failing durable log', () => {
  it('makes the runtime degraded while the live path keeps delivering, and recovers without losing an event', async () => {
    const path = tempFile('runs.sqlite');
    const runtime = new Runtime({
      runId: 'r',
      healthIntervalMs: 20,
      record: { log: path, sink: { retryInitialMs: 5, retryMaxMs: 20, unhealthyAfterFailures: 2 } },
    });
    await runtime.start();
    runtime.register(new Flow('f').addRoutine(makeRoutine({ logic: () => {} }), 'r'));
    const live: number[] = [];
    runtime.bus.subscribe('job.completed', (e) => void live.push(e.seq));
    const admin = new Database(path);
    admin.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database (injected)'); END;",
    );
    for (let i = 0; i < 50; i++) runtime.post('f', 'r', 'in', i);
    await runtime.waitUntilAllJobsFinished({ timeout: 5_000 });
    await tick();
    // The live path is not held up by the database: every job's event was delivered.
    expect(live).toHaveLength(50);
    await expect.poll(() => runtime.status, { timeout: 5_000 }).toBe('degraded');
    expect(runtime.health().subsystems.store?.status).not.toBe('healthy');
    admin.exec('DROP TRIGGER refuse');
    admin.close();
    await expect.poll(() => runtime.status, { timeout: 5_000 }).toBe('running');
    const report = await runtime.close();
    expect(report.flushed).toBe(true);
    const log = await SqliteEventLog.open({ path });
    const stored = (await log.since('r', 0)).filter((e) => e.topic === 'job.completed');
    await log.close();
    expect(stored).toHaveLength(50);
  });
});

describe('shutdown under load', () => {
  it('close() stops admission, lets what can finish finish, cancels the rest and records them as cancelled', async () => {
    const path = tempFile('runs.sqlite');
    const runtime = new Runtime({ runId: 'load', record: { log: path } });
    await runtime.start();
    const gate = deferred();
    const slow = makeRoutine({
      logic: async (items) => {
        if ((items.in?.[0] as number) >= 5) await gate.promise;
      },
    });
    runtime.register(new Flow('f').addRoutine(slow, 'slow', { concurrency: 4 }));
    const jobs = Array.from({ length: 20 }, (_, i) => runtime.post('f', 'slow', 'in', i)[1]);
    await tick();
    const report = await runtime.close({ timeout: 50 });
    gate.resolve();
    const completed = jobs.filter((j) => j.status === 'completed').length;
    const cancelled = jobs.filter((j) => j.status === 'cancelled').length;
    expect(completed).toBe(5);
    expect(completed + cancelled).toBe(20);
    expect(report.drained).toBe(false);
    expect(report.cancelled).toHaveLength(cancelled);
    expect(report.flushed).toBe(true);
    const log = await SqliteEventLog.open({ path });
    const events = await log.since('load', 0);
    await log.close();
    expect(events.filter((e) => e.topic === 'job.cancelled')).toHaveLength(cancelled);
    expect(events.filter((e) => e.topic === 'job.completed')).toHaveLength(completed);
  });
});

class Stage extends Routine {
  constructor(last = false) {
    super();
    this.addSlot('in');
    if (!last) this.addEvent('out');
    this.setConfig({ last });
  }

  logic(
    { in: items }: SlotItems,
    ctx: {
      config: Readonly<Record<string, unknown>>;
      setState(p: Record<string, unknown>): void;
      state: Readonly<Record<string, unknown>>;
    },
  ): void {
    if (ctx.config.last === true) ctx.setState({ n: ((ctx.state.n as number) ?? 0) + (items?.length ?? 0) });
    else for (const x of items as number[]) this.emit('out', x + 1);
  }
}

const million = defineFlow(import.meta.url, () =>
  new Flow('million').addRoutine(new Stage(), 'a').addRoutine(new Stage(), 'b').addRoutine(new Stage(true), 'c').pipe('a', 'b', 'c'),
);

describe('volume', () => {
  it('1M items through a 3-stage flow: every job completes and memory stays bounded', async () => {
    const runtime = new Runtime();
    runtime.register(million);
    const worker = runtime.exec('million');
    const n = 1_000_000;
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    function* items(): Iterable<number> {
      for (let i = 0; i < n; i++) yield i;
    }
    await runtime.postAll('million', 'a', 'in', items(), { workerId: worker.workerId });
    expect(await runtime.waitUntilAllJobsFinished({ timeout: 120_000 })).toBe(true);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    expect(worker.counters.jobsProcessed).toBe(n);
    expect(worker.getRoutineState('c').n).toBe(n);
    const growthMb = (peak - before) / 2 ** 20;
    console.log(`1M items: peak RSS ${(peak / 2 ** 20).toFixed(0)} MB (+${growthMb.toFixed(0)} MB over the start)`);
    // Bounded: the entry slot holds at most 1000 items and finished jobs are capped; growth is a
    // fixed working set, not proportional to the million items (which would be hundreds of MB).
    expect(growthMb).toBeLessThan(200);
    await runtime.close();
  }, 120_000);
});

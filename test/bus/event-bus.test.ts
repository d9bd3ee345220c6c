import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode, type SluiceError } from '../../src/core/errors.ts';
import { type BusEvent, BusOverflowTopic, EventBus, getBus, kOverflowReportMs, resetBus } from '../../src/bus/index.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('EventBus', () => {
  afterEach(() => resetBus());

  it('delivers to matching subscribers only, with seq, time, runId, topic and payload', async () => {
    const bus = new EventBus({ wallTime: () => Date.UTC(2025, 0, 1) });
    const got: BusEvent[] = [];
    bus.subscribe('job.*', (e) => void got.push(e));
    bus.subscribe('other', () => expect.unreachable());
    const event = bus.publish('job.done', { id: 1 }, { runId: 'r1' });
    expect(event).toEqual({ seq: 1, time: '2025-01-01T00:00:00.000Z', runId: 'r1', topic: 'job.done', payload: { id: 1 } });
    expect(got).toEqual([]); // delivery is scheduled, never inline in publish()
    await tick();
    expect(got).toEqual([event]);
  });

  it('returns undefined and consumes no seq when nobody listens', () => {
    const bus = new EventBus();
    expect(bus.hasSubscribers('a.b')).toBe(false);
    expect(bus.publish('a.b', 1, { runId: 'r' })).toBeUndefined();
    expect(bus.lastSeq('r')).toBe(0);
    bus.subscribe('a.*', () => {});
    expect(bus.hasSubscribers('a.b')).toBe(true);
    expect(bus.publish('a.b', 1, { runId: 'r' })?.seq).toBe(1);
  });

  it('isolates a throwing or rejecting handler: counted, reported, others still run', async () => {
    const bus = new EventBus();
    const errors: SluiceError[] = [];
    bus.onError((e) => void errors.push(e));
    const ok: number[] = [];
    bus.subscribe(
      't',
      () => {
        throw new Error('sync boom');
      },
      { name: 'thrower' },
    );
    bus.subscribe(
      't',
      async () => {
        throw new Error('async boom');
      },
      { name: 'rejecter' },
    );
    bus.subscribe('t', (e) => void ok.push(e.seq), { name: 'fine' });
    bus.publish('t', 1);
    bus.publish('t', 2);
    await bus.shutdown({ timeout: 1000 });
    expect(ok).toEqual([1, 2]);
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e.code === ErrorCode.BusHandlerFailed)).toBe(true);
    expect(errors.map((e) => e.details.subscriber).sort()).toEqual(['rejecter', 'rejecter', 'thrower', 'thrower']);
    expect((errors[0]!.cause as Error).message).toMatch(/boom/);
  });

  it('counts published / delivered / failed per topic', async () => {
    const bus = new EventBus();
    bus.onError(() => {});
    bus.subscribe('a', () => {});
    bus.subscribe('a', () => {
      throw new Error('x');
    });
    bus.subscribe('b', () => {});
    bus.publish('a', 1);
    bus.publish('a', 2);
    bus.publish('b', 3);
    await bus.shutdown();
    expect(bus.getStats().topics).toEqual({
      a: { published: 2, delivered: 2, failed: 2, dropped: 0 },
      b: { published: 1, delivered: 1, failed: 0, dropped: 0 },
    });
  });

  it('runs handlers of different subscribers concurrently, one subscriber in order', async () => {
    const bus = new EventBus();
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const order: number[] = [];
    for (let i = 0; i < 3; i++) {
      bus.subscribe('t', async (e) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await gate.promise;
        if (i === 0) order.push(e.payload as number);
        running--;
      });
    }
    for (let n = 0; n < 5; n++) bus.publish('t', n);
    await tick();
    expect(maxRunning).toBe(3); // all three subscribers are inside a handler at once
    gate.resolve();
    await bus.shutdown({ timeout: 1000 });
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('a slow subscriber loses its oldest events, counted per subscriber; the fast one loses none', async () => {
    const bus = new EventBus();
    const gate = deferred();
    const slowGot: number[] = [];
    const fastGot: number[] = [];
    bus.subscribe(
      't',
      async (e) => {
        await gate.promise;
        slowGot.push(e.payload as number);
      },
      { maxQueue: 4, name: 'slow' },
    );
    bus.subscribe('t', (e) => void fastGot.push(e.payload as number), { maxQueue: 100, name: 'fast' });
    bus.publish('t', 0);
    await tick(); // slow is now stuck inside event 0
    for (let n = 1; n <= 20; n++) bus.publish('t', n);
    expect(bus.queueSizes().find((q) => q.name === 'slow')).toMatchObject({ size: 4, capacity: 4 });
    gate.resolve();
    await bus.shutdown({ timeout: 1000 });
    expect(slowGot).toEqual([0, 17, 18, 19, 20]);
    expect(fastGot).toHaveLength(21);
    const overflow = Object.fromEntries(bus.overflowStats().map((o) => [o.name, o.dropped]));
    expect(overflow).toEqual({}); // subscriptions end at shutdown
    expect(bus.getStats().topics.t?.dropped).toBe(16);
  });

  it('drop-oldest accounting: delivered + dropped = published per subscriber (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 8 }),
        async (cap, bursts) => {
          const bus = new EventBus();
          const got: number[] = [];
          bus.subscribe('t', (e) => void got.push(e.seq), { maxQueue: cap });
          let total = 0;
          for (const burst of bursts) {
            for (let i = 0; i < burst; i++) bus.publish('t', null);
            total += burst;
            await tick();
          }
          const [snap] = bus.subscribers();
          expect(snap!.delivered + snap!.dropped).toBe(total);
          expect(got).toHaveLength(snap!.delivered);
          // What is delivered is strictly increasing and always the newest of each burst.
          for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
          if (total > 0 && got.length > 0) expect(got.at(-1)).toBe(bus.lastSeq('default'));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('seq is strictly increasing per run across topics, independent between runs (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('r1', 'r2', 'r3'), fc.constantFrom('a', 'b.c', 'd')), { maxLength: 200 }), (ops) => {
        const bus = new EventBus();
        bus.addSink({ onEvent: () => {} });
        const last = new Map<string, number>();
        for (const [runId, topic] of ops) {
          const e = bus.publish(topic, null, { runId })!;
          expect(e.seq).toBe((last.get(runId) ?? 0) + 1);
          last.set(runId, e.seq);
        }
      }),
    );
  });

  it('resumeSequence continues a stream and never moves it backwards', () => {
    const bus = new EventBus();
    bus.addSink({ onEvent: () => {} });
    expect(bus.resumeSequence('r', 41)).toBe(41);
    expect(bus.publish('t', 1, { runId: 'r' })?.seq).toBe(42);
    expect(bus.resumeSequence('r', 10)).toBe(42);
    expect(bus.publish('t', 1, { runId: 'r' })?.seq).toBe(43);
  });

  it('sinks see every event synchronously and are never subject to drop-oldest', () => {
    const bus = new EventBus();
    const seen: number[] = [];
    bus.subscribe('t', () => new Promise(() => {}), { maxQueue: 1 }); // stuck forever
    const tap = bus.addSink({ onEvent: (e) => void seen.push(e.seq) });
    for (let i = 0; i < 1000; i++) bus.publish('t', i);
    expect(seen).toHaveLength(1000);
    tap.dispose();
    bus.publish('t', 0);
    expect(seen).toHaveLength(1000);
  });

  it('a sink with topic patterns takes only matching events and leaves other topics unobserved', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const tap = bus.addSink({ onEvent: (e) => void seen.push(e.topic) }, { topics: ['job.*', 'run.started'] });
    expect(bus.hasSubscribers('job.completed')).toBe(true);
    expect(bus.hasSubscribers('activation.finished')).toBe(false);
    expect(bus.publish('activation.finished', 1)).toBeUndefined();
    bus.publish('job.completed', 1);
    bus.publish('run.started', 1);
    bus.publish('run.stopped', 1);
    expect(seen).toEqual(['job.completed', 'run.started']);
    tap.dispose();
    expect(bus.hasSubscribers('job.completed')).toBe(false);
  });

  it('a throwing sink is reported and does not stop the publish', async () => {
    const bus = new EventBus();
    const errors: string[] = [];
    bus.onError((e) => void errors.push(e.code));
    const got: number[] = [];
    bus.addSink({
      onEvent: () => {
        throw new Error('sink');
      },
    });
    bus.subscribe('t', (e) => void got.push(e.seq));
    expect(bus.publish('t', 1)?.seq).toBe(1);
    await tick();
    expect(got).toEqual([1]);
    expect(errors).toEqual([ErrorCode.BusSinkFailed]);
  });

  it('unsubscribe and dispose stop delivery; an abort signal does too', async () => {
    const bus = new EventBus();
    const got: string[] = [];
    const a = bus.subscribe('t', () => void got.push('a'));
    const controller = new AbortController();
    bus.subscribe('t', () => void got.push('b'), { signal: controller.signal });
    const c = bus.subscribe('t', () => void got.push('c'));
    expect(bus.unsubscribe(a)).toBe(true);
    expect(bus.unsubscribe(a)).toBe(false);
    controller.abort();
    c[Symbol.dispose]();
    bus.publish('t', 1);
    await tick();
    expect(got).toEqual([]);
    expect(bus.hasSubscribers('t')).toBe(false);
  });

  it('topics() lists published topics and subscribed patterns', () => {
    const bus = new EventBus();
    bus.subscribe('drg.signal.*', () => {});
    bus.publish('drg.signal.up', 1);
    bus.publish('nobody.listens', 1);
    expect(bus.topics()).toEqual(['drg.signal.*', 'drg.signal.up']);
  });

  it('shutdown waits for in-flight handlers, then rejects publishes with a coded error', async () => {
    const bus = new EventBus();
    const gate = deferred();
    let finished = false;
    bus.subscribe('t', async () => {
      await gate.promise;
      finished = true;
    });
    bus.publish('t', 1);
    const done = bus.shutdown({ timeout: 5000 });
    expect(() => bus.publish('t', 2)).toThrow(expect.objectContaining({ code: ErrorCode.BusClosed }));
    setTimeout(() => gate.resolve(), 5);
    expect(await done).toEqual({ drained: true, pending: 0 });
    expect(finished).toBe(true);
    expect(bus.shutdown()).toBe(done); // idempotent
  });

  it('shutdown gives up after its timeout and reports what is pending', async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    bus.subscribe('t', () => new Promise(() => {}));
    bus.publish('t', 1);
    bus.publish('t', 2);
    await tick();
    const done = bus.shutdown({ timeout: 100 });
    clock.advance(100);
    expect(await done).toEqual({ drained: false, pending: 2 });
  });

  it('a handler may return anything: only a thenable is awaited (null, 0, a string count as delivered)', async () => {
    const bus = new EventBus();
    const errors: unknown[] = [];
    bus.onError((e) => void errors.push(e));
    // biome-ignore lint/suspicious/noThenProperty: a handler's return value that merely has a `then` key
    const returns: unknown[] = [null, 0, 'done', { then: undefined }];
    let i = 0;
    // A JavaScript handler may return anything (an arrow's last expression, say).
    bus.subscribe('t', () => returns[i++] as void);
    for (let n = 0; n < returns.length; n++) bus.publish('t', n);
    await bus.shutdown({ timeout: 1_000 });
    expect(errors).toEqual([]);
    expect(bus.getStats().topics.t).toMatchObject({ delivered: 4, failed: 0 });
  });

  it("a slow subscriber's drops are said on bus.overflow, once a second with the count since the last report", async () => {
    const clock = new ManualClock();
    const bus = new EventBus({ clock });
    const reports: unknown[] = [];
    bus.subscribe(BusOverflowTopic, (event) => void reports.push(event.payload), { name: 'overflow-watch' });
    const gate = deferred();
    bus.subscribe('data.*', () => gate.promise, { maxQueue: 2, name: 'slow-ui' });
    for (let i = 0; i < 50; i++) bus.publish('data.x', i, { runId: 'r1' });
    await tick();
    expect(reports).toEqual([]);
    clock.advance(kOverflowReportMs);
    await tick();
    // 50 published before the first delivery: 2 queued, 48 dropped.
    expect(reports).toEqual([{ subscriber: 'slow-ui', pattern: 'data.*', dropped: 48, totalDropped: 48, capacity: 2 }]);
    for (let i = 0; i < 5; i++) bus.publish('data.x', i, { runId: 'r1' });
    clock.advance(kOverflowReportMs);
    await tick();
    // One in the handler, one queued: of 5 more, 1 fits and 4 push older ones out.
    expect(reports.at(-1)).toEqual({ subscriber: 'slow-ui', pattern: 'data.*', dropped: 4, totalDropped: 52, capacity: 2 });
    expect(bus.overflowStats().find((s) => s.name === 'slow-ui')?.dropped).toBe(52);
    gate.resolve();
    await bus.shutdown({ timeout: 1_000 });
  });

  it('validates at the edge with coded messages naming the value', () => {
    const bus = new EventBus();
    expect(() => bus.subscribe('a', () => {}, { maxQueue: 0 })).toThrow('Expected `maxQueue` to be an integer >= 1, got `0` (number)');
    expect(() => bus.subscribe('a.**.b', () => {})).toThrow(/`\*\*` only as its last segment/);
    expect(() => bus.publish('a.*', 1)).toThrow(/without wildcards/);
    expect(() => bus.publish('a', 1, { runId: ' ' })).toThrow(/`runId`/);
    expect(() => new EventBus({ maxQueue: 1.5 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(() => bus.addSink({} as never)).toThrow(/onEvent/);
  });

  it('getBus() returns one default bus until resetBus()', () => {
    const a = getBus();
    expect(getBus()).toBe(a);
    resetBus();
    const b = getBus();
    expect(b).not.toBe(a);
    expect(a.isClosed).toBe(true);
  });
});

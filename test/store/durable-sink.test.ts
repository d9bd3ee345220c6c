import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/bus/index.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode, SluiceError } from '../../src/core/errors.ts';
import { type AppendResult, DurableSink, type EventLog, MemoryEventLog } from '../../src/store/index.ts';

function ev(seq: number, runId = 'r'): BusEvent {
  return { seq, time: new Date(0).toISOString(), runId, topic: 't', payload: { seq } };
}

/** A memory log whose appends can be held, failed or counted. */
class ControlledLog extends MemoryEventLog {
  appends: number[] = [];
  failNext = 0;
  /** The SQLite code the injected failure carries (`SQLITE_FULL`: one no retry cures). */
  failCode: string | undefined;
  gate: Promise<void> | undefined;

  override async append(events: readonly BusEvent[]): Promise<AppendResult> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new SluiceError(ErrorCode.StoreFailed, 'disk I/O error (injected)', { details: { sqliteCode: this.failCode } });
    }
    this.appends.push(events.length);
    return super.append(events);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('DurableSink', () => {
  it(
    'gives up loudly after giveUpAfterFailures commits fail with a permanent SQLite code: counts what it held and later events as ' +
      'lost, releases waiters, holds nothing',
    async () => {
      const clock = new ManualClock();
      const log = new ControlledLog();
      log.failNext = 1_000;
      log.failCode = 'SQLITE_FULL';
      const sink = new DurableSink({
        log,
        batchSize: 2,
        maxBatchSize: 2,
        maxInFlight: 1,
        highWaterMark: 4,
        retryInitialMs: 10,
        giveUpAfterFailures: 3,
        clock,
      });
      const errors: SluiceError[] = [];
      sink.onError((e) => void errors.push(e));
      for (let i = 1; i <= 6; i++) sink.onEvent(ev(i));
      expect(sink.isPressured).toBe(true);
      let ready = false;
      void sink.ready().then(() => (ready = true));
      for (let round = 0; round < 4; round++) {
        await tick();
        clock.advance(1_000);
      }
      await tick();
      expect(ready).toBe(true);
      expect(sink.stats()).toMatchObject({ failed: true, lost: 6, pending: 0, failures: 3 });
      expect(sink.health().status).toBe('unhealthy');
      expect(errors.at(-1)?.message).toMatch(/Recording stopped: .*\(SQLITE_FULL\).*6 events not persisted/);
      sink.onEvent(ev(7));
      expect(sink.stats()).toMatchObject({ lost: 7, pending: 0 });
      expect(await sink.close()).toEqual({ flushed: false, pending: 0, lost: 7 });
    },
  );

  it('never gives up on an error retrying can cure (a busy database): it retries and loses nothing', async () => {
    const clock = new ManualClock();
    const log = new ControlledLog();
    log.failNext = 6;
    log.failCode = 'SQLITE_BUSY';
    const sink = new DurableSink({ log, batchSize: 2, retryInitialMs: 10, retryMaxMs: 10, giveUpAfterFailures: 3, clock });
    sink.onError(() => {});
    for (let i = 1; i <= 4; i++) sink.onEvent(ev(i));
    for (let round = 0; round < 10; round++) {
      await tick();
      clock.advance(10);
    }
    await tick();
    expect(sink.stats()).toMatchObject({ failed: false, lost: 0, committed: 4, pending: 0 });
  });

  it('commits a full batch at batchSize without waiting for the interval', async () => {
    const clock = new ManualClock();
    const log = new ControlledLog();
    const sink = new DurableSink({ log, batchSize: 4, clock });
    for (let i = 1; i <= 4; i++) sink.onEvent(ev(i));
    await tick();
    await tick();
    expect(log.appends).toEqual([4]);
    expect(sink.stats()).toMatchObject({ accepted: 4, committed: 4, pending: 0, batches: 1 });
  });

  it('commits a partial batch after flushIntervalMs', async () => {
    const clock = new ManualClock();
    const log = new ControlledLog();
    const sink = new DurableSink({ log, batchSize: 100, flushIntervalMs: 5, clock });
    sink.onEvent(ev(1));
    sink.onEvent(ev(2));
    await tick();
    expect(log.appends).toEqual([]);
    clock.advance(5);
    await tick();
    expect(log.appends).toEqual([2]);
    expect(await log.lastSeq('r')).toBe(2);
  });

  it('coalesces a backlog into batches of up to maxBatchSize while a commit is in flight', async () => {
    const log = new ControlledLog();
    const gate = deferred();
    log.gate = gate.promise;
    const sink = new DurableSink({ log, batchSize: 10, maxBatchSize: 50, maxInFlight: 1 });
    for (let i = 1; i <= 10; i++) sink.onEvent(ev(i));
    await tick();
    for (let i = 11; i <= 130; i++) sink.onEvent(ev(i));
    log.gate = undefined;
    gate.resolve();
    expect(await sink.flush({ timeout: 5000 })).toBe(true);
    expect(log.appends).toEqual([10, 50, 50, 20]);
    expect((await log.since('r', 0)).map((e) => e.seq)).toEqual(Array.from({ length: 130 }, (_, i) => i + 1));
  });

  it('keeps two commits in flight when full batches wait, never more', async () => {
    const log = new ControlledLog();
    const gate = deferred();
    log.gate = gate.promise;
    let concurrent = 0;
    let maxConcurrent = 0;
    const append = log.append.bind(log);
    log.append = async (events) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        return await append(events);
      } finally {
        concurrent--;
      }
    };
    const sink = new DurableSink({ log, batchSize: 10, maxBatchSize: 10 });
    for (let i = 1; i <= 100; i++) sink.onEvent(ev(i));
    await tick();
    expect(sink.stats().inFlight).toBe(20);
    log.gate = undefined;
    gate.resolve();
    await sink.flush();
    expect(maxConcurrent).toBe(2);
    expect((await log.since('r', 0)).map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('when one of two concurrent commits fails, flush() waits for its retry, and nothing is lost', async () => {
    const clock = new ManualClock();
    const log = new ControlledLog();
    const gate = deferred();
    log.gate = gate.promise;
    const sink = new DurableSink({ log, batchSize: 2, maxBatchSize: 2, retryInitialMs: 10, clock });
    sink.onError(() => {});
    for (let i = 1; i <= 4; i++) sink.onEvent(ev(i));
    await tick(); // batches [1,2] and [3,4] in flight
    log.failNext = 1; // the first to reach the log fails
    let flushed = false;
    void sink.flush().then(() => (flushed = true));
    log.gate = undefined;
    gate.resolve();
    await tick();
    await tick();
    expect(sink.stats()).toMatchObject({ committed: 2, pending: 2, failures: 1 });
    expect(sink.uncommitted().map((e) => e.seq)).toEqual([1, 2]);
    expect(flushed).toBe(false); // 3 and 4 committed, but 1 and 2 have not
    clock.advance(10);
    await tick();
    await tick();
    expect(flushed).toBe(true);
    expect((await log.since('r', 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('retries a failed commit in order, reports it, degrades then turns unhealthy, and recovers without loss', async () => {
    const clock = new ManualClock();
    const log = new ControlledLog();
    const sink = new DurableSink({ log, batchSize: 2, retryInitialMs: 10, retryMaxMs: 40, unhealthyAfterFailures: 3, clock });
    const errors: string[] = [];
    sink.onError((e) => void errors.push(e.code));
    log.failNext = 3;
    sink.onEvent(ev(1));
    sink.onEvent(ev(2));
    await tick();
    await tick();
    expect(sink.health()).toMatchObject({ status: 'degraded', consecutiveFailures: 1 });
    sink.onEvent(ev(3));
    clock.advance(10); // retry 1 fails
    await tick();
    clock.advance(20); // retry 2 fails
    await tick();
    expect(sink.health().status).toBe('unhealthy');
    expect(sink.health().lastError?.code).toBe(ErrorCode.StoreFailed);
    clock.advance(40); // retry 3 succeeds
    await tick();
    await tick();
    expect(sink.health()).toMatchObject({ status: 'healthy', consecutiveFailures: 0 });
    expect(errors).toEqual([ErrorCode.StoreFailed, ErrorCode.StoreFailed, ErrorCode.StoreFailed]);
    clock.advance(5);
    await sink.flush();
    expect((await log.since('r', 0)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(sink.stats()).toMatchObject({ failures: 3, committed: 3, pending: 0 });
  });

  it('applies backpressure on its own intake: write() returns false at the high-water mark, ready() waits', async () => {
    const log = new ControlledLog();
    const gate = deferred();
    log.gate = gate.promise;
    const sink = new DurableSink({ log, batchSize: 2, highWaterMark: 8 });
    const results: boolean[] = [];
    for (let i = 1; i <= 8; i++) results.push(sink.write(ev(i)));
    expect(results).toEqual([true, true, true, true, true, true, true, false]);
    expect(sink.isPressured).toBe(true);
    expect(sink.health().status).toBe('degraded');
    let ready = false;
    void sink.ready().then(() => (ready = true));
    await tick();
    expect(ready).toBe(false);
    log.gate = undefined;
    gate.resolve();
    await sink.flush();
    expect(ready).toBe(true);
    expect(sink.isPressured).toBe(false);
    expect(sink.stats().committed).toBe(8); // pressure never drops anything
  });

  it('ready() honours an abort signal', async () => {
    const log = new ControlledLog();
    log.gate = new Promise(() => {});
    const sink = new DurableSink({ log, highWaterMark: 2 });
    sink.write(ev(1));
    sink.write(ev(2));
    await expect(sink.ready({ signal: AbortSignal.timeout(10) })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('close() with a stuck log reports what it could not commit and hands it back', async () => {
    const clock = new ManualClock();
    const log = new ControlledLog();
    log.gate = new Promise(() => {});
    const sink = new DurableSink({ log, batchSize: 2, clock });
    for (let i = 1; i <= 5; i++) sink.onEvent(ev(i));
    await tick();
    const closing = sink.close({ timeout: 100 });
    expect(() => sink.onEvent(ev(6))).toThrow(expect.objectContaining({ code: ErrorCode.StoreClosed }));
    clock.advance(100);
    expect(await closing).toEqual({ flushed: false, pending: 5, lost: 0 });
    expect(sink.uncommitted().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(sink.close()).toBe(closing);
  });

  it('reports events the log already held as duplicates, without failing', async () => {
    const log = new MemoryEventLog();
    await log.append([ev(1)]);
    const sink = new DurableSink({ log });
    const errors: SluiceError[] = [];
    sink.onError((e) => void errors.push(e));
    sink.onEvent(ev(1));
    sink.onEvent(ev(2));
    await sink.flush();
    expect(sink.stats().duplicates).toBe(1);
    expect(errors[0]?.code).toBe(ErrorCode.StoreDuplicateEvent);
    expect(sink.health().status).toBe('healthy');
  });

  it('validates options, with RangeError for cross-option rules', () => {
    const log: EventLog = new MemoryEventLog();
    expect(() => new DurableSink({ log, batchSize: 0 })).toThrow('Expected `batchSize` to be an integer >= 1, got `0` (number)');
    expect(() => new DurableSink({ log, batchSize: 512, maxBatchSize: 256 })).toThrow(RangeError);
    expect(() => new DurableSink({ log, retryInitialMs: 100, retryMaxMs: 10 })).toThrow(RangeError);
    expect(() => new DurableSink({ log: {} as EventLog })).toThrow(/EventLog/);
  });
});

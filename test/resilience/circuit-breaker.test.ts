import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, ManualClock, SluiceError } from '../../src/core/index.ts';
import {
  BreakerOpenError,
  type BreakerLease,
  type BreakerPermit,
  type BreakerTransition,
  SluiceBreaker,
  isBreakerOpenError,
} from '../../src/resilience/index.ts';
import { thrown } from '../fixtures/helpers.ts';

function permit(lease: BreakerLease): BreakerPermit {
  if (!lease.allowed) throw new Error(`expected a permit, got ${lease.error.message}`);
  return lease;
}

function refusal(lease: BreakerLease): BreakerOpenError {
  if (lease.allowed) throw new Error('expected a refusal, got a permit');
  return lease.error;
}

function fail(breaker: SluiceBreaker, times = 1): void {
  for (let i = 0; i < times; i++) permit(breaker.tryAcquire()).release(false, new Error(`boom ${i}`));
}

function succeed(breaker: SluiceBreaker, times = 1): void {
  for (let i = 0; i < times; i++) permit(breaker.tryAcquire()).release(true);
}

function consecutive(clock: ManualClock, threshold = 3, halfOpenAfterMs = 1_000): SluiceBreaker {
  return new SluiceBreaker('routine:pipeline/fetch', { threshold, halfOpenAfterMs, clock });
}

describe('SluiceBreaker (consecutive)', () => {
  it('opens after `threshold` failures in a row, not before', () => {
    const breaker = consecutive(new ManualClock());
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
    expect(breaker.counters()).toMatchObject({ calls: 3, failures: 3, successes: 0, transitions: 1 });
  });

  it('counts only failures in a row: a success in between starts over', () => {
    const breaker = consecutive(new ManualClock());
    fail(breaker, 2);
    succeed(breaker);
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('fails fast while open with SLUICE_ERR_CIRCUIT_OPEN naming the breaker and when it half-opens', async () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 3);
    clock.advance(250);
    const error = refusal(breaker.tryAcquire());
    expect(error).toBeInstanceOf(BreakerOpenError);
    expect(error).toBeInstanceOf(SluiceError);
    expect(isBreakerOpenError(error)).toBe(true);
    expect(error.code).toBe(ErrorCode.CircuitOpen);
    expect(error.breaker).toBe('routine:pipeline/fetch');
    expect(error.retryAfterMs).toBe(750);
    expect(error.message).toContain('"routine:pipeline/fetch"');
    expect(error.message).toContain('3 consecutive failures');
    expect(error.message).toContain('in 750 ms');
    expect(error.message).toContain('boom 2');
    expect(error.details).toMatchObject({ breaker: 'routine:pipeline/fetch', state: 'open', retryAfterMs: 750, halfOpenAt: 1_000 });

    const fn = vi.fn(async () => 'ran');
    await expect(breaker.execute(fn)).rejects.toMatchObject({ code: ErrorCode.CircuitOpen });
    expect(fn).not.toHaveBeenCalled();
    expect(breaker.counters().rejections).toBe(2);
  });

  it('half-opens after the delay and lets exactly one probe through', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 3);
    clock.advance(999);
    expect(refusal(breaker.tryAcquire()).retryAfterMs).toBe(1);
    clock.advance(1);
    const probe = permit(breaker.tryAcquire());
    expect(probe.probe).toBe(true);
    expect(breaker.state).toBe('half-open');
    const second = refusal(breaker.tryAcquire());
    expect(second.code).toBe(ErrorCode.CircuitOpen);
    expect(second.details).toMatchObject({ state: 'half-open' });
    expect(second.message).toContain('probe');
    expect(refusal(breaker.tryAcquire()).code).toBe(ErrorCode.CircuitOpen);
  });

  it('closes when the probe succeeds, and then needs `threshold` fresh failures to open again', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 3);
    clock.advance(1_000);
    permit(breaker.tryAcquire()).release(true);
    expect(breaker.state).toBe('closed');
    expect(permit(breaker.tryAcquire()).probe).toBe(false);
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('re-opens for a full delay when the probe fails', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 3);
    clock.advance(1_500);
    permit(breaker.tryAcquire()).release(false, new Error('still down'));
    expect(breaker.state).toBe('open');
    const error = refusal(breaker.tryAcquire());
    expect(error.retryAfterMs).toBe(1_000);
    expect(error.message).toContain('still down');
    expect(breaker.snapshot()).toMatchObject({ state: 'open', opens: 2, openedAt: 1_500, halfOpenAt: 2_500 });
    clock.advance(1_000);
    expect(permit(breaker.tryAcquire()).probe).toBe(true);
  });

  it('frees the probe slot when the probe is cancelled before it ran', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 3);
    clock.advance(1_000);
    const probe = permit(breaker.tryAcquire());
    probe.cancel();
    probe.release(false);
    expect(breaker.state).toBe('half-open');
    expect(permit(breaker.tryAcquire()).probe).toBe(true);
  });

  it('counts a result that arrives after the breaker moved on, but lets it decide nothing', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock, 2);
    const a = permit(breaker.tryAcquire());
    const b = permit(breaker.tryAcquire());
    const c = permit(breaker.tryAcquire());
    a.release(false);
    b.release(false);
    expect(breaker.state).toBe('open');
    c.release(true);
    c.release(false);
    expect(breaker.state).toBe('open');
    expect(breaker.counters()).toMatchObject({ calls: 3, failures: 2, successes: 1, stale: 1, transitions: 1 });
  });

  it('isolate() holds it open until the last hold is released; reset() voids holds', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    const first = breaker.isolate();
    const second = breaker.isolate();
    const error = refusal(breaker.tryAcquire());
    expect(error.details).toMatchObject({ state: 'isolated' });
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.message).toContain('isolated');
    clock.advance(60_000);
    expect(breaker.tryAcquire().allowed).toBe(false);
    first.dispose();
    first.dispose();
    expect(breaker.state).toBe('isolated');
    second.dispose();
    expect(breaker.state).toBe('closed');

    const hold = breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('closed');
    fail(breaker, 2);
    hold.dispose();
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('reset() closes an open breaker with a fresh strategy', () => {
    const breaker = consecutive(new ManualClock());
    fail(breaker, 3);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('announces every transition with its reason; a disposed or throwing listener does not disturb it', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock, 1);
    const seen: BreakerTransition[] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    breaker.onStateChange(() => {
      throw new Error('listener bug');
    });
    const sub = breaker.onStateChange((t) => seen.push(t));
    fail(breaker);
    clock.advance(1_000);
    permit(breaker.tryAcquire()).release(false);
    clock.advance(1_000);
    permit(breaker.tryAcquire()).release(true);
    sub.dispose();
    fail(breaker);
    const warnings = warn.mock.calls.length;
    warn.mockRestore();
    expect(seen.map((t) => `${t.from}->${t.to}:${t.reason}@${t.at}`)).toEqual([
      'closed->open:failures@0',
      'open->half-open:half-open@1000',
      'half-open->open:probe-failed@1000',
      'open->half-open:half-open@2000',
      'half-open->closed:probe-succeeded@2000',
    ]);
    expect(seen[0]).toMatchObject({ name: 'routine:pipeline/fetch', retryAfterMs: 1_000, error: { message: 'boom 0' } });
    expect(breaker.state).toBe('open');
    expect(warnings).toBe(6); // the throwing listener saw all six, and was only reported
  });

  it('execute() records a rejection of fn as a failure and rethrows it', async () => {
    const breaker = consecutive(new ManualClock(), 1);
    await expect(breaker.execute(async () => 42)).resolves.toBe(42);
    await expect(breaker.execute(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect(breaker.state).toBe('open');
  });
});

describe('SluiceBreaker (sampling)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** cockatiel's SamplingBreaker keeps its buckets on Date.now(); the open delay is on the clock. */
  function sampling(clock: ManualClock): SluiceBreaker {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_000);
    return new SluiceBreaker('dependency:geo-api', {
      kind: 'sampling',
      threshold: 0.5,
      samplingDurationMs: 10_000,
      minimumRps: 1,
      halfOpenAfterMs: 2_000,
      clock,
    });
  }

  function tick(clock: ManualClock, ms: number): void {
    clock.advance(ms);
    vi.setSystemTime(Date.now() + ms);
  }

  it('opens when more than `threshold` of the calls in its window failed', () => {
    const breaker = sampling(new ManualClock());
    succeed(breaker, 6);
    fail(breaker, 6);
    expect(breaker.state).toBe('closed'); // 6 of 12: not more than half
    fail(breaker);
    expect(breaker.state).toBe('open'); // 7 of 13
    expect(refusal(breaker.tryAcquire()).message).toContain('more than 50% of calls failed over 10000 ms');
  });

  it('never opens below minimumRps, however many of the few calls fail', () => {
    const breaker = sampling(new ManualClock());
    fail(breaker, 9); // the window needs 10 calls (1 rps over 10 s)
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('judges only its window: old successes slide out', () => {
    const clock = new ManualClock();
    const frozen = sampling(clock);
    succeed(frozen, 10);
    fail(frozen, 8);
    expect(frozen.state).toBe('closed'); // 8 of 18 at one instant

    const sliding = new SluiceBreaker('dependency:slow', {
      kind: 'sampling',
      threshold: 0.5,
      samplingDurationMs: 10_000,
      minimumRps: 1,
      clock,
    });
    for (let i = 0; i < 10; i++) {
      succeed(sliding);
      tick(clock, 1_000);
    }
    let failures = 0;
    while (sliding.state === 'closed' && failures < 8) {
      fail(sliding);
      failures++;
      tick(clock, 1_000);
    }
    expect(sliding.state).toBe('open');
    expect(failures).toBeLessThan(8);
  });

  it('re-opens on a failed probe and closes on a successful one', () => {
    const clock = new ManualClock();
    const breaker = sampling(clock);
    fail(breaker, 10);
    expect(breaker.state).toBe('open');
    tick(clock, 2_000);
    permit(breaker.tryAcquire()).release(false);
    expect(breaker.state).toBe('open');
    tick(clock, 2_000);
    permit(breaker.tryAcquire()).release(true);
    expect(breaker.state).toBe('closed');
    fail(breaker, 5);
    expect(breaker.state).toBe('closed'); // the probe's success cleared the windows
  });
});

describe('SluiceBreaker JSON', () => {
  it('round-trips an open breaker: still open, for the rest of its delay, on the new clock', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 3);
    clock.advance(400);
    const saved: unknown = JSON.parse(JSON.stringify(breaker));
    expect(saved).toMatchObject({
      version: 1,
      name: 'routine:pipeline/fetch',
      state: 'open',
      halfOpenInMs: 600,
      opens: 1,
      breakerState: 3,
    });

    const later = new ManualClock(50_000);
    const restored = SluiceBreaker.fromJSON(saved, { clock: later });
    expect(restored.name).toBe('routine:pipeline/fetch');
    expect(restored.state).toBe('open');
    expect(restored.options).toEqual(breaker.options);
    expect(restored.counters()).toEqual(breaker.counters());
    expect(refusal(restored.tryAcquire()).retryAfterMs).toBe(600);
    later.advance(600);
    const probe = permit(restored.tryAcquire());
    expect(probe.probe).toBe(true);
    probe.release(true);
    expect(restored.state).toBe('closed');
  });

  it('keeps the strategy state of a closed breaker (its consecutive failures)', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 2);
    const restored = SluiceBreaker.fromJSON(JSON.parse(JSON.stringify(breaker)), { clock });
    expect(restored.state).toBe('closed');
    fail(restored);
    expect(restored.state).toBe('open');
  });

  it('stores a half-open breaker as open and due for a probe; an isolated one stays isolated until reset', () => {
    const clock = new ManualClock();
    const breaker = consecutive(clock);
    fail(breaker, 3);
    clock.advance(1_000);
    permit(breaker.tryAcquire());
    expect(breaker.toJSON()).toMatchObject({ state: 'open', halfOpenInMs: 0 });
    const again = SluiceBreaker.fromJSON(breaker.toJSON(), { clock });
    expect(permit(again.tryAcquire()).probe).toBe(true);

    const isolated = consecutive(clock);
    isolated.isolate();
    const restored = SluiceBreaker.fromJSON(isolated.toJSON(), { clock });
    expect(restored.state).toBe('isolated');
    restored.reset();
    expect(restored.state).toBe('closed');
  });

  it('round-trips a sampling breaker with its windows', () => {
    const clock = new ManualClock();
    const breaker = new SluiceBreaker('dependency:db', {
      kind: 'sampling',
      threshold: 0.5,
      samplingDurationMs: 5_000,
      minimumRps: 1,
      clock,
    });
    succeed(breaker, 2);
    fail(breaker, 2);
    const json = breaker.toJSON();
    const restored = SluiceBreaker.fromJSON(JSON.parse(JSON.stringify(json)), { clock });
    expect(restored.toJSON().breakerState).toEqual(json.breakerState);
    fail(breaker);
    expect(restored.toJSON().breakerState).toEqual(json.breakerState); // a copy, not shared
  });

  it('rejects a malformed saved state with a coded error naming the field', () => {
    const breaker = consecutive(new ManualClock());
    const good = breaker.toJSON();
    const cases: Array<[unknown, string]> = [
      [null, '(root)'],
      [{ ...good, version: 2 }, '`version`'],
      [{ ...good, state: 'half-open' }, '`state`'],
      [{ ...good, halfOpenInMs: -1 }, '`halfOpenInMs`'],
      [{ ...good, breakerState: 'x' }, '`breakerState`'],
      [{ ...good, counters: { ...good.counters, calls: 1.5 } }, '`counters.calls`'],
      [{ ...good, settings: { ...good.settings, threshold: 0 } }, '`threshold`'],
      [{ ...good, settings: { ...good.settings, kind: 'sampling', threshold: 0.5 } }, '`breakerState`'],
    ];
    for (const [json, field] of cases) {
      const error = thrown(() => SluiceBreaker.fromJSON(json));
      expect(error, field).toBeInstanceOf(SluiceError);
      expect(error.code).toBe(ErrorCode.InvalidArgument);
      expect(error.message).toContain(field);
    }
  });
});

describe('SluiceBreaker options', () => {
  it('applies the defaults once', () => {
    expect(new SluiceBreaker('b').options).toEqual({
      kind: 'consecutive',
      threshold: 5,
      halfOpenAfterMs: 10_000,
      samplingDurationMs: 30_000,
      minimumRps: 0,
    });
    expect(new SluiceBreaker('b', { kind: 'sampling' }).options.threshold).toBe(0.5);
  });

  it.each([
    [{ threshold: 0 }, 'Expected `threshold` to be an integer >= 1, got `0` (number)'],
    [{ threshold: 1.5 }, '`threshold`'],
    [{ kind: 'sampling', threshold: 1 }, 'Expected `threshold` to be a number in (0, 1) for a sampling breaker, got `1` (number)'],
    [{ kind: 'rolling' }, '`kind`'],
    [{ halfOpenAfterMs: -1 }, '`halfOpenAfterMs`'],
    [{ samplingDurationMs: 2 }, '`samplingDurationMs`'],
    [{ minimumRps: -1 }, '`minimumRps`'],
    [{ clock: {} }, '`clock`'],
    [{ treshold: 3 }, '`breaker.treshold`'],
  ])('rejects %j', (options, message) => {
    const error = thrown(() => new SluiceBreaker('b', options as never));
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.message).toContain(message);
  });

  it('rejects a blank name', () => {
    expect(() => new SluiceBreaker(' ')).toThrow('Expected `breaker name` to be a non-empty string');
  });
});

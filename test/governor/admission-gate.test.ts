import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { AdmissionGate, Governor } from '../../src/governor/index.ts';
import { expectCode } from '../fixtures/helpers.ts';
import { scriptedSensor, ticks } from './helpers.ts';

describe('AdmissionGate', () => {
  it('admits everything at its ceiling rate', () => {
    const gate = new AdmissionGate({ clock: new ManualClock() });
    for (let i = 0; i < 10_000; i++) gate.admit();
    expect(gate.stats()).toMatchObject({ admitted: 10_000, throttled: 0, shed: 0 });
  });

  it('throttles to the set rate with a token bucket, counting and reporting every refusal', () => {
    const clock = new ManualClock();
    const gate = new AdmissionGate({ clock, burstSeconds: 0.1 });
    expect(gate.setKnob('admission_rate', 100)).toBe(100);
    let admitted = 0;
    for (let i = 0; i < 50; i++) if (gate.tryAdmit().admitted) admitted += 1;
    expect(admitted).toBe(10); // the burst: 0.1 s of 100/s
    clock.advance(1000);
    for (let i = 0; i < 200; i++) if (gate.tryAdmit().admitted) admitted += 1;
    expect(admitted).toBe(20); // refilled up to the burst again
    expect(gate.stats().throttled).toBe(40 + 190);
    expect(() => gate.admit()).toThrowError(
      expect.objectContaining({ code: ErrorCode.Throttled, message: expect.stringContaining('100 items/s') }),
    );
    const verdict = gate.tryAdmit();
    expect(verdict).toMatchObject({ admitted: false, reason: 'throttled' });
    expect(verdict.admitted === false && verdict.retryAfterMs).toBeGreaterThan(0);
  });

  it('sheds posts below the shed level, by priority, with a coded error', () => {
    const gate = new AdmissionGate({ clock: new ManualClock() });
    gate.setKnob('shed_level', 2);
    expect(() => gate.admit(0)).toThrowError(expect.objectContaining({ code: ErrorCode.LoadShed }));
    expect(gate.tryAdmit(1)).toMatchObject({ admitted: false, reason: 'shed' });
    expect(gate.tryAdmit(2)).toEqual({ admitted: true });
    expect(gate.stats()).toMatchObject({ shed: 2, shedByPriority: { 0: 1, 1: 1 }, admitted: 1 });
  });

  it("refuses a post whose expected wait is over its priority's wait limit, coded and counted", () => {
    let expected: number | undefined;
    const gate = new AdmissionGate({ clock: new ManualClock(), waitLimitMs: 40, expectedWaitMs: () => expected });
    // Priority 0 gets half the limit, the top level (maxShedLevel 3) all of it, the levels between in equal steps.
    expect([0, 1, 2, 3, 9].map((p) => Math.round(gate.waitLimitFor(p) * 1000) / 1000)).toEqual([20, 26.667, 33.333, 40, 40]);
    expect(gate.tryAdmit(0)).toEqual({ admitted: true }); // nothing finished yet: nothing known, admitted
    expected = 20;
    expect(gate.tryAdmit(0)).toEqual({ admitted: true }); // at the limit, not over it
    expected = 30;
    expect(gate.tryAdmit(0)).toEqual({ admitted: false, reason: 'overloaded', retryAfterMs: 10 });
    expect(gate.tryAdmit(2)).toEqual({ admitted: true });
    const error = expectCode(() => gate.admit(1), ErrorCode.Overloaded);
    expect(error.message).toMatch(/about 30 ms .* wait limit of 26\.67 ms for priority 1; retry in 4 ms/);
    expect(error.details).toMatchObject({ priority: 1, expectedWaitMs: 30 });
    expect(error.details?.waitLimitMs).toBeCloseTo(26.667, 3);
    expect(gate.stats()).toMatchObject({ admitted: 3, overloaded: 2, shed: 0, shedByPriority: { 0: 1, 1: 1 }, waitLimitMs: 40 });
    // A knob: lowered within (1, baseline], never above the baseline.
    expect(gate.knobs().find((k) => k.name === 'wait_limit')).toEqual(
      expect.objectContaining({ kind: 'wait_limit', value: 40, min: 1, max: 40, baseline: 40 }),
    );
    expect(gate.setKnob('wait_limit', 10)).toBe(10);
    expect(gate.tryAdmit(3)).toMatchObject({ admitted: false, reason: 'overloaded', retryAfterMs: 20 });
    expect(gate.setKnob('wait_limit', 1e9)).toBe(40);
    // Without a limit there is no knob and no estimate is read.
    const open = new AdmissionGate({
      clock: new ManualClock(),
      expectedWaitMs: () => {
        throw new Error('read');
      },
    });
    expect(open.tryAdmit(0)).toEqual({ admitted: true });
    expect(open.knobs().map((k) => k.name)).toEqual(['admission_rate', 'shed_level']);
    expect(() => new AdmissionGate({ waitLimitMs: 10 })).toThrowError(/expectedWaitMs/);
    expect(() => new AdmissionGate({ waitLimitMs: -1, expectedWaitMs: () => 0 })).toThrowError(/waitLimitMs/);
  });

  it('validates its knobs and options', () => {
    const gate = new AdmissionGate({ clock: new ManualClock(), maxShedLevel: 2 });
    expect(gate.setKnob('shed_level', 9)).toBe(2);
    expect(gate.setKnob('admission_rate', 0)).toBe(1); // minRate
    expect(() => gate.setKnob('speed', 1)).toThrowError(expect.objectContaining({ code: ErrorCode.UnknownKnob }));
    expect(() => gate.setKnob('admission_rate', Number.NaN)).toThrowError(/`NaN`/);
    expect(() => new AdmissionGate({ maxRate: -1 })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining('`-1`') }),
    );
  });

  it('is governed: CPU saturation throttles it and latency sheds, then both are given back', async () => {
    const clock = new ManualClock();
    const gate = new AdmissionGate({ clock, maxRate: 1000 });
    const cpu = [0.99, 0.99, ...Array<number>(30).fill(0.2)];
    const latency = [900, 900, ...Array<number>(30).fill(50)];
    const governor = new Governor({ clock, sensor: scriptedSensor({ cpu_util: cpu, latency_ms: latency }) });
    governor.register(gate);
    await ticks(governor, 1, clock);
    expect(gate.rate).toBe(800);
    expect(gate.shedLevel).toBe(1);
    expect(() => gate.admit(0)).toThrowError(expect.objectContaining({ code: ErrorCode.LoadShed }));
    await ticks(governor, 30, clock);
    expect(gate.rate).toBe(1000);
    expect(gate.shedLevel).toBe(0);
    gate.admit(0);
  });
});

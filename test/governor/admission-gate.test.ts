import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { AdmissionGate, Governor } from '../../src/governor/index.ts';
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

/** Scarcity's DRG: direct actuation, `actuators.execute("inference_engine", "reduce_batch", 0.5)`. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.ts';
import { EventBus } from '../../src/entry/bus.ts';
import { Governor, createGovernable, type Decision } from '../../src/entry/governor.ts';
import { ManualClock } from '../../src/entry/testing.ts';
import { expectCode, tick } from '../fixtures/helpers.ts';

function setup() {
  const clock = new ManualClock();
  const bus = new EventBus({ clock });
  const governor = new Governor({ clock, bus, rules: [] });
  let batch = 32;
  governor.register(
    createGovernable({
      name: 'inference_engine',
      knobs: { batch: { kind: 'batch_size', min: 1, max: 64, get: () => batch, set: (n) => void (batch = n) } },
    }),
  );
  return { governor, bus, batch: () => batch };
}

describe('direct actuation', () => {
  it('execute("inference_engine", "reduce_batch", 0.5) halves the batch now, recorded and published like a rule decision', async () => {
    const { governor, bus, batch } = setup();
    const published: unknown[] = [];
    bus.subscribe('drg.signal.*', (e) => void published.push(e.payload));
    const heard: Decision[] = [];
    governor.onDecision((d) => void heard.push(d));
    const decisions = governor.execute('inference_engine', 'reduce_batch', 0.5);
    expect(batch()).toBe(16);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      rule: 'manual',
      action: 'reduce_batch',
      phase: 'apply',
      subsystem: 'inference_engine',
      knob: 'batch',
      before: 32,
      after: 16,
      outcome: 'applied',
    });
    expect(governor.decisions()).toEqual(decisions);
    expect(heard).toEqual(decisions);
    await tick();
    expect(published).toMatchObject([{ rule: 'manual', knob: 'batch', after: 16 }]);
    expect(governor.stats().decisions).toBe(1);
  });

  it('refuses an unknown subsystem, action or knob and a bad factor with coded errors', () => {
    const { governor } = setup();
    expect(expectCode(() => governor.execute('nope', 'reduce_batch', 0.5), ErrorCode.InvalidArgument).message).toContain(
      '"inference_engine"',
    );
    expectCode(() => governor.execute('inference_engine', 'explode', 0.5), ErrorCode.UnknownAction);
    expectCode(() => governor.execute('inference_engine', 'reduce_batch', 0), ErrorCode.InvalidArgument);
    expectCode(() => governor.execute('inference_engine', 'reduce_batch', 0.5, { knob: 'other' }), ErrorCode.UnknownKnob);
  });
});

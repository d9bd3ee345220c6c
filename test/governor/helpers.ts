/** Fakes shared by the governor tests: a scripted sensor, a fake runtime, a recording bus. */
import { createGovernable, type Governable, type SensorReadings, type SensorSource } from '../../src/governor/index.ts';

/**
 * A sensor that answers from per-metric scripts, one value per call; a script that ran out
 * repeats its last value. `undefined` in a script means "not measured".
 */
export function scriptedSensor(scripts: Record<string, readonly (number | undefined)[]>): SensorSource & { calls: number } {
  const source = Object.assign(
    (): SensorReadings => {
      const out: Record<string, number | undefined> = {};
      for (const [name, values] of Object.entries(scripts)) {
        out[name] = values[Math.min(source.calls, values.length - 1)];
      }
      source.calls += 1;
      return out;
    },
    { calls: 0 },
  );
  return source;
}

export interface FakeRuntime {
  governable: Governable;
  state: { pool: number; dispatch: number; batchTokenize: number; rate: number; shed: number };
  /** Every setter call that reached the subsystem, as [knob, value]. */
  sets: Array<[string, number]>;
  metrics: Record<string, number | undefined>;
}

/** A runtime-like subsystem with the five knob kinds; its setters record every call. */
export function createFakeRuntime(name = 'runtime'): FakeRuntime {
  const fake: FakeRuntime = {
    state: { pool: 4, dispatch: 16, batchTokenize: 8, rate: 1000, shed: 0 },
    sets: [],
    metrics: {},
    governable: undefined as unknown as Governable,
  };
  const knob = (key: keyof FakeRuntime['state'], knobName: string) => ({
    get: () => fake.state[key],
    set: (v: number) => {
      fake.sets.push([knobName, v]);
      fake.state[key] = v;
    },
  });
  fake.governable = createGovernable({
    name,
    knobs: {
      pool: { kind: 'pool_size', min: 1, max: 8, ...knob('pool', 'pool') },
      dispatch: { kind: 'dispatch_batch', min: 1, max: 64, ...knob('dispatch', 'dispatch') },
      'batch:tokenize': { kind: 'batch_size', min: 2, max: 32, ...knob('batchTokenize', 'batch:tokenize') },
      admission: { kind: 'admission_rate', min: 10, max: 1000, ...knob('rate', 'admission') },
      shed: { kind: 'shed_level', min: 0, max: 3, ...knob('shed', 'shed') },
    },
    metrics: () => fake.metrics,
  });
  return fake;
}

export interface FakeBus {
  events: Array<{ topic: string; payload: unknown }>;
  subscribed: Set<string> | undefined;
  publish(topic: string, payload: unknown): void;
  hasSubscribers?(topic: string): boolean;
  topics(): string[];
}

/** A bus that records publishes; with `subscribed`, it reports subscribers only on those topics. */
export function createFakeBus(subscribed?: readonly string[]): FakeBus {
  const bus: FakeBus = {
    events: [],
    subscribed: subscribed === undefined ? undefined : new Set(subscribed),
    publish(topic, payload) {
      bus.events.push({ topic, payload });
    },
    topics: () => bus.events.map((e) => e.topic),
  };
  if (subscribed !== undefined) bus.hasSubscribers = (topic) => bus.subscribed!.has(topic);
  return bus;
}

/** Runs `n` ticks in a row. */
export async function ticks(
  governor: { tick(): Promise<unknown> },
  n: number,
  clock?: { advance(ms: number): void },
  stepMs = 500,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    await governor.tick();
    clock?.advance(stepMs);
  }
}

/**
 * The distributed bench's flow: parse (in the producer) → work (distributed) → sink (where work
 * ran). `sink` counts items and, for the latency run, how long each took from its post (the
 * payload's `t`, wall-clock ms with sub-ms precision, comparable across processes of one machine).
 */
import { Flow, Routine, defineFlow, type SlotItems } from '../src/index.ts';

export interface Reading {
  readonly n: number;
  readonly sensor: string;
  readonly celsius: number;
  readonly t?: number;
}

/** Wall-clock now, ms, sub-ms precision. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** The same work in every contender: Celsius → Fahrenheit with a flag. */
export function work(r: Reading): Reading & { fahrenheit: number; hot: boolean } {
  const fahrenheit = (r.celsius * 9) / 5 + 32;
  return { ...r, fahrenheit, hot: fahrenheit > 86 };
}

/** What the sinks of this process saw. */
export const sinkStats = { items: 0, latencies: [] as number[] };

class Parse extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out');
  }

  logic({ in: items }: SlotItems) {
    for (const r of items as Reading[]) this.emit('out', r);
  }
}

class Work extends Routine {
  constructor() {
    super();
    this.addSlot('in', { maxQueueLength: 10_000, overflow: 'block' });
    this.addEvent('out');
  }

  logic({ in: items }: SlotItems) {
    for (const r of items as Reading[]) this.emit('out', work(r));
  }
}

class Sink extends Routine {
  constructor() {
    super();
    this.addSlot('in', { maxQueueLength: 10_000 });
  }

  logic({ in: items }: SlotItems) {
    for (const r of items as Reading[]) {
      sinkStats.items++;
      if (r.t !== undefined) sinkStats.latencies.push(wallNow() - r.t);
    }
  }
}

export default defineFlow(
  import.meta.url,
  () =>
    new Flow('redis-bench')
      .addRoutine(new Parse(), 'parse')
      .addRoutine(new Work(), 'work', { distributed: true })
      .addRoutine(new Sink(), 'sink')
      .pipe('parse', 'work')
      .pipe('work', 'sink'),
  { description: 'the distributed bench flow', input: { routine: 'parse', slot: 'in', generate: (n) => reading(n) } },
);

export function reading(n: number): Reading {
  return { n, sensor: `s${n % 10}`, celsius: n % 40 };
}

/**
 * The main example: source → transform → sink, one job per posted item.
 *
 * - `source` validates and normalises a reading,
 * - `transform` converts it (Celsius to Fahrenheit) and tags it,
 * - `sink` aggregates per worker (count, sum, min, max) in routine state and writes the
 *   result into the job's `data`.
 *
 * Run it with `npm start` (see the README) or `npx sluice run flows/pipeline.ts --items 100000`.
 */
import { Flow, Routine, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';

/** A sensor reading as posted. */
export interface Reading {
  sensor: string;
  celsius: number;
}

/** Reading number `i`: 16 sensors, -10 °C to 29.9 °C (what `sluice run` posts). */
export function reading(i: number): Reading {
  return { sensor: `s${i % 16}`, celsius: (i % 400) / 10 - 10 };
}

/** Checks and normalises readings. */
export class Source extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('reading', ['sensor', 'celsius']);
  }

  logic({ in: items }: SlotItems<{ in: Reading }>): void {
    for (const raw of items) {
      if (typeof raw?.celsius !== 'number' || !Number.isFinite(raw.celsius)) {
        throw new TypeError(`reading has no numeric celsius: ${JSON.stringify(raw)}`);
      }
      this.emit('reading', { sensor: String(raw.sensor ?? 'unknown'), celsius: raw.celsius });
    }
  }
}

/** Converts Celsius to Fahrenheit. */
export class Transform extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('converted', ['sensor', 'celsius', 'fahrenheit']);
  }

  logic({ in: items }: SlotItems<{ in: Reading }>): void {
    for (const r of items) {
      this.emit('converted', { sensor: r.sensor, celsius: r.celsius, fahrenheit: r.celsius * 1.8 + 32 });
    }
  }
}

/** Aggregates per worker and records the result on the job. */
export class Sink extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }

  logic(
    { in: items }: SlotItems<{ in: { fahrenheit: number } }>,
    ctx: ActivationContext<{ count: number; sum: number; min: number; max: number }>,
  ): void {
    const state = ctx.state;
    let { count = 0, sum = 0, min = Number.POSITIVE_INFINITY, max = Number.NEGATIVE_INFINITY } = state;
    for (const r of items) {
      count++;
      sum += r.fahrenheit;
      if (r.fahrenheit < min) min = r.fahrenheit;
      if (r.fahrenheit > max) max = r.fahrenheit;
      ctx.job.data.fahrenheit = r.fahrenheit;
    }
    ctx.setState({ count, sum, min, max });
  }
}

export default defineFlow(
  import.meta.url,
  () =>
    new Flow('pipeline')
      .addRoutine(new Source(), 'source')
      .addRoutine(new Transform(), 'transform')
      .addRoutine(new Sink(), 'sink')
      .pipe('source', 'transform', 'sink'),
  {
    description: 'source → transform → sink: validates readings, converts °C to °F, aggregates per worker',
    input: { routine: 'source', slot: 'in', generate: reading },
  },
);

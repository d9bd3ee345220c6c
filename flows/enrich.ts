/**
 * The getting-started example (docs/getting-started.md): parse → enrich → store.
 *
 * - `parse` turns a posted record into an id,
 * - `enrich` looks the id up (an async call standing in for a service) and scores it with its
 *   `weight` config; a failed lookup is retried up to 5 times,
 * - `store` counts what arrived and keeps the last score in its routine state.
 *
 * Run it with `npx sluice run flows/enrich.ts --items 1000 --param weight=3`.
 */
import { Flow, Routine, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';

/** A stand-in for a service call: an id's base score, a microtask later. */
export async function lookup(id: number): Promise<number> {
  await Promise.resolve();
  return (id * 7) % 10;
}

/** Takes `{ id }` records and emits their numeric id. */
export class Parse extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out', ['id']);
  }

  logic({ in: items }: SlotItems) {
    for (const item of items as Array<{ id: number | string }>) this.emit('out', { id: Number(item.id) });
  }
}

/** Scores each id: `lookup(id) × weight`. */
export class Enrich extends Routine {
  constructor() {
    super();
    this.addSlot('in', { maxQueueLength: 5_000, watermark: 0.8, overflow: 'block' });
    this.addEvent('out', ['id', 'score']);
    this.setConfig({ weight: 2 });
  }

  async logic({ in: records }: SlotItems<{ in: { id: number } }>, ctx: ActivationContext<{ seen: number }, { weight: number }>) {
    for (const item of records) {
      const score = await lookup(item.id); // emit works after await
      this.emit('out', { id: item.id, score: score * ctx.config.weight });
    }
    ctx.setState({ seen: (ctx.state.seen ?? 0) + records.length });
  }
}

/** Counts what arrives and keeps the last score. */
export class Store extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }

  logic({ in: items }: SlotItems, ctx: ActivationContext) {
    const scored = items as Array<{ id: number; score: number }>;
    ctx.setState({ stored: ((ctx.state.stored as number) ?? 0) + scored.length, last: scored.at(-1) });
  }
}

export default defineFlow(
  import.meta.url,
  (params: { weight: number }) =>
    new Flow('enrich')
      .addRoutine(new Parse(), 'parse')
      .addRoutine(new Enrich().setConfig({ weight: params.weight }), 'enrich', { errorHandler: { strategy: 'retry', maxAttempts: 5 } })
      .addRoutine(new Store(), 'store')
      .pipe('parse', 'enrich', 'store'),
  {
    description: 'parse → enrich (async lookup, weight) → store',
    defaults: { weight: 2 },
    input: { routine: 'parse', slot: 'in', generate: (i) => ({ id: i }) },
  },
);

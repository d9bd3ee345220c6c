/**
 * The governor's example: a service-like flow whose `score` routine costs a fixed amount of CPU
 * per request (`costUs`, default 100 µs), so one core serves roughly 1e6 / costUs requests per
 * second. Under a load that ramps past that capacity the queue grows and latency climbs without
 * bound; a governed runtime sheds the lowest-priority requests instead (see bench/governor.ts
 * and the README's governor section).
 *
 * Requests carry a `priority` (0 = lowest); post them with `{ priority }` so the admission gate
 * can shed by it.
 */
import { Flow, Routine, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';

/** A request as posted. */
export interface Request {
  id: number;
  priority: number;
  payload: number;
}

function burn(us: number): number {
  const end = performance.now() + us / 1000;
  let x = 0;
  while (performance.now() < end) x = (x * 1103515245 + 12345) % 2147483648;
  return x;
}

class Score extends Routine {
  constructor(costUs: number) {
    super();
    this.addSlot('in', { maxQueueLength: 100_000 });
    this.addEvent('scored', ['id', 'score']);
    this.setConfig({ costUs });
  }

  logic({ in: requests }: SlotItems<{ in: Request }>, ctx: ActivationContext): void {
    for (const r of requests) this.emit('scored', { id: r.id, score: burn(ctx.config.costUs as number) + r.payload });
  }
}

class Respond extends Routine {
  constructor() {
    super();
    this.addSlot('in', { maxQueueLength: 100_000 });
  }

  logic({ in: scored }: SlotItems, ctx: ActivationContext): void {
    for (const s of scored as Array<{ score: number }>) ctx.job.data.score = s.score;
  }
}

export default defineFlow(
  import.meta.url,
  (params: { costUs: number }) =>
    new Flow('governed').addRoutine(new Score(params.costUs), 'score').addRoutine(new Respond(), 'respond').pipe('score', 'respond'),
  {
    description: 'a request-scoring service with a fixed CPU cost per request, for governed vs ungoverned ramps',
    defaults: { costUs: 100 },
    input: { routine: 'score', slot: 'in', generate: (i) => ({ id: i, priority: i % 4, payload: i % 97 }) },
  },
);

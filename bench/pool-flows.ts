/** The trivial pool flow of bench/pool.ts: source (inline) → noop (pool) → sink (inline). */
import { Flow, Routine, defineFlow, type SlotItems } from '../src/index.ts';

class Pass extends Routine {
  constructor() {
    super();
    this.addSlot('in', { overflow: 'block' });
    this.addEvent('out');
  }

  logic({ in: items }: SlotItems): void {
    for (const item of items!) this.emit('out', item);
  }
}

class Count extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }

  logic(_items: SlotItems): void {}
}

export default defineFlow<{ id: string }>(
  import.meta.url,
  (p) => new Flow(p.id).addRoutine(new Pass(), 'source').addRoutine(new Pass(), 'noop', { placement: 'pool' }).addRoutine(new Count(), 'sink').pipe('source', 'noop', 'sink'),
  { defaults: { id: 'noop' }, input: { routine: 'source', slot: 'in', generate: (i) => i } },
);

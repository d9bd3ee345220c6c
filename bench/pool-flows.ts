/**
 * The trivial pool flows of the benchmarks.
 *
 * - `shape: 'direct'` (bench/pool.ts): one routine, `noop`, placed on the pool; posts go straight
 *   into it and it emits each item back (its `out` event has no connection, so the main thread
 *   only counts it). What it measures is the pool path itself: dispatch, the thread hop, and
 *   applying the result.
 * - `shape: 'chain'` (the default, bench/sweeps.ts): source (inline) → noop (pool) → sink (inline).
 * - `shape: 'spin'` (bench/pool.ts, bursts): one pool routine, `spin`, that keeps its thread busy
 *   `spinMs` per item — CPU work of a known size.
 */
import { Flow, Routine, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';

class Spin extends Routine {
  constructor(spinMs: number) {
    super();
    this.addSlot('in');
    this.setConfig({ spinMs });
  }

  logic({ in: items }: SlotItems, ctx: ActivationContext): void {
    const ms = ctx.config.spinMs as number;
    for (let i = 0; i < items!.length; i++) {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // busy, as CPU-bound work is
      }
    }
  }
}

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

/** Params of the trivial pool flows. */
export interface NoopParams extends Record<string, unknown> {
  id: string;
  shape: 'chain' | 'direct' | 'spin';
  /** With `shape: 'spin'`: busy ms per item. */
  spinMs?: number;
}

export default defineFlow<NoopParams>(
  import.meta.url,
  (p) =>
    p.shape === 'spin'
      ? new Flow(p.id).addRoutine(new Spin(p.spinMs ?? 1), 'spin', { placement: 'pool' })
      : p.shape === 'direct'
        ? new Flow(p.id).addRoutine(new Pass(), 'noop', { placement: 'pool' })
        : new Flow(p.id)
            .addRoutine(new Pass(), 'source')
            .addRoutine(new Pass(), 'noop', { placement: 'pool' })
            .addRoutine(new Count(), 'sink')
            .pipe('source', 'noop', 'sink'),
  { defaults: { id: 'noop', shape: 'chain' }, input: { routine: 'source', slot: 'in', generate: (i) => i } },
);

/**
 * The read-only view of a routine's slots its activation policy evaluates: names, counts, a peek
 * at queued data. One per runner, over the runner's own slots; it copies nothing.
 */
import type { SlotsView } from './activation-policy.ts';
import type { Slot } from './slot.ts';

/**
 * A view over `slots`, named by `names` (in declaration order; `index` maps a name to its slot).
 *
 * @example
 * ```ts
 * const view = createSlotsView(['in'], [slot], new Map([['in', 0]]));
 * view.count('in'); // items queued in slot `in`
 * ```
 */
export function createSlotsView(names: readonly string[], slots: readonly Slot<unknown>[], index: ReadonlyMap<string, number>): SlotsView {
  return {
    names,
    count: (slot) => {
      const i = index.get(slot);
      return i === undefined ? 0 : (slots[i] as Slot<unknown>).length;
    },
    peek: (slot, i = 0) => {
      const s = index.get(slot);
      return s === undefined ? undefined : (slots[s] as Slot<unknown>).peek(i)?.data;
    },
    total: () => {
      let n = 0;
      for (const slot of slots) n += slot.length;
      return n;
    },
  };
}

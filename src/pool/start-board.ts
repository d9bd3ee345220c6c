/**
 * Where pool threads stamp the time they start a batch: the timeout clock of a batch runs from
 * that stamp, and a batch a dead thread held but had not started is known innocent.
 *
 * A pool sluice owns shares one board with every thread once (Piscina's `workerData`); a batch
 * carries the index of its slot, a small integer. Sending a `SharedArrayBuffer` with every task
 * costs more than the rest of a one-activation task (measured: ~2.5 µs of a ~45 µs round trip).
 * An injected pool cannot carry the board, and every slot may be taken after a `resize()` past
 * the board's size: such a batch gets a buffer of its own, as before.
 */
import type { StartMark } from './protocol.ts';

/** The `workerData` key the board travels under. */
export const kStartBoardKey = 'sluice.startBoard';

/** Slots on a pool's board: in-flight batches are at most two per thread. */
const kDefaultSlots = 256;

/** The start stamps of in-flight batches. */
export class StartBoard {
  /** The shared memory, or undefined when this board is not shared with the threads. */
  readonly buffer: SharedArrayBuffer | undefined;
  readonly #view: BigInt64Array | undefined;
  readonly #free: number[] = [];

  /** `shared`: the threads will see `buffer` (an owned pool); otherwise every mark is a buffer of its own. */
  constructor(shared: boolean, slots = kDefaultSlots) {
    if (shared) {
      this.buffer = new SharedArrayBuffer(8 * slots);
      this.#view = new BigInt64Array(this.buffer);
      for (let i = slots - 1; i >= 0; i--) this.#free.push(i);
    }
  }

  /** A mark for one batch, not started yet; give it back with {@link release} once the batch settled. */
  take(): StartMark {
    const slot = this.#free.pop();
    if (slot === undefined) return { started: new SharedArrayBuffer(8) };
    Atomics.store(this.#view as BigInt64Array, slot, 0n);
    return { startSlot: slot };
  }

  /** The epoch ms a thread started the batch of `mark` at; 0 while it has not. */
  startedAt(mark: StartMark): number {
    if ('startSlot' in mark) return Number(Atomics.load(this.#view as BigInt64Array, mark.startSlot));
    return Number(Atomics.load(new BigInt64Array(mark.started), 0));
  }

  /** The batch of `mark` settled: its slot is free again. */
  release(mark: StartMark): void {
    if ('startSlot' in mark) this.#free.push(mark.startSlot);
  }
}

/** Stamps the start of a batch in the thread (the board is the thread's copy of the shared buffer). */
export function stampStart(mark: Partial<{ startSlot: number; started: SharedArrayBuffer }>, board: BigInt64Array | undefined): void {
  if (mark.startSlot !== undefined) {
    // A slot is only handed out by a board shared with every thread of the pool.
    if (board === undefined) throw new Error(`sluice: a batch names start slot ${mark.startSlot}, but this thread has no start board`);
    Atomics.store(board, mark.startSlot, BigInt(Date.now()));
  } else if (mark.started !== undefined) {
    Atomics.store(new BigInt64Array(mark.started), 0, BigInt(Date.now()));
  }
}

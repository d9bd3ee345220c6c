/**
 * A CPU-bound flow: an inline source, a hashing routine on the thread pool, an inline sink.
 *
 * - `source` checks each posted block description and passes it on,
 * - `hash` (placement `pool`) fills a block of `size` bytes from the item's seed and hashes it
 *   `rounds` times with FNV-1a (pure JavaScript, ~1 ms per item with the defaults),
 * - `sink` keeps a per-worker count and XOR of digests in routine state and writes each digest
 *   into its job's `data`.
 *
 * Run it with `npx sluice run flows/cpu.ts --items 2000`.
 */
import { Flow, Routine, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';

/** A block to hash, as posted. */
export interface Block {
  id: number;
  seed: number;
}

/** Fills `size` bytes from `seed` (xorshift32) and hashes them `rounds` times (FNV-1a 32). */
export function kernel(seed: number, size: number, rounds: number): number {
  const bytes = new Uint8Array(size);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  let hash = 0x811c9dc5;
  for (let r = 0; r < rounds; r++) {
    hash ^= r;
    for (let i = 0; i < size; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
  }
  return hash >>> 0;
}

/** Passes valid blocks on. */
export class BlockSource extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('block', ['id', 'seed']);
  }

  logic({ in: items }: SlotItems<{ in: Block }>): void {
    for (const block of items) {
      if (!Number.isInteger(block?.seed)) throw new TypeError(`block has no integer seed: ${JSON.stringify(block)}`);
      this.emit('block', block);
    }
  }
}

/** Hashes a block: the CPU-heavy step, run on the pool. */
export class Hash extends Routine {
  constructor(size: number, rounds: number) {
    super();
    // Blocks when full, so the inline source waits for the pool instead of failing its jobs.
    this.addSlot('in', { overflow: 'block' });
    this.addEvent('digest', ['id', 'digest']);
    this.setConfig({ size, rounds });
  }

  logic({ in: items }: SlotItems<{ in: Block }>, ctx: ActivationContext): void {
    const { size, rounds } = ctx.config as { size: number; rounds: number };
    for (const block of items) this.emit('digest', { id: block.id, digest: kernel(block.seed, size, rounds) });
  }
}

/** Counts digests per worker and records each on its job. */
export class DigestSink extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }

  logic({ in: items }: SlotItems, ctx: ActivationContext<{ count: number; xor: number }>): void {
    let { count = 0, xor = 0 } = ctx.state;
    for (const d of items as Array<{ digest: number }>) {
      count++;
      xor = (xor ^ d.digest) >>> 0;
      ctx.job.data.digest = d.digest;
    }
    ctx.setState({ count, xor });
  }
}

/** Params of the cpu flow. */
export interface CpuParams extends Record<string, unknown> {
  id: string;
  /** Bytes per block. */
  size: number;
  /** Hash passes over each block. */
  rounds: number;
  /** Where `hash` runs. */
  placement: 'inline' | 'pool' | 'auto';
}

export default defineFlow<CpuParams>(
  import.meta.url,
  (p) =>
    new Flow(p.id)
      .addRoutine(new BlockSource(), 'source')
      .addRoutine(new Hash(p.size, p.rounds), 'hash', { placement: p.placement })
      .addRoutine(new DigestSink(), 'sink')
      .pipe('source', 'hash', 'sink'),
  {
    description: 'source → hash (pool) → sink: FNV-1a over generated blocks on worker threads',
    defaults: { id: 'cpu', size: 4096, rounds: 192, placement: 'pool' },
    input: { routine: 'source', slot: 'in', generate: (i) => ({ id: i, seed: i + 1 }) },
  },
);

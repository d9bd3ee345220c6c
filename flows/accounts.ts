/**
 * A flow that scales past one process (docs/distributed.md): parse → score → settle.
 *
 * - `parse` turns a posted number into a transfer for one of 50 accounts,
 * - `score` is **distributed**, partitioned by account: under a transport (`sluice worker … --redis`)
 *   any worker process may take a transfer, and transfers of one account are handled in the order
 *   they were sent; without one it runs in-process like any routine,
 * - `settle` runs where `score` ran and writes the result into the job's data.
 *
 * One process: `npx sluice run flows/accounts.ts --items 10000`.
 * Several: `npx sluice worker flows/accounts.ts --redis redis://127.0.0.1:6379` (as many as you
 * like), then `npx sluice run flows/accounts.ts --redis redis://127.0.0.1:6379 --items 10000`.
 */
import { Flow, Routine, defineFlow, type ActivationContext, type SlotItems } from '../src/index.ts';

interface Transfer {
  readonly id: number;
  readonly account: string;
  readonly cents: number;
}

/** A posted number → a transfer for one of 50 accounts. */
export class Parse extends Routine {
  constructor() {
    super();
    this.addSlot('in');
    this.addEvent('out', ['id', 'account', 'cents']);
  }

  logic({ in: items }: SlotItems) {
    for (const n of items as number[]) this.emit('out', { id: n, account: `acct-${n % 50}`, cents: (n * 37) % 10_000 });
  }
}

/** Scores a transfer: large ones are flagged. */
export class Score extends Routine {
  constructor() {
    super();
    // A full queue holds the parser back rather than failing its job.
    this.addSlot('in', { maxQueueLength: 1_000, overflow: 'block' });
    this.addEvent('out', ['id', 'account', 'cents', 'flagged']);
    this.setConfig({ limit: 9_000 });
  }

  logic({ in: items }: SlotItems<{ in: Transfer }>, ctx: ActivationContext<Record<string, never>, { limit: number }>) {
    for (const t of items) this.emit('out', { ...t, flagged: t.cents > ctx.config.limit });
  }
}

/** Writes the scored transfer into its job's data. */
export class Settle extends Routine {
  constructor() {
    super();
    this.addSlot('in');
  }

  logic(_items: SlotItems, ctx: ActivationContext) {
    for (const entry of ctx.entries('in')) entry.job.data.settled = entry.data;
  }
}

export default defineFlow(
  import.meta.url,
  () =>
    new Flow('accounts')
      .addRoutine(new Parse(), 'parse')
      .addRoutine(new Score(), 'score', { distributed: { partitionKey: (t) => (t as Transfer).account } })
      .addRoutine(new Settle(), 'settle')
      .pipe('parse', 'score')
      .pipe('score', 'settle'),
  { description: 'transfers scored across processes, in order per account', input: { routine: 'parse', slot: 'in', generate: (i) => i } },
);

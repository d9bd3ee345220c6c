/**
 * A producer's credit window on what a consuming group has not finished: at most `window`
 * entries not yet delivered, or delivered and not acknowledged, so Redis holds what the
 * configuration allows, never the whole input. The producer counts what it adds and learns what
 * was consumed by measuring the backlog (one round trip) when it runs out of credit.
 * @module
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';

/** Options of {@link CreditWindow}. */
export interface CreditWindowOptions {
  /** Unfinished entries allowed. */
  window: number;
  /** How often a waiting producer measures the backlog again, ms. */
  pollMs?: number;
}

/** The credit of one producer on one backlog. */
export class CreditWindow {
  readonly window: number;
  readonly #measure: () => Promise<number>;
  readonly #pollMs: number;
  /** Unfinished entries as last measured, plus what was taken since. */
  #used = 0;
  /** Taken for entries not yet known to be added (their batch is on its way). */
  #unconfirmed = 0;
  #backlog = 0;
  #refreshing: Promise<void> | undefined;

  /** `measure` resolves with the backlog: entries the group has not finished. */
  constructor(measure: () => Promise<number>, options: CreditWindowOptions) {
    if (!Number.isInteger(options.window) || options.window < 1) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected the credit window to be an integer >= 1, got \`${String(options.window)}\``,
        {
          details: { window: options.window },
        },
      );
    }
    this.#measure = measure;
    this.window = options.window;
    this.#pollMs = options.pollMs ?? 5;
  }

  /** Credit left as last known. */
  get available(): number {
    return Math.max(0, this.window - this.#used);
  }

  /** The backlog as last measured. */
  get backlog(): number {
    return this.#backlog;
  }

  /** Takes one credit if any is known to be left (no round trip); false when the window looks full. */
  tryTake(): boolean {
    if (this.#used >= this.window) return false;
    this.#used++;
    this.#unconfirmed++;
    return true;
  }

  /** Credit taken for `count` entries that are now added (they count in the next measure). */
  confirm(count: number): void {
    this.#unconfirmed = Math.max(0, this.#unconfirmed - count);
  }

  /** Returns credit taken for entries that were not added after all. */
  giveBack(count: number): void {
    this.#used = Math.max(0, this.#used - count);
    this.#unconfirmed = Math.max(0, this.#unconfirmed - count);
  }

  /**
   * Measures the backlog: what the group finished becomes credit again. Entries still on their way
   * count on top (a measure sent on the same connection after a batch sees it: replies come in order).
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#measure()
      .then((backlog) => {
        this.#backlog = backlog;
        this.#used = backlog + this.#unconfirmed;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Takes one credit, waiting (measuring every `pollMs`) until the group makes room; confirm or give it back. */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.tryTake()) return;
      await this.refresh();
      if (this.tryTake()) return;
      await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
    }
  }
}

/**
 * A producer's credit window on one slot's stream: at most `window` entries the consuming group
 * has not finished (not yet delivered, or delivered and not acknowledged), so Redis holds what
 * the configuration allows, never the whole input. The producer counts what it adds and learns
 * what was consumed by reading the group's backlog (one XINFO) when it runs out of credit.
 * @module
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { StreamLink } from './stream-link.ts';

/** Options of {@link CreditWindow}. */
export interface CreditWindowOptions {
  /** Unfinished entries allowed in the stream for the group. */
  window: number;
  /** How often a waiting producer reads the backlog again, ms. */
  pollMs?: number;
}

/** The credit of one producer on one stream and group. */
export class CreditWindow {
  readonly stream: string;
  readonly group: string;
  readonly window: number;
  readonly #link: StreamLink;
  readonly #pollMs: number;
  /** Unfinished entries as last read, plus what was taken since. */
  #used = 0;
  #refreshing: Promise<void> | undefined;

  constructor(link: StreamLink, stream: string, group: string, options: CreditWindowOptions) {
    if (!Number.isInteger(options.window) || options.window < 1) {
      throw new SluiceError(
        ErrorCode.InvalidArgument,
        `Expected the credit window to be an integer >= 1, got \`${String(options.window)}\``,
        {
          details: { window: options.window },
        },
      );
    }
    this.#link = link;
    this.stream = stream;
    this.group = group;
    this.window = options.window;
    this.#pollMs = options.pollMs ?? 5;
  }

  /** Credit left as last known. */
  get available(): number {
    return Math.max(0, this.window - this.#used);
  }

  /** Takes one credit if any is known to be left (no round trip); false when the window looks full. */
  tryTake(): boolean {
    if (this.#used >= this.window) return false;
    this.#used++;
    return true;
  }

  /** Reads the group's backlog: what it finished becomes credit again. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#link
      .backlog(this.stream, this.group)
      .then(({ lag, pending }) => {
        this.#used = lag + pending;
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** Takes one credit, waiting (reading the backlog every `pollMs`) until the group makes room. */
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

/**
 * The listeners of one `on*` subscription. A listener that throws is isolated: the others still
 * run and the state that was announced stays changed; the throw is reported as a process
 * warning, because a breaker or a state machine must never fail on a listener's bug.
 *
 * @module
 */
import { createDisposable, type DisposableHandle } from '../core/disposable.ts';

/**
 * A set of listeners, notified in subscription order.
 *
 * @example
 * ```ts
 * const listeners = new ListenerSet<string>('breaker.onStateChange');
 * const sub = listeners.add((value) => console.log(value));
 * listeners.emit('open');
 * sub.dispose();
 * ```
 */
export class ListenerSet<T> {
  readonly #label: string;
  readonly #listeners = new Set<(value: T) => void>();

  constructor(label: string) {
    this.#label = label;
  }

  /** Listeners now subscribed. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Adds `listener`; the disposable removes it (and only it, even if added twice). */
  add(listener: (value: T) => void): DisposableHandle {
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry = (value: T): void => listener(value);
    this.#listeners.add(entry);
    return createDisposable(() => this.#listeners.delete(entry));
  }

  /** Calls every listener with `value`; a throw is reported, not propagated. */
  emit(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        process.emitWarning(`A ${this.#label} listener threw: ${message}`, { code: 'SLUICE_LISTENER_FAILED' });
      }
    }
  }
}

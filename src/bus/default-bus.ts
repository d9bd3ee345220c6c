/**
 * The default bus, a convenience for applications. Library code (the Runtime and every
 * component) always uses the bus it was given and never calls {@link getBus}.
 */
import { EventBus } from './event-bus.ts';

let defaultBus: EventBus | undefined;

/**
 * The application's default bus, created on first use (resolved at call time, so after
 * `resetBus()` the next call returns a fresh one).
 *
 * @example
 * ```ts
 * getBus().subscribe('job.*', (event) => console.log(event));
 * ```
 */
export function getBus(): EventBus {
  if (defaultBus === undefined || defaultBus.isClosed) defaultBus = new EventBus();
  return defaultBus;
}

/**
 * Shuts the default bus down (without waiting) and forgets it; for tests.
 *
 * @example
 * ```ts
 * afterEach(() => resetBus());
 * ```
 */
export function resetBus(): void {
  const bus = defaultBus;
  defaultBus = undefined;
  void bus?.shutdown({ timeout: 0 });
}

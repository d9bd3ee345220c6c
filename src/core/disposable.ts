/**
 * The one shape of a handle that ends something — a subscription, a sink's tap, a registration,
 * a listener: `dispose()` (idempotent), and `[Symbol.dispose]` so `using handle = …` ends it at
 * the end of the block.
 */

/**
 * Ends what it stands for; calling it twice is harmless.
 *
 * @category Errors
 */
export interface DisposableHandle {
  /** Ends it; idempotent. */
  dispose(): void;
  /** Same as `dispose()`. */
  [Symbol.dispose](): void;
}

/**
 * A {@link DisposableHandle} around `fn`, calling it at most once.
 *
 * @example
 * ```ts
 * const handle = createDisposable(() => emitter.off('data', onData));
 * handle.dispose(); // off once; a second dispose() does nothing
 * ```
 */
export function createDisposable(fn: () => void): DisposableHandle {
  let done = false;
  const dispose = (): void => {
    if (done) return;
    done = true;
    fn();
  };
  return { dispose, [Symbol.dispose]: dispose };
}

/**
 * A timeout around one piece of async work, for inline activations: the main thread cannot
 * stop a promise, so a timeout settles the caller, aborts the work's signal so cooperative
 * logic stops, and leaves nothing armed behind.
 *
 * @module
 */
import { type Clock, realClock } from '../core/clock.ts';
import { ErrorCode, SluiceError, TimeoutError, describeValue } from '../core/errors.ts';
import { assertFunction, assertNumber, assertObject, isThenable } from '../core/validate.ts';

/** Options of {@link withTimeout}. */
export interface WithTimeoutOptions {
  /**
   * What is being waited for, as the error message names it (`routine "pipeline/fetch"`).
   * @default 'operation'
   */
  name?: string;
  /**
   * The caller's signal: when it aborts first, the work's signal aborts too and the promise
   * rejects with `SLUICE_ERR_ABORTED`.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Called once when the timeout fires, with the error the promise rejects with (to count it,
   * to replace a pool thread, to release a breaker permit as failed).
   * @default undefined
   */
  onTimeout?: (error: TimeoutError) => void;
  /**
   * Source of time and timers.
   * @default realClock
   */
  clock?: Clock;
}

/** The work: a promise already running, or a function given the signal that aborts on timeout. */
export type TimedWork<T> = PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>);

/**
 * Settles with `work`'s result, or rejects with a `TimeoutError` coded
 * `SLUICE_ERR_ACTIVATION_TIMEOUT` when `ms` pass first. The function form receives the signal of
 * an `AbortController` that `withTimeout` owns and aborts (with that error) on timeout or when
 * `options.signal` aborts, so the logic's signal fires. The timer and the listener on
 * `options.signal` are removed as soon as it settles, whichever way. `ms` of `0` or `Infinity`
 * means no timeout (the work still gets a signal that follows `options.signal`).
 *
 * A timeout does not stop the work itself (a promise cannot be stopped): logic that ignores its
 * signal runs on, and its late result is dropped.
 *
 * @example
 * ```ts
 * const rows = await withTimeout((signal) => fetchRows({ signal }), 5_000, { name: 'routine "pipeline/fetch"' });
 * ```
 */
export function withTimeout<T>(work: TimedWork<T>, ms: number, options: WithTimeoutOptions = {}): Promise<T> {
  assertNumber('ms', ms, 0);
  assertObject('withTimeout options', options);
  const isFunction = typeof work === 'function';
  if (!isFunction && !isThenable(work)) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`work\` to be a promise or a function, got ${describeValue(work)}`, {
      details: { name: 'work' },
    });
  }
  const name = options.name ?? 'operation';
  if (typeof name !== 'string' || name.length === 0) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`name\` to be a non-empty string, got ${describeValue(name)}`, {
      details: { name: 'name' },
    });
  }
  if (options.onTimeout !== undefined) assertFunction('onTimeout', options.onTimeout);
  const outer = options.signal;
  if (outer !== undefined && !(outer instanceof AbortSignal)) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`signal\` to be an AbortSignal, got ${describeValue(outer)}`, {
      details: { name: 'signal' },
    });
  }
  const clock = options.clock ?? realClock;
  const controller = new AbortController();

  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: { cancel(): void } | undefined;
    const cleanup = (): void => {
      settled = true;
      timer?.cancel();
      outer?.removeEventListener('abort', onOuterAbort);
    };
    const onOuterAbort = (): void => {
      if (settled) return;
      cleanup();
      const error = new SluiceError(ErrorCode.Aborted, `${capitalise(name)} was aborted by the caller`, {
        cause: outer?.reason,
        details: { name },
      });
      controller.abort(error);
      reject(error);
    };
    if (outer?.aborted) {
      onOuterAbort();
      return;
    }
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    if (ms > 0 && Number.isFinite(ms)) {
      timer = clock.setTimeout(() => {
        if (settled) return;
        cleanup();
        const error = new TimeoutError(ErrorCode.ActivationTimeout, `${capitalise(name)} did not settle within its timeout of ${ms} ms`, {
          details: { name, timeoutMs: ms },
        });
        controller.abort(error);
        reject(error);
        try {
          options.onTimeout?.(error);
        } catch (hookError) {
          const message = hookError instanceof Error ? hookError.message : String(hookError);
          process.emitWarning(`withTimeout onTimeout hook threw: ${message}`, { code: 'SLUICE_LISTENER_FAILED' });
        }
      }, ms);
    }
    let running: T | PromiseLike<T>;
    try {
      running = isFunction ? (work as (signal: AbortSignal) => T | PromiseLike<T>)(controller.signal) : work;
    } catch (error) {
      cleanup();
      reject(error);
      return;
    }
    Promise.resolve(running).then(
      (value) => {
        if (settled) return;
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        cleanup();
        reject(error);
      },
    );
  });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The control plane between the runtime and its pool threads: comlink over one MessageChannel
 * per thread, for warm-up, flow loading, per-thread stats and cancelling. Never on the data
 * path (activations travel in Piscina tasks).
 *
 * Each thread, when the worker entry loads, creates a channel, exposes its {@link ControlApi} on
 * one end and posts the other to the main thread through `parentPort` (Piscina re-emits it as a
 * `message` event of the pool). The main side keeps one comlink proxy per live thread.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { expose, wrap, type Endpoint, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter.js';
import { setLongTimeout } from '../core/clock.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';

/** Counters of one pool thread. */
export interface ThreadStats {
  readonly threadId: number;
  /** Flows built in this thread (module + params). */
  readonly flowsLoaded: number;
  readonly batches: number;
  readonly activations: number;
  /** Milliseconds spent running batches. */
  readonly busyMs: number;
  /** Activations running now. */
  readonly running: number;
}

/** What each pool thread exposes. */
export interface ControlApi {
  ping(): { threadId: number };
  /** Imports and builds a flow in the thread (cached); returns its routine ids. */
  loadFlow(moduleUrl: string, params: unknown, flowKey: string): Promise<{ flowId: string; routines: string[] }>;
  stats(): ThreadStats;
  /** Aborts the signal of running activations of these jobs; returns how many were aborted. */
  cancelJobs(jobIds: readonly string[], reason: string): number;
}

/** The message a thread posts to announce its control port. */
export interface ControlAnnouncement {
  readonly kind: 'sluice.control';
  readonly threadId: number;
  readonly port: MessagePort;
}

const kEndpoint = nodeEndpoint as unknown as (port: MessagePort) => Endpoint;

/** Worker side: exposes `api` and announces the port through `post` (parentPort.postMessage). */
export function exposeControl(
  api: ControlApi,
  threadId: number,
  post: (message: ControlAnnouncement, transfer: MessagePort[]) => void,
): void {
  const { port1, port2 } = new MessageChannel();
  expose(api, kEndpoint(port1));
  port1.unref();
  post({ kind: 'sluice.control', threadId, port: port2 }, [port2]);
}

/** True for a control announcement. */
export function isControlAnnouncement(message: unknown): message is ControlAnnouncement {
  return typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === 'sluice.control';
}

/** Main side: one comlink proxy per announced thread. */
export class ControlPlane {
  readonly #threads = new Map<number, { remote: Remote<ControlApi>; port: MessagePort }>();

  /** Takes a thread's announcement. */
  accept(message: ControlAnnouncement): void {
    const port = message.port;
    const remote = wrap<ControlApi>(kEndpoint(port));
    port.unref();
    this.#threads.get(message.threadId)?.port.close();
    this.#threads.set(message.threadId, { remote, port });
  }

  /** Forgets threads not in `alive` (they exited). */
  prune(alive: ReadonlySet<number>): void {
    for (const [threadId, entry] of this.#threads) {
      if (!alive.has(threadId)) {
        entry.port.close();
        this.#threads.delete(threadId);
      }
    }
  }

  /** Thread ids with a control port. */
  get threadIds(): number[] {
    return [...this.#threads.keys()];
  }

  /**
   * Calls `fn` on every connected thread; a thread that does not answer within `timeoutMs` (it
   * died or hangs) or fails is left out of the answers, never awaited forever.
   */
  async each<T>(fn: (remote: Remote<ControlApi>) => Promise<T>, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T[]> {
    const timeoutMs = options.timeoutMs ?? 2_000;
    const calls = [...this.#threads.values()].map(({ remote }) => bounded(fn(remote), timeoutMs, options.signal));
    const settled = await Promise.allSettled(calls);
    options.signal?.throwIfAborted();
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** Closes every port. */
  close(): void {
    for (const entry of this.#threads.values()) entry.port.close();
    this.#threads.clear();
  }
}

function bounded<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      finish(() => reject(new SluiceError(ErrorCode.Aborted, 'A pool control call was aborted', { cause: signal?.reason })));
    const timer = setLongTimeout(
      () =>
        finish(() =>
          reject(new SluiceError(ErrorCode.ActivationTimeout, `A pool thread did not answer a control call within ${timeoutMs} ms`)),
        ),
      timeoutMs,
    );
    // Not unref'd: the ports are, so this timer is what keeps the process up while a call is out.
    const finish = (settle: () => void): void => {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}

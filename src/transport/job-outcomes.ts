/**
 * How a posting process learns that a job ended elsewhere: it follows the flow's outcome stream
 * (every commit that brings a job's count to zero, and every dead letter, adds one) from where it
 * started, and settles whoever waits for that job. Give it a connection of its own: it blocks.
 * @module
 */
import type { Redis } from 'ioredis';
import type { FlowKeys } from './stream-keys.ts';

/** How a job ended. */
export interface JobOutcome {
  readonly jobId: string;
  readonly status: 'completed' | 'failed';
  /** For a failed job: the error code and message. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** Follows one flow's outcome stream. */
export class JobOutcomes {
  readonly #redis: Redis;
  readonly #keys: FlowKeys;
  readonly #blockMs: number;
  readonly #waiters = new Map<string, Array<(outcome: JobOutcome) => void>>();
  #cursor = '$';
  #running: Promise<void> | undefined;
  #stopping = false;
  /** Rounds that failed on Redis itself; each is retried. */
  errors = 0;

  constructor(redis: Redis, keys: FlowKeys, options: { blockMs?: number } = {}) {
    this.#redis = redis;
    this.#keys = keys;
    this.#blockMs = options.blockMs ?? 100;
  }

  /**
   * Starts following from the stream's current end (outcomes added before are not seen: start
   * it before posting). Resolves once the starting point is fixed.
   */
  async start(): Promise<void> {
    if (this.#running !== undefined) return;
    // The last id now, so an outcome added between here and the first read is not missed.
    const last = (await this.#redis.xrevrange(this.#keys.jobs, '+', '-', 'COUNT', 1))[0];
    this.#cursor = last === undefined ? '0-0' : last[0];
    this.#running = this.#loop();
  }

  /** Resolves with `jobId`'s outcome when it arrives. */
  wait(jobId: string): Promise<JobOutcome> {
    return new Promise((resolve) => {
      const list = this.#waiters.get(jobId);
      if (list === undefined) this.#waiters.set(jobId, [resolve]);
      else list.push(resolve);
    });
  }

  /** Jobs someone waits for. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Stops following; resolves when the loop has ended. Waiters left stay pending. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        const reply = (await this.#redis.call('XREAD', 'COUNT', 256, 'BLOCK', this.#blockMs, 'STREAMS', this.#keys.jobs, this.#cursor)) as
          | Array<[string, Array<[string, string[]]>]>
          | Array<string | Array<[string, string[]]>>
          | null;
        failures = 0;
        if (reply === null || reply.length === 0) continue;
        const entries = (Array.isArray(reply[0]) ? (reply[0] as [string, Array<[string, string[]]>])[1] : reply[1]) as Array<
          [string, string[]]
        >;
        for (const [id, fields] of entries) {
          this.#cursor = id;
          this.#settle(fields);
        }
      } catch {
        this.errors++;
        failures++;
        if (!this.#stopping) await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** Math.min(failures, 6))));
      }
    }
  }

  #settle(fields: readonly string[]): void {
    const get = (name: string): string | undefined => {
      for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
      return undefined;
    };
    const jobId = get('job');
    if (jobId === undefined) return;
    const waiters = this.#waiters.get(jobId);
    if (waiters === undefined) return;
    this.#waiters.delete(jobId);
    const status = get('status') === 'failed' ? 'failed' : 'completed';
    const outcome: JobOutcome =
      status === 'failed' ? { jobId, status, error: { code: get('code') ?? '', message: get('message') ?? '' } } : { jobId, status };
    for (const resolve of waiters) resolve(outcome);
  }
}

/**
 * How a posting process learns that a job ended elsewhere: it follows the flow's outcome stream
 * (a failed job's entry, or one entry for the jobs one step completed) from where it started,
 * and settles whoever waits for those jobs. Give it a connection of its own: it blocks.
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

type Listener = (outcome: JobOutcome) => void;

/** Follows one flow's outcome stream. */
export class JobOutcomes {
  readonly #redis: Redis;
  readonly #keys: FlowKeys;
  readonly #blockMs: number;
  /** Who listens for each job's outcome: one listener, or several. */
  readonly #waiters = new Map<string, Listener | Listener[]>();
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
    return new Promise((resolve) => this.listen(jobId, resolve));
  }

  /** Calls `listener` once with `jobId`'s outcome when it arrives (no promise: one per posted job adds up). */
  listen(jobId: string, listener: Listener): void {
    const known = this.#waiters.get(jobId);
    if (known === undefined) this.#waiters.set(jobId, listener);
    else if (Array.isArray(known)) known.push(listener);
    else this.#waiters.set(jobId, [known, listener]);
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

  /** One outcome entry: a failed job (with its error), or one or more completed ones. */
  #settle(fields: readonly string[]): void {
    let status: string | undefined;
    let code = '';
    let message = '';
    const jobs: string[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i];
      const value = fields[i + 1] as string;
      if (name === 'job') jobs.push(value);
      else if (name === 'status') status = value;
      else if (name === 'code') code = value;
      else if (name === 'message') message = value;
    }
    for (const jobId of jobs) {
      const waiters = this.#waiters.get(jobId);
      if (waiters === undefined) continue;
      this.#waiters.delete(jobId);
      const outcome: JobOutcome = status === 'failed' ? { jobId, status, error: { code, message } } : { jobId, status: 'completed' };
      if (Array.isArray(waiters)) for (const listener of waiters) listener(outcome);
      else waiters(outcome);
    }
  }
}

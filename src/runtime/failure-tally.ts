/**
 * The distinct reasons jobs failed, in the order first seen, with how many jobs failed each way:
 * what a person asks first after a run with failures ("why, where, how often?"), without
 * recording the run or replaying its log.
 */

/**
 * One distinct failure: the same code and routine, and a message of the same shape (the same
 * text once numbers and JSON values in it are set aside, so `bad reading {"no":1}` and
 * `bad reading {"no":2}` count as one).
 *
 * @inline
 */
export interface FailureSummary {
  /** The error code (`SLUICE_ERR_ROUTINE_FAILED`, …). */
  readonly code: string;
  /** The message of the first job that failed this way. */
  readonly message: string;
  /** The routine that failed, when the failure came from one. */
  readonly routineId: string | undefined;
  /** The flow of the jobs. */
  readonly flowId: string;
  /** Jobs that failed this way. */
  readonly jobs: number;
  /** The first of them. */
  readonly firstJobId: string;
}

/**
 * A snapshot of the tally.
 *
 * @inline
 */
export interface FailureTallySnapshot {
  /** The first distinct failures (at most the tally's limit), in the order first seen. */
  readonly distinct: readonly FailureSummary[];
  /** Failed jobs whose failure was not among those (more distinct failures than the limit). */
  readonly otherJobs: number;
  /** Every failed job. */
  readonly total: number;
}

/** A message with the values in it set aside: JSON objects and arrays, quoted strings, numbers. */
export function messageShape(message: string): string {
  return message
    .replace(/\{.*\}|\[.*\]/g, '{…}')
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '"…"')
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, '#');
}

interface FailedJob {
  readonly jobId: string;
  readonly flowId: string;
  readonly error?: { readonly code: string; readonly message: string; readonly details?: Readonly<Record<string, unknown>> } | undefined;
  readonly errors: ReadonlyArray<{ readonly routineId: string; readonly code: string }>;
}

/**
 * Counts failed jobs by their distinct failure.
 *
 * @example
 * ```ts
 * const tally = new FailureTally(10);
 * tally.record(job); // a failed job
 * tally.snapshot().distinct[0]; // { code, message, routineId, flowId, jobs: 1, firstJobId }
 * ```
 */
export class FailureTally {
  readonly #byKey = new Map<string, { summary: Omit<FailureSummary, 'jobs'>; jobs: number }>();
  #otherJobs = 0;
  #total = 0;

  /** @param limit the most distinct failures kept (an integer >= 1, validated by the caller). */
  constructor(readonly limit: number) {}

  /** Counts a failed job. */
  record(job: FailedJob): void {
    this.#total++;
    const code = job.error?.code ?? 'SLUICE_ERR_UNKNOWN';
    const message = job.error?.message ?? 'failed without an error';
    const named = job.error?.details?.routineId;
    const routineId = typeof named === 'string' ? named : (job.errors.find((e) => e.code === code)?.routineId ?? job.errors[0]?.routineId);
    const key = `${job.flowId}\u0000${routineId ?? ''}\u0000${code}\u0000${messageShape(message)}`;
    const found = this.#byKey.get(key);
    if (found !== undefined) found.jobs++;
    else if (this.#byKey.size < this.limit)
      this.#byKey.set(key, { summary: { code, message, routineId, flowId: job.flowId, firstJobId: job.jobId }, jobs: 1 });
    else this.#otherJobs++;
  }

  /** The tally now (copies). */
  snapshot(): FailureTallySnapshot {
    return {
      distinct: [...this.#byKey.values()].map(({ summary, jobs }) => ({ ...summary, jobs })),
      otherJobs: this.#otherJobs,
      total: this.#total,
    };
  }
}

/**
 * Where a flow lives in Redis. Every key of one flow carries the flow id as its hash tag
 * (`{flow}`), so in Redis Cluster they share a slot and one script may touch them all.
 *
 * | key | type | holds |
 * |---|---|---|
 * | `<ns>:{<flow>}:slot:<routine>.<slot>` | stream | the items of one destination slot; one consumer group per routine |
 * | `<ns>:{<flow>}:job:<jobId>` | hash | a job's `inflight` count (queued or running anywhere, plus posters' holds), `status`; expires |
 * | `<ns>:{<flow>}:batch:<id>` | string | the record of one producer batch, so a resent batch adds nothing (expires) |
 * | `<ns>:{<flow>}:jobs` | stream | job outcomes (`job`, `status`, `error`), read by the posting runtime |
 * | `<ns>:{<flow>}:dead` | stream | entries that failed `maxDeliveries` times, with their error |
 * | `<ns>:{<flow>}:errors` | hash | the last error of each entry whose handling failed (`<stream>|<id>`), until it is dead-lettered |
 * @module
 */
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';

/** The keys of one flow under one namespace. */
export class FlowKeys {
  readonly namespace: string;
  readonly flowId: string;
  readonly #prefix: string;

  constructor(namespace: string, flowId: string) {
    for (const [what, value] of [
      ['namespace', namespace],
      ['flow id', flowId],
    ] as const) {
      // A brace would end the hash tag early and scatter the flow's keys across cluster slots.
      if (typeof value !== 'string' || value.length === 0 || /[{}\s]/.test(value)) {
        throw new SluiceError(
          ErrorCode.InvalidArgument,
          `Expected the Redis ${what} to be a non-empty string without braces or spaces, got ${describeValue(value)}`,
          { details: { [what === 'namespace' ? 'namespace' : 'flowId']: value } },
        );
      }
    }
    this.namespace = namespace;
    this.flowId = flowId;
    this.#prefix = `${namespace}:{${flowId}}`;
  }

  /** `<ns>:{<flow>}`: what every key of the flow starts with. */
  get flowPrefix(): string {
    return this.#prefix;
  }

  /** The stream feeding `slot` of `routineId`. */
  slot(routineId: string, slot: string): string {
    return `${this.#prefix}:slot:${routineId}.${slot}`;
  }

  /** A job's hash (`inflight`, `status`). */
  job(jobId: string): string {
    return `${this.#prefix}:job:${jobId}`;
  }

  /** The stream of job outcomes. */
  get jobs(): string {
    return `${this.#prefix}:jobs`;
  }

  /** The record of one producer batch (it makes a resent batch add nothing; expires). */
  batch(id: string): string {
    return `${this.#prefix}:batch:${id}`;
  }

  /** The hash of the last error of entries whose handling failed. */
  get errors(): string {
    return `${this.#prefix}:errors`;
  }

  /** The dead-letter stream. */
  get dead(): string {
    return `${this.#prefix}:dead`;
  }
}

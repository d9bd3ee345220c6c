/**
 * The Redis transport bound to one worker ({@link RedisBinding}): its routes out (one
 * {@link Outbound} queue per distributed slot), its consumers (one per distributed routine, and
 * the partition leases of a partitioned one), the jobs it runs for entries, and the outcomes of
 * the jobs it posted. See redis-transport.ts for the whole picture.
 * @module
 */
import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import { ErrorCode, type ErrorCodeValue, SluiceError } from '../core/errors.ts';
import { JobContext, kPending, kRemote, kRemoteEnded, type RemoteHold } from '../core/job-context.ts';
import { Slot } from '../core/slot.ts';
import type { Jobs } from '../runtime/jobs.ts';
import type { RemoteRoute, TransportBinding, TransportWorker } from '../runtime/transport.ts';
import { JobOutcomes } from './job-outcomes.ts';
import { Outbound } from './outbound.ts';
import { PartitionLeases } from './partition-leases.ts';
import type { RedisTransport, RedisTransportOptions } from './redis-transport.ts';
import { FlowKeys } from './stream-keys.ts';
import { FailedEntry, StreamConsumer, type StreamOutputs } from './stream-consumer.ts';
import { StreamLink, type StreamEntry, type StreamError } from './stream-link.ts';

/** The transport bound to one worker: its routes out, its consumers, its jobs' outcomes. */
export class RedisBinding implements TransportBinding {
  readonly keys: FlowKeys;
  readonly link: StreamLink;
  readonly #transport: RedisTransport;
  readonly #worker: TransportWorker;
  readonly #unbind: () => void;
  readonly #routes = new Map<string, Outbound>();
  /** What jobs this binding runs for entries have sent onwards, committed with the entry. */
  readonly #outboxes = new Map<JobContext, Array<readonly [string, string]>>();
  readonly #consumers: StreamConsumer[] = [];
  readonly #leases: PartitionLeases[] = [];
  #outcomes: JobOutcomes | undefined;
  /** The outcome follower's own connection (it blocks). */
  #outcomesClient: Redis | undefined;
  #outcomesReady: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #releasing = new Set<Promise<void>>();
  readonly consumerName: string;
  /** The job-hash field of this binding's hold on a job. */
  readonly holdField: string;
  readonly #hold: RemoteHold;
  /** Holds to give back in the next round trip. */
  #releases: Array<{ jobId: string; status: 'completed' | 'failed'; error: StreamError | undefined }> = [];
  /** Jobs whose entries carried this binding's hold in Redis (given back when their local work settles). */
  readonly #held = new WeakSet<JobContext>();
  readonly #streams = new Map<string, { suffix: string; slot: string; keyPrefix: string }>();

  constructor(transport: RedisTransport, worker: TransportWorker, unbind: () => void) {
    this.#transport = transport;
    this.#worker = worker;
    this.#unbind = unbind;
    const o = transport.options;
    this.keys = new FlowKeys(o.namespace, worker.flow.id);
    this.link = new StreamLink(transport.client, this.keys, { jobTtlMs: o.jobTtlMs });
    this.consumerName = `${o.consumer}.${worker.workerId}`;
    this.holdField = `hold|${this.consumerName}`;
    this.#hold = {
      localSettled: (job) => {
        if (this.#held.delete(job)) this.#release(job, 'completed');
      },
      endedHere: (job) => {
        if (job.status !== 'completed') this.#release(job, 'failed');
        this.#held.delete(job);
      },
    };
  }

  route(routineId: string, slot: string): RemoteRoute {
    const key = `${routineId}.${slot}`;
    let route = this.#routes.get(key);
    if (route === undefined) {
      const entry = this.#worker.flow.routines.find((e) => e.id === routineId);
      const spec = entry?.routine.slots.find((s) => s.name === slot);
      if (entry?.distributed === undefined || spec === undefined) {
        throw new SluiceError(ErrorCode.InvalidArgument, `${key} of flow "${this.#worker.flow.id}" is not a slot of a distributed routine`);
      }
      route = new Outbound(this, routineId, new Slot<Jobs>(routineId, spec), entry.distributed.partitionKey);
      this.#routes.set(key, route);
    }
    return route;
  }

  /** The streams of `routineId.slot`: the slot's own, then one per partition when it is partitioned. */
  streamsOf(routineId: string, slot: string, partitioned: boolean): string[] {
    const base = this.keys.slot(routineId, slot);
    if (!partitioned) return [base];
    const out = [base];
    for (let p = 0; p < this.#transport.options.partitions; p++) out.push(`${base}#p${p}`);
    return out;
  }

  /** The stream an item with `key` goes to. */
  streamFor(base: string, key: string | undefined): string {
    if (key === undefined) return base;
    return `${base}#p${partitionOf(key, this.#transport.options.partitions)}`;
  }

  get options(): Readonly<Required<RedisTransportOptions>> {
    return this.#transport.options;
  }

  /** The outbox of the job set when it is one this binding runs for an entry. */
  outboxOf(jobs: Jobs): Array<readonly [string, string]> | undefined {
    if (this.#outboxes.size === 0) return undefined;
    if (jobs instanceof JobContext) return this.#outboxes.get(jobs);
    for (const job of jobs) {
      const box = this.#outboxes.get(job);
      if (box !== undefined) return box;
    }
    return undefined;
  }

  /**
   * Marks `job` as having work elsewhere: it completes when Redis says so, not when its local work
   * settles. Returns the hold field its entry must carry: none when everything the job still has
   * here is the `sending` items about to be added together (then Redis counts them all at once and
   * nothing here can add more), else this binding's hold, added with whichever entry arrives first
   * and given back when the job's local work settles.
   */
  holdFor(job: JobContext, sending: number): string {
    if (job[kRemote] === undefined) {
      job[kRemote] = this.#hold;
      this.#whenEnded(job);
    }
    if (!this.#held.has(job) && job[kPending] <= sending) return '';
    this.#held.add(job);
    return this.holdField;
  }

  /** Ends `job` here when its outcome arrives (the outcome stream is followed before anything is sent: see Outbound). */
  #whenEnded(job: JobContext): void {
    if (this.#outcomes === undefined) void this.outcomesReady();
    (this.#outcomes as JobOutcomes).listen(job.jobId, (outcome) =>
      job[kRemoteEnded](
        outcome.status === 'failed'
          ? new SluiceError(
              (outcome.error?.code ?? ErrorCode.RoutineFailed) as ErrorCodeValue,
              outcome.error?.message ?? 'failed in another process',
              { details: { jobId: job.jobId, remote: true } },
            )
          : undefined,
      ),
    );
  }

  /** Resolves once the outcome stream is followed (before any hold can be released). */
  outcomesReady(): Promise<void> {
    if (this.#outcomesReady === undefined) {
      this.#outcomesClient = this.#transport.client.duplicate();
      this.#outcomesClient.on('error', () => undefined); // its rounds retry; health reports the connection
      this.#outcomes = new JobOutcomes(this.#outcomesClient, this.keys);
      this.#outcomesReady = this.#outcomes.start();
    }
    return this.#outcomesReady;
  }

  /** Gives back this binding's hold on `job` in Redis, with the others of the same turn (one round trip). */
  #release(job: JobContext, status: 'completed' | 'failed'): void {
    const error = job.error === undefined ? undefined : { code: job.error.code, message: job.error.message };
    this.#releases.push({ jobId: job.jobId, status, error });
    if (this.#releases.length === 1) setImmediate(() => this.#flushReleases());
  }

  #flushReleases(): void {
    const releases = this.#releases;
    this.#releases = [];
    const releasing = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.link.releaseMany(releases, this.holdField);
          return;
        } catch {
          // Redis is away: the holds stay until it is back (the jobs wait, nothing is lost); a
          // release sent twice gives back nothing more.
          if (this.#stopping !== undefined && attempt > 50) return;
          await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** Math.min(attempt, 6))));
        }
      }
    })();
    this.#releasing.add(releasing);
    void releasing.finally(() => this.#releasing.delete(releasing));
  }

  start(): void {
    const o = this.#transport.options;
    if (!o.consume) return;
    for (const entry of this.#worker.flow.routines) {
      if (entry.distributed === undefined) continue;
      const partitioned = entry.distributed.partitionKey !== undefined;
      const bases: string[] = [];
      const partitions: string[] = [];
      for (const spec of entry.routine.slots) {
        const [base, ...parts] = this.streamsOf(entry.id, spec.name, partitioned);
        bases.push(base as string);
        partitions.push(...parts);
      }
      const handler = (streamEntry: StreamEntry) => this.#handle(entry.id, streamEntry);
      const common = {
        group: entry.id,
        consumer: this.consumerName,
        count: o.concurrency,
        claimIdleMs: o.claimIdleMs,
        maxDeliveries: o.maxDeliveries,
      };
      const consumer = new StreamConsumer(this.link, { ...common, streams: bases }, handler);
      this.#consumers.push(consumer);
      consumer.start();
      if (partitions.length > 0) {
        // Each partition is owned by one process at a time and handled in order there.
        const leases = new PartitionLeases(this.link, {
          group: entry.id,
          consumer: this.consumerName,
          streams: partitions,
          leaseMs: o.leaseMs,
          count: o.concurrency,
          maxDeliveries: o.maxDeliveries,
          handler,
        });
        this.#leases.push(leases);
        leases.start();
      }
    }
  }

  /** Runs one entry here as a job; its outputs are committed with the entry once it has ended. */
  async #handle(routineId: string, entry: StreamEntry): Promise<StreamOutputs | FailedEntry> {
    const { suffix, slot, keyPrefix } = this.#streamInfo(routineId, entry.stream);
    let data: unknown;
    try {
      data = JSON.parse(entry.data);
    } catch (error) {
      return new FailedEntry({
        code: ErrorCode.NotSerializable,
        message: `entry ${entry.id} of ${suffix} is not JSON: ${(error as Error).message}`,
      });
    }
    let jobId = `${entry.jobId}@${suffix}:${entry.id}`;
    if (this.#worker.hasJob(jobId)) jobId = `${jobId}~${entry.deliveries}-${nanoid(4)}`;
    const metadata = { originJobId: entry.jobId, idempotencyKey: keyPrefix + entry.id, deliveries: entry.deliveries };
    const outbox: Array<readonly [string, string]> = [];
    // Throws when the worker stopped (the runtime closes): the entry stays pending for another process.
    const job = this.#worker.run(routineId, slot, data, jobId, metadata);
    this.#outboxes.set(job, outbox);
    await job.done();
    this.#outboxes.delete(job);
    if (job.status === 'completed') return outbox;
    if (job.status === 'cancelled') {
      // Cancelled here (this worker stopping): another process takes it once it is idle.
      throw job.error ?? new SluiceError(ErrorCode.JobCancelled, `job ${job.jobId} was cancelled`);
    }
    return new FailedEntry({ code: job.error?.code ?? ErrorCode.RoutineFailed, message: job.error?.message ?? 'failed' });
  }

  /** Names derived from a stream of `routineId`: `<routine>.<slot>[#p<n>]`, the slot, how idempotency keys start. */
  #streamInfo(routineId: string, stream: string): { suffix: string; slot: string; keyPrefix: string } {
    let info = this.#streams.get(stream);
    if (info === undefined) {
      const suffix = stream.slice(stream.lastIndexOf(':slot:') + 6);
      const slot = suffix.slice(routineId.length + 1).replace(/#p\d+$/, '');
      info = { suffix, slot, keyPrefix: `${this.keys.flowId}/${suffix}/` };
      this.#streams.set(stream, info);
    }
    return info;
  }

  /** Measures every route's backlog again (errors are left to the next measure). */
  measureBacklog(): void {
    for (const route of this.#routes.values()) route.credit.refresh().catch(() => undefined);
  }

  counters(): {
    sent: number;
    handled: number;
    committed: number;
    claimed: number;
    deadLettered: number;
    unsent: number;
    backlog: Record<string, number>;
  } {
    let sent = 0;
    let unsent = 0;
    const backlog: Record<string, number> = {};
    for (const [key, route] of this.#routes) {
      sent += route.sent;
      unsent += route.slot.length + route.slot.waiting;
      backlog[`${this.keys.flowId}/${key}`] = route.credit.backlog;
    }
    let handled = 0;
    let committed = 0;
    let claimed = 0;
    let deadLettered = 0;
    for (const c of [...this.#consumers.map((x) => x.stats), ...this.#leases.map((x) => x.stats)]) {
      handled += c.handled;
      committed += c.committed;
      claimed += c.claimed;
      deadLettered += c.dead;
    }
    return { sent, handled, committed, claimed, deadLettered, unsent, backlog };
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all([...this.#consumers.map((c) => c.stop()), ...this.#leases.map((l) => l.stop())]);
      await Promise.all([...this.#routes.values()].map((route) => route.flushed()));
      await Promise.all([...this.#releasing]);
      await this.#outcomes?.stop();
      this.#outcomesClient?.disconnect();
      this.#unbind();
    })();
    return this.#stopping;
  }

  /** Stops following outcomes and disconnects its own connections (after `stop`). */
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }
}

/** A stable partition for `key`: FNV-1a. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

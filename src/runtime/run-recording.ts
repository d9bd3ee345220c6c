/**
 * The durable recording of a run: opens the event log (or takes the one given), resumes the
 * run's sequence from it, and taps the bus with a `DurableSink` for the recorded topics (through
 * a {@link RecordingTap}, which also packs the completed jobs the runtime hands it). Closing
 * hands over the last pack, detaches the tap, flushes the sink and closes a log it opened.
 */
import type { DisposableHandle } from '../core/disposable.ts';
import type { BusEvent, EventBus } from '../bus/index.ts';
import type { Clock } from '../core/clock.ts';
import type { SluiceError } from '../core/errors.ts';
import { DurableSink, SqliteEventLog, kDefaultRetention, type EventLog } from '../store/index.ts';
import type { RecordOptions } from './runtime-options.ts';
import { RecordingTap } from './recording-tap.ts';
import { kDefaultRecordedTopics } from './runtime-events.ts';

/** The topic of the event that marks a run whose recording lost events (written when the log still can). */
export const kRecordingFailedTopic = 'run.recording_failed';

/** What closing a recording found. */
export interface RecordingOutcome {
  /** True when every recorded event was committed. */
  readonly flushed: boolean;
  /** Events that were published for recording but are not in the log. */
  readonly notPersisted: number;
  /** Why, when events were not persisted: the log's last error. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** An open recording. */
export class RunRecording {
  readonly sink: DurableSink;
  /** The bus sink in front of `sink`; completed jobs only the recording listens to are packed into it. */
  readonly tap: RecordingTap;
  readonly #log: EventLog;
  readonly #ownsLog: boolean;
  readonly #attached: DisposableHandle;
  readonly #bus: EventBus;
  readonly #runId: string;
  readonly #record: RecordOptions;

  private constructor(
    bus: EventBus,
    runId: string,
    record: RecordOptions,
    log: EventLog,
    ownsLog: boolean,
    sink: DurableSink,
    tap: RecordingTap,
    attached: DisposableHandle,
  ) {
    this.#bus = bus;
    this.#runId = runId;
    this.#record = record;
    this.#log = log;
    this.#ownsLog = ownsLog;
    this.sink = sink;
    this.tap = tap;
    this.#attached = attached;
  }

  /** Events the recording took so far: those the sink accepted and the jobs still being packed. */
  get taken(): number {
    return this.sink.stats().accepted + this.tap.pending;
  }

  /** Opens the log, applies the retention, resumes `runId`'s sequence on `bus` and attaches the sink. */
  static async open(bus: EventBus, runId: string, record: RecordOptions, clock: Clock): Promise<RunRecording> {
    const ownsLog = typeof record.log === 'string';
    const log = typeof record.log === 'string' ? await SqliteEventLog.open({ path: record.log }) : record.log;
    try {
      await applyRetention(log, record, runId);
      bus.resumeSequence(runId, await log.lastSeq(runId));
      const sink = new DurableSink({ ...record.sink, log, clock });
      // Failed commits are retried by the sink and show in the store's health; they are reported
      // on the live bus (`store.error`) rather than as process warnings.
      sink.onError((error) => {
        if (!bus.isClosed && bus.hasSubscribers('store.error'))
          bus.publish('store.error', { code: error.code, message: error.message }, { runId });
      });
      const tap = new RecordingTap(sink, runId, clock, bus.wallClock);
      const attached = bus.addSink(tap, { topics: record.topics ?? kDefaultRecordedTopics });
      return new RunRecording(bus, runId, record, log, ownsLog, sink, tap, attached);
    } catch (error) {
      if (ownsLog) await log.close();
      throw error;
    }
  }

  /**
   * Detaches, flushes (at most `timeout` ms) and closes. When events could not be persisted,
   * the run is marked failed in the log where the log still takes a write.
   */
  async close(timeout: number): Promise<RecordingOutcome> {
    this.tap.close();
    this.#attached.dispose();
    const result = await this.sink.close({ timeout });
    const notPersisted = result.pending + result.lost;
    const error = notPersisted > 0 ? this.sink.health().lastError : undefined;
    if (notPersisted > 0) await this.#markFailed(notPersisted, error);
    else await applyRetention(this.#log, this.#record, this.#runId).catch(() => undefined);
    if (this.#ownsLog) await this.#log.close().catch(() => undefined);
    return { flushed: result.flushed, notPersisted, ...(error === undefined ? {} : { error: describeStoreError(error) }) };
  }

  async #markFailed(notPersisted: number, error: SluiceError | undefined): Promise<void> {
    const runId = this.#runId;
    const event: BusEvent = {
      runId,
      seq: this.#bus.lastSeq(runId) + 1,
      time: new Date().toISOString(),
      topic: kRecordingFailedTopic,
      payload: { runId, notPersisted, ...(error === undefined ? {} : { error: describeStoreError(error) }) },
    };
    // Best effort: a full or read-only disk refuses this too, and the caller reports it anyway.
    await Promise.race([this.#log.append([event]).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }
}

/** Prunes `log` to the record options' retention (the default when none is given), keeping `runId`. */
async function applyRetention(log: EventLog, record: RecordOptions, runId: string): Promise<void> {
  if (record.retention === false) return;
  const { keepRuns, maxBytes } = { ...kDefaultRetention, ...record.retention };
  await log.prune({ keepRuns, maxBytes, except: [runId] });
}

/** A store error as one line: its message and, when SQLite gave one, its result code. */
function describeStoreError(error: SluiceError): { code: string; message: string } {
  const sqlite = error.details.sqliteCode;
  return { code: error.code, message: typeof sqlite === 'string' ? `${error.message} (${sqlite})` : error.message };
}

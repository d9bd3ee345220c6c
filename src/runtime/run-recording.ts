/**
 * The durable recording of a run: opens the event log (or takes the one given), resumes the
 * run's sequence from it, and taps the bus with a `DurableSink` for the recorded topics. Closing
 * detaches the tap, flushes the sink and closes a log it opened.
 */
import type { EventBus } from '../bus/index.ts';
import type { Clock } from '../core/clock.ts';
import { DurableSink, SqliteEventLog, type EventLog } from '../store/index.ts';
import type { RecordOptions } from './runtime-options.ts';
import { kDefaultRecordedTopics } from './runtime-events.ts';

/** An open recording. */
export class RunRecording {
  readonly sink: DurableSink;
  readonly #log: EventLog;
  readonly #ownsLog: boolean;
  readonly #tap: { dispose(): void };

  private constructor(log: EventLog, ownsLog: boolean, sink: DurableSink, tap: { dispose(): void }) {
    this.#log = log;
    this.#ownsLog = ownsLog;
    this.sink = sink;
    this.#tap = tap;
  }

  /** Opens the log, resumes `runId`'s sequence on `bus` and attaches the sink. */
  static async open(bus: EventBus, runId: string, record: RecordOptions, clock: Clock): Promise<RunRecording> {
    const ownsLog = typeof record.log === 'string';
    const log = typeof record.log === 'string' ? await SqliteEventLog.open({ path: record.log }) : record.log;
    try {
      bus.resumeSequence(runId, await log.lastSeq(runId));
      const sink = new DurableSink({ ...record.sink, log, clock });
      // Failed commits are retried by the sink and show in the store's health; they are reported
      // on the live bus (`store.error`) rather than as process warnings.
      sink.onError((error) => {
        if (!bus.isClosed && bus.hasSubscribers('store.error')) bus.publish('store.error', { code: error.code, message: error.message }, { runId });
      });
      const tap = bus.addSink(sink, { topics: record.topics ?? kDefaultRecordedTopics });
      return new RunRecording(log, ownsLog, sink, tap);
    } catch (error) {
      if (ownsLog) await log.close();
      throw error;
    }
  }

  /** Detaches, flushes (at most `timeout` ms) and closes; true when every event was committed. */
  async close(timeout: number): Promise<boolean> {
    this.#tap.dispose();
    const result = await this.sink.close({ timeout });
    if (this.#ownsLog) await this.#log.close();
    return result.flushed;
  }
}

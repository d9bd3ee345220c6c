/**
 * The consumer side of heartbeats: tells a run that is `active` (events flowing) from one that
 * is `quiet` (only heartbeats) from one that is `stalled` (not even heartbeats), and counts the
 * events a consumer missed (gaps in `seq`).
 */
import { type Clock, realClock } from '../core/clock.ts';
import type { BusEvent } from './bus-event.ts';
import { failOption } from './bus-options.ts';
import { HeartbeatTopic, type HeartbeatPayload } from './heartbeat.ts';

/**
 * - `unknown`: no heartbeat seen yet for the run, so silence means nothing.
 * - `active`: a non-heartbeat event arrived within the last heartbeat interval.
 * - `quiet`: heartbeats arrive on time but nothing else does.
 * - `stalled`: no heartbeat for more than `stallFactor` intervals.
 * - `stopped`: the run said it ended (`run.stopped`); its silence is expected, for good.
 */
export type Liveness = 'unknown' | 'active' | 'quiet' | 'stalled' | 'stopped';

/** Options of {@link LivenessMonitor}. */
export interface LivenessMonitorOptions {
  /**
   * Missed intervals after which a run counts as stalled.
   * @default 2.5
   */
  stallFactor?: number;
  /**
   * Topics that mean the run ended: after one, the run reads `stopped`, never `stalled`.
   * @default ['run.stopped']
   */
  stoppedTopics?: readonly string[];
  /**
   * Source of time (the same clock the heartbeats use in tests).
   * @default realClock
   */
  clock?: Clock;
}

/** What the monitor knows of one run: a snapshot. */
export interface RunLiveness {
  readonly runId: string;
  readonly status: Liveness;
  /** The highest seq seen. */
  readonly lastSeq: number;
  /** Events that never arrived (seq gaps), e.g. lost to drop-oldest. */
  readonly missed: number;
}

interface RunState {
  lastSeq: number;
  missed: number;
  lastEventAt: number | undefined;
  lastBeatAt: number | undefined;
  intervalMs: number;
  stopped: boolean;
}

/**
 * Watches the events of runs and reports their liveness.
 *
 * @example
 * ```ts
 * const monitor = new LivenessMonitor();
 * bus.subscribe('**', (event) => monitor.observe(event));
 * monitor.status('run-1'); // 'active' | 'quiet' | 'stalled' | 'unknown'
 * ```
 */
export class LivenessMonitor {
  readonly #runs = new Map<string, RunState>();
  readonly #stallFactor: number;
  readonly #stoppedTopics: ReadonlySet<string>;
  readonly #clock: Clock;

  constructor(options: LivenessMonitorOptions = {}) {
    const stallFactor = options.stallFactor ?? 2.5;
    if (typeof stallFactor !== 'number' || !(stallFactor >= 1) || !Number.isFinite(stallFactor)) {
      failOption('stallFactor', 'a finite number >= 1', stallFactor);
    }
    this.#stallFactor = stallFactor;
    const stoppedTopics = options.stoppedTopics ?? ['run.stopped'];
    if (!Array.isArray(stoppedTopics) || stoppedTopics.some((t) => typeof t !== 'string'))
      failOption('stoppedTopics', 'an array of topics', stoppedTopics);
    this.#stoppedTopics = new Set(stoppedTopics);
    this.#clock = options.clock ?? realClock;
  }

  /** Records one event (any topic). */
  observe(event: BusEvent): void {
    let run = this.#runs.get(event.runId);
    if (run === undefined) {
      run = { lastSeq: event.seq - 1, missed: 0, lastEventAt: undefined, lastBeatAt: undefined, intervalMs: 0, stopped: false };
      this.#runs.set(event.runId, run);
    }
    if (event.seq > run.lastSeq + 1) run.missed += event.seq - run.lastSeq - 1;
    if (event.seq > run.lastSeq) run.lastSeq = event.seq;
    const now = this.#clock.now();
    if (event.topic === HeartbeatTopic) {
      const beat = event.payload as HeartbeatPayload;
      run.lastBeatAt = now;
      run.intervalMs = beat.intervalMs;
      // Events between the previous beat and this one that never reached us.
      if (beat.lastSeq > run.lastSeq) run.missed += beat.lastSeq - run.lastSeq;
    } else {
      run.lastEventAt = now;
      if (this.#stoppedTopics.has(event.topic)) run.stopped = true;
    }
  }

  /** The liveness of `runId` now. */
  status(runId: string): Liveness {
    const run = this.#runs.get(runId);
    if (run?.stopped === true) return 'stopped';
    if (run === undefined || run.lastBeatAt === undefined) return 'unknown';
    const now = this.#clock.now();
    if (now - run.lastBeatAt > this.#stallFactor * run.intervalMs) return 'stalled';
    if (run.lastEventAt !== undefined && now - run.lastEventAt <= run.intervalMs) return 'active';
    return 'quiet';
  }

  /** Snapshots of every run seen. */
  runs(): RunLiveness[] {
    return [...this.#runs].map(([runId, run]) => ({ runId, status: this.status(runId), lastSeq: run.lastSeq, missed: run.missed }));
  }

  /** Forgets a run. */
  forget(runId: string): void {
    this.#runs.delete(runId);
  }
}

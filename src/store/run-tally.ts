/**
 * The run registry's facts about a run, read from its events as they are stored: its flow, how
 * its jobs ended, overflows, whether and when it stopped, its heartbeat interval. Both logs fold
 * events with {@link tallyEvent} (the SQLite writer per batch, the memory log per event), and
 * {@link runStatus} turns the facts into a status at read time.
 */

/** Where a recorded run stands. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

/** The topics the registry reads. */
export const RunTopic = {
  WorkerStarted: 'worker.started',
  JobCompleted: 'job.completed',
  JobFailed: 'job.failed',
  JobCancelled: 'job.cancelled',
  SlotOverflow: 'slot.overflow',
  BusOverflow: 'bus.overflow',
  Heartbeat: 'run.heartbeat',
  Started: 'run.started',
  Stopped: 'run.stopped',
  RecordingFailed: 'run.recording_failed',
} as const;

/**
 * A run with no event for this long after its heartbeat promised one (or for
 * {@link kSilentRunMs} when it sent no heartbeat) died without `run.stopped`: `interrupted`.
 */
export const kStallFactor = 3;
/** How long a run without heartbeats may be silent before it counts as interrupted, ms. */
export const kSilentRunMs = 60_000;

/** Counts and facts of one run, as folded from its events. */
export interface RunTally {
  flow: string | undefined;
  jobsCompleted: number;
  jobsFailed: number;
  jobsCancelled: number;
  /** Failed jobs whose item was evicted by a `dropOldest` slot. */
  jobsDropped: number;
  /** Slot overflows plus events the bus dropped for slow subscribers. */
  overflows: number;
  stoppedTime: string | undefined;
  heartbeatMs: number | undefined;
  recordingFailed: boolean;
  /**
   * The last checkpoint of the batch or run folded: an event that says how many events of the
   * run the recording took up to and including itself (`recorded`), and its position among the
   * events folded here (1 for the first).
   */
  check: { recorded: number; position: number } | undefined;
  /** Events the recording took that the log lacks, as of the last checkpoint (for a tally of a whole run). */
  lost: number;
}

/** Bytes an event takes in the log, as the registry counts them: its fields' characters plus a fixed overhead. */
export function storedSize(runId: string, time: string, topic: string, payload: string | null | undefined): number {
  return runId.length + time.length + topic.length + (payload?.length ?? 0) + kRowOverhead;
}

/** What the registry adds per event to its fields' characters (key, row and index overhead). */
export const kRowOverhead = 16;

/** An empty tally. */
export function newTally(): RunTally {
  return {
    flow: undefined,
    jobsCompleted: 0,
    jobsFailed: 0,
    jobsCancelled: 0,
    jobsDropped: 0,
    overflows: 0,
    stoppedTime: undefined,
    heartbeatMs: undefined,
    recordingFailed: false,
    check: undefined,
    lost: 0,
  };
}

function field(payload: string | null | undefined, name: string): unknown {
  if (payload === null || payload === undefined) return undefined;
  try {
    return (JSON.parse(payload) as Record<string, unknown> | null)?.[name];
  } catch {
    return undefined;
  }
}

/**
 * Folds one stored event (its payload as stored JSON text) into `tally`; other topics are
 * ignored. `position` is the event's place among the events folded into this tally (1-based).
 */
export function tallyEvent(tally: RunTally, topic: string, payload: string | null | undefined, time: string, position: number): void {
  if (topic === RunTopic.Heartbeat || topic === RunTopic.Stopped) {
    const recorded = field(payload, 'recorded');
    if (typeof recorded === 'number' && Number.isInteger(recorded)) {
      tally.check = { recorded, position };
      tally.lost = Math.max(tally.lost, recorded - position);
    }
  }
  switch (topic) {
    case RunTopic.JobCompleted:
      tally.jobsCompleted++;
      return;
    case RunTopic.JobFailed:
      tally.jobsFailed++;
      // A cheap test on the text: only `error.code` carries this code in a job.failed payload.
      if (payload?.includes('"SLUICE_ERR_ITEM_DROPPED"') === true) tally.jobsDropped++;
      return;
    case RunTopic.JobCancelled:
      tally.jobsCancelled++;
      return;
    case RunTopic.SlotOverflow:
      tally.overflows++;
      return;
    case RunTopic.BusOverflow: {
      const dropped = field(payload, 'dropped');
      tally.overflows += typeof dropped === 'number' && dropped > 0 ? dropped : 1;
      return;
    }
    case RunTopic.WorkerStarted: {
      const flow = field(payload, 'flowId');
      if (tally.flow === undefined && typeof flow === 'string') tally.flow = flow;
      return;
    }
    case RunTopic.Started:
    case RunTopic.Heartbeat: {
      // run.started announces the interval (heartbeatMs), each heartbeat repeats it (intervalMs).
      const interval = field(payload, topic === RunTopic.Started ? 'heartbeatMs' : 'intervalMs');
      if (tally.heartbeatMs === undefined && typeof interval === 'number' && interval > 0) tally.heartbeatMs = interval;
      return;
    }
    case RunTopic.Stopped:
      if (tally.stoppedTime === undefined || time > tally.stoppedTime) tally.stoppedTime = time;
      return;
    case RunTopic.RecordingFailed:
      tally.recordingFailed = true;
      return;
    default:
  }
}

/** True when `topic` is one {@link tallyEvent} reads. */
export function isTallied(topic: string): boolean {
  return kTallied.has(topic);
}

const kTallied: ReadonlySet<string> = new Set(Object.values(RunTopic));

/**
 * A run's status now: `completed` (stopped, every job completed), `failed` (stopped with failed
 * or cancelled jobs), `running` (events keep coming, or heartbeats promise them), `interrupted`
 * (no `run.stopped` and silent past its heartbeats: the process died or was killed). A failed
 * recording is a fact of its own (`recordingFailed`), not a status.
 */
export function runStatus(
  tally: Pick<RunTally, 'jobsFailed' | 'jobsCancelled' | 'stoppedTime' | 'heartbeatMs'>,
  lastTime: string,
  now = Date.now(),
): RunStatus {
  if (tally.stoppedTime !== undefined) return tally.jobsFailed + tally.jobsCancelled > 0 ? 'failed' : 'completed';
  const silentMs = now - Date.parse(lastTime);
  const allowedMs = tally.heartbeatMs === undefined ? kSilentRunMs : kStallFactor * tally.heartbeatMs;
  return silentMs > allowedMs ? 'interrupted' : 'running';
}

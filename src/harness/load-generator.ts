/**
 * Posts items into a running flow and records each job's post → end latency, either as fast
 * as the flow takes them (closed loop: at most `window` jobs in flight) or on a fixed schedule
 * (open loop: `rate` posts per second, optionally ramping to `rampTo`). Only numbers are kept:
 * a job is forgotten once its latency is recorded.
 */
import { isSlotQueueFullError } from '../core/errors.ts';
import type { JobContext } from '../core/job-context.ts';
import type { Runtime } from '../runtime/index.ts';
import type { LatencyRecorder } from './latency-recorder.ts';

/** One phase of posting. */
export interface LoadPlan {
  readonly runtime: Runtime;
  readonly flowId: string;
  readonly workerId: string;
  readonly routine: string;
  readonly slot: string;
  /** Item number `i` (the caller cycles its input or generates). */
  readonly item: (i: number) => unknown;
  /** Items to post; with `durationMs`, posting stops at whichever comes first. */
  readonly items: number;
  readonly durationMs: number | undefined;
  readonly rate: number | undefined;
  readonly rampTo: number | undefined;
  readonly window: number;
  readonly recorder: LatencyRecorder | undefined;
  readonly timeoutMs: number;
  readonly onPosted?: (posted: number) => void;
}

/** What one phase did. */
export interface LoadOutcome {
  readonly posted: number;
  readonly refused: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  /** From the first post to the end of the last job, ms. */
  readonly elapsedMs: number;
  /** False when the jobs did not all end within the timeout. */
  readonly drained: boolean;
}

/** Posts per the plan and waits for every posted job to end. */
export async function generateLoad(plan: LoadPlan): Promise<LoadOutcome> {
  const { runtime, flowId, workerId, routine, slot, recorder } = plan;
  let inFlight = 0;
  let posted = 0;
  let refused = 0;
  let completed = 0;
  let failed = 0;
  let cancelled = 0;
  let wakeBelow = -1;
  let wake: (() => void) | undefined;
  const postOptions = { workerId };
  const ended = (job: JobContext, postedAt: number): void => {
    const now = performance.now();
    recorder?.record(now, now - postedAt);
    if (job.status === 'completed') completed++;
    else if (job.status === 'failed') failed++;
    else cancelled++;
    inFlight--;
    if (wake !== undefined && inFlight <= wakeBelow) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const until = (count: number): Promise<void> =>
    inFlight <= count
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wakeBelow = count;
          wake = resolve;
        });
  // Posts one item; false when its slot is full.
  const postOne = (): boolean => {
    const data = plan.item(posted);
    const postedAt = performance.now();
    let job: JobContext;
    try {
      [, job] = runtime.post(flowId, routine, slot, data, postOptions);
    } catch (error) {
      if (isSlotQueueFullError(error)) return false;
      throw error;
    }
    posted++;
    inFlight++;
    void job.done().then((j) => ended(j, postedAt));
    if (plan.onPosted !== undefined && (posted & 1023) === 0) plan.onPosted(posted);
    return true;
  };

  const start = performance.now();
  const deadline = plan.durationMs === undefined ? Number.POSITIVE_INFINITY : start + plan.durationMs;
  if (plan.rate === undefined) {
    const refill = Math.max(0, Math.floor(plan.window / 2));
    while (posted < plan.items && performance.now() < deadline) {
      if (inFlight >= plan.window) await until(refill);
      if (!postOne()) {
        // The input slot is full although the window is not (a cycle, or a small slot):
        // wait for a job to end, or give the scheduler a turn when none is in flight.
        if (inFlight > 0) await until(inFlight - 1);
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  } else {
    const r0 = plan.rate;
    const r1 = plan.rampTo ?? r0;
    const span = plan.durationMs ?? (plan.items / r0) * 1000;
    // Items due after `ms`: the integral of a rate rising linearly from r0 to r1 over `span`.
    const due = (ms: number): number => {
      const t = Math.min(ms, span) / 1000;
      const d = span / 1000;
      return Math.floor(r0 * t + ((r1 - r0) * t * t) / (2 * d));
    };
    let scheduled = 0;
    await new Promise<void>((resolve, reject) => {
      const tick = (): void => {
        try {
          const now = performance.now();
          const target = Math.min(plan.items, due(now - start));
          while (scheduled < target) {
            scheduled++;
            if (!postOne()) refused++;
          }
          if (scheduled >= plan.items || now >= deadline || now - start >= span) {
            resolve();
            return;
          }
          const rateNow = r0 + (r1 - r0) * Math.min(1, (now - start) / span);
          setTimeout(tick, Math.max(1, Math.min(50, 1000 / rateNow)));
        } catch (error) {
          reject(error);
        }
      };
      tick();
    });
  }
  plan.onPosted?.(posted);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drained = await Promise.race([
    until(0).then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), plan.timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return { posted, refused, completed, failed, cancelled, elapsedMs: performance.now() - start, drained };
}

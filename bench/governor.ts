/**
 * The governor under load, two open-loop scenarios on flows/governed.ts, each first on an
 * ungoverned runtime, then on one governed with the default rules and `latencyTargetMs` set to
 * the target, in the same process:
 * - the ramp: 40% → 200% of what one core can serve, four priority classes. Reported: the share
 *   of 250 ms windows whose p99 job latency is over the target, the worst p99, requests completed,
 *   the governor's reversals, peak RSS, requests refused (by priority and code);
 * - the overload step: 2 s at half of capacity, 10 s at 5×, 3 s at half, one priority class.
 *   Reported: the time from the overload's start until every later window's p99 is under the
 *   target, the worst p99 during the overload, requests completed and refused (by code).
 *
 * Run standalone with `node --import tsx bench/governor.ts`, or through `npm run bench`.
 */
import { Governor, type Decision } from '../src/governor/index.ts';
import { ErrorCode, Runtime, isSluiceError } from '../src/index.ts';
import governed from '../flows/governed.ts';
import type { BenchRow } from './inline.ts';
import { percentile, settle, summarize } from './stats.ts';

/** Options of {@link runGovernorBench}. */
export interface GovernorBenchOptions {
  quick?: boolean;
  /** The p99 latency target, ms. */
  targetMs?: number;
  /** CPU cost per request, µs. */
  costUs?: number;
  /** Length of the ramp, ms. */
  rampMs?: number;
  /** Repetitions of the ungoverned/governed pair; medians are reported. */
  repeats?: number;
}

/** One run of a load profile (the ramp or the overload step). */
export interface RampResult {
  governed: boolean;
  offered: number;
  completedDuringRamp: number;
  completed: number;
  shed: Record<string, number>;
  /** Refused posts by error code (shed, throttled, overloaded, slot full). */
  refused: Record<string, number>;
  rejected: number;
  peakRssMb: number;
  windows: Array<{ atMs: number; p99: number; count: number; offeredPerS: number }>;
  overTargetShare: number;
  decisions: Array<{ atMs: number; rule: string; knob: string; action: string; before: number; after: number }>;
  /** Governor decisions that turned a knob back the other way, per 10 s of the run. */
  reversalsPer10s: number;
}

/** How a run offers load: the rate at each moment and the priority of each request. */
interface LoadProfile {
  durationMs: number;
  rate(t: number): number;
  priority(i: number): number;
  /** Wait for what is queued at the end (the ramp) or cancel it (the overload step's ungoverned run). */
  drain: boolean;
}

const kWindowMs = 250;

async function measureCapacity(costUs: number): Promise<number> {
  const runtime = new Runtime({ jobHistoryLimit: 0 });
  runtime.register(governed, { costUs });
  const n = Math.round(200_000 / costUs); // ~0.2 s of work
  const start = performance.now();
  await runtime.postAll(
    'governed',
    'score',
    'in',
    Array.from({ length: n }, (_, i) => ({ id: i, priority: 0, payload: i })),
  );
  await runtime.waitUntilAllJobsFinished();
  const perSecond = n / ((performance.now() - start) / 1000);
  await runtime.close();
  return perSecond;
}

/** Counts the decisions that move a knob opposite to the previous decision on the same knob. */
function reversals(decisions: RampResult['decisions']): number {
  const last = new Map<string, number>();
  let count = 0;
  for (const d of decisions) {
    const direction = Math.sign(d.after - d.before);
    if (direction === 0) continue;
    const previous = last.get(d.knob);
    if (previous !== undefined && previous !== direction) count++;
    last.set(d.knob, direction);
  }
  return count;
}

async function drive(isGoverned: boolean, profile: LoadProfile, targetMs: number, costUs: number): Promise<RampResult> {
  const governor = isGoverned ? new Governor({ intervalMs: 250, latencyTargetMs: targetMs, sensor: () => ({}) }) : undefined;
  const runtime = new Runtime({
    jobHistoryLimit: 0,
    traceLimit: 0,
    historyLimit: 0,
    heartbeatMs: 0,
    ...(governor === undefined ? {} : { governor }),
  });
  runtime.register(governed, { costUs });
  const decisions: RampResult['decisions'] = [];
  const t0 = performance.now();
  governor?.onDecision((d: Decision) =>
    decisions.push({ atMs: performance.now() - t0, rule: d.rule, knob: d.knob, action: d.action, before: d.before, after: d.after }),
  );
  await runtime.start();
  governor?.start();
  const worker = runtime.exec('governed');

  const latencies: Array<{ at: number; ms: number }> = [];
  runtime.bus.subscribe(
    'job.completed',
    (e) => void latencies.push({ at: performance.now() - t0, ms: (e.payload as { durationMs: number }).durationMs }),
    { maxQueue: 1_000_000 },
  );
  let peakRss = process.memoryUsage.rss();
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);

  const shed: Record<string, number> = {};
  const refused: Record<string, number> = {};
  let rejected = 0;
  let offered = 0;
  await new Promise<void>((resolve) => {
    let due = 0;
    let last = 0;
    const tick = (): void => {
      const t = performance.now() - t0;
      due += (profile.rate(t) * (t - last)) / 1000;
      last = t;
      while (due >= 1) {
        due -= 1;
        const priority = profile.priority(offered);
        try {
          runtime.post(
            'governed',
            'score',
            'in',
            { id: offered, priority, payload: offered % 97 },
            { workerId: worker.workerId, priority },
          );
        } catch (error) {
          if (!isSluiceError(error)) throw error;
          refused[error.code] = (refused[error.code] ?? 0) + 1;
          if (error.code === ErrorCode.QueueFull) rejected++;
          else if (error.code === ErrorCode.LoadShed || error.code === ErrorCode.Throttled || error.code === ErrorCode.Overloaded)
            shed[`p${priority}`] = (shed[`p${priority}`] ?? 0) + 1;
          else throw error;
        }
        offered++;
      }
      if (t >= profile.durationMs) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const completedDuringRamp = worker.counters.jobsProcessed;
  await governor?.stop();
  // What is still queued at the end is drained (and its latency counted) before closing, or
  // cancelled when the profile says so (an ungoverned overload leaves minutes of backlog).
  if (profile.drain) await runtime.waitUntilAllJobsFinished({ timeout: 120_000 });
  await new Promise((resolve) => setImmediate(resolve));
  clearInterval(rssTimer);
  const completed = worker.counters.jobsProcessed;
  const end = profile.drain ? (latencies.at(-1)?.at ?? 0) : profile.durationMs;
  await runtime.close({ timeout: 0 });

  const windows: RampResult['windows'] = [];
  for (let w = 0; w * kWindowMs < end; w++) {
    const inWindow = latencies.filter((l) => l.at >= w * kWindowMs && l.at < (w + 1) * kWindowMs).map((l) => l.ms);
    if (inWindow.length > 0)
      windows.push({
        atMs: w * kWindowMs,
        p99: percentile(inWindow, 99),
        count: inWindow.length,
        offeredPerS: profile.rate(w * kWindowMs),
      });
  }
  const over = windows.filter((w) => w.p99 > targetMs).length;
  return {
    governed: isGoverned,
    offered,
    completedDuringRamp,
    completed,
    shed,
    refused,
    rejected,
    peakRssMb: peakRss / 2 ** 20,
    windows,
    overTargetShare: windows.length === 0 ? 0 : over / windows.length,
    decisions,
    reversalsPer10s: (reversals(decisions) * 10_000) / profile.durationMs,
  };
}

/** The ramp: 40% → 200% of capacity over `rampMs`, four priority classes. */
function rampProfile(capacity: number, rampMs: number): LoadProfile {
  return {
    durationMs: rampMs,
    rate: (t) => capacity * (0.4 + 1.6 * Math.min(1, t / rampMs)),
    priority: (i) => i % 4,
    drain: true,
  };
}

const kOverload = { beforeMs: 2_000, overloadMs: 10_000, afterMs: 3_000, factor: 5, calm: 0.5 } as const;

/** The overload step: half of capacity, then 5× capacity for 10 s, then half again; one priority class. */
function overloadProfile(capacity: number): LoadProfile {
  const { beforeMs, overloadMs, afterMs, factor, calm } = kOverload;
  return {
    durationMs: beforeMs + overloadMs + afterMs,
    rate: (t) => capacity * (t >= beforeMs && t < beforeMs + overloadMs ? factor : calm),
    priority: () => 0,
    drain: false,
  };
}

/**
 * From the overload's start, the time until the p99 of every later window is under the target
 * (a run that never gets there reports its whole remaining length), and the worst p99 after it.
 */
function recovery(run: RampResult, targetMs: number): { recoveryMs: number; worstAfterMs: number } {
  const after = run.windows.filter((w) => w.atMs >= kOverload.beforeMs);
  const lastOver = after.findLastIndex((w) => w.p99 > targetMs);
  const recoveredAt = lastOver === -1 ? kOverload.beforeMs : (after[lastOver] as (typeof after)[number]).atMs + kWindowMs;
  const rest = after.filter((w) => w.atMs >= recoveredAt);
  return { recoveryMs: recoveredAt - kOverload.beforeMs, worstAfterMs: Math.max(0, ...rest.map((w) => w.p99)) };
}

/** The rows of one ungoverned/governed pair of ramps. */
function rampRows(ungoverned: RampResult, governedRun: RampResult, targetMs: number, rampMs: number): BenchRow[] {
  const shedTotal = (r: RampResult): number => Object.values(r.shed).reduce((a, b) => a + b, 0);
  const worst = (r: RampResult): number => Math.max(0, ...r.windows.map((w) => w.p99));
  const rampSeconds = rampMs / 1000;
  return [
    {
      scenario: `ramp: windows with p99 over ${targetMs} ms (lower is better)`,
      unit: '%',
      sluice: 100 * governedRun.overTargetShare,
      baseline: 100 * ungoverned.overTargetShare,
      ratio: ungoverned.overTargetShare === 0 ? 0 : governedRun.overTargetShare / ungoverned.overTargetShare,
      spread: 0,
      note: `governed vs ungoverned; windows of ${kWindowMs} ms`,
    },
    {
      scenario: 'ramp: worst window p99',
      unit: 'ms',
      sluice: worst(governedRun),
      baseline: worst(ungoverned),
      ratio: worst(governedRun) / Math.max(1, worst(ungoverned)),
      spread: 0,
      note: 'governed vs ungoverned',
    },
    {
      scenario: 'ramp: requests completed during the ramp',
      unit: 'req/s',
      sluice: governedRun.completedDuringRamp / rampSeconds,
      baseline: ungoverned.completedDuringRamp / rampSeconds,
      ratio: governedRun.completedDuringRamp / Math.max(1, ungoverned.completedDuringRamp),
      spread: 0,
      note: 'throughput kept by the governed run',
    },
    {
      scenario: 'ramp: governor reversals per 10 s',
      unit: 'n',
      sluice: governedRun.reversalsPer10s,
      baseline: 1,
      ratio: governedRun.reversalsPer10s,
      spread: 0,
      note: `decisions turning a knob back the other way; goal at most 1 per 10 s; ${governedRun.decisions.length} decisions`,
    },
    {
      scenario: 'ramp: peak RSS',
      unit: 'MB',
      sluice: governedRun.peakRssMb,
      baseline: ungoverned.peakRssMb,
      ratio: governedRun.peakRssMb / ungoverned.peakRssMb,
      spread: 0,
      note: 'governed vs ungoverned',
    },
    {
      scenario: 'ramp: requests refused (governed) / queued at ramp end (ungoverned)',
      unit: 'req',
      sluice: shedTotal(governedRun),
      baseline: ungoverned.offered - ungoverned.completedDuringRamp,
      ratio: shedTotal(governedRun) / Math.max(1, ungoverned.offered - ungoverned.completedDuringRamp),
      spread: 0,
      note: `last run refused by priority ${JSON.stringify(governedRun.shed)}, by code ${JSON.stringify(governedRun.refused)}`,
    },
  ];
}

/** The rows of one ungoverned/governed pair of overload steps. */
function overloadRows(ungoverned: RampResult, governedRun: RampResult, targetMs: number): BenchRow[] {
  const u = recovery(ungoverned, targetMs);
  const g = recovery(governedRun, targetMs);
  const during = (r: RampResult): number[] =>
    r.windows.filter((w) => w.atMs >= kOverload.beforeMs && w.atMs < kOverload.beforeMs + kOverload.overloadMs).map((w) => w.p99);
  const refusedTotal = (r: RampResult): number => Object.values(r.refused).reduce((a, b) => a + b, 0);
  return [
    {
      scenario: `overload ${kOverload.factor}×: time until p99 stays under ${targetMs} ms`,
      unit: 'ms',
      sluice: g.recoveryMs,
      baseline: u.recoveryMs,
      ratio: g.recoveryMs / Math.max(1, u.recoveryMs),
      spread: 0,
      note: `from the overload's start (${kOverload.overloadMs / 1000} s at ${kOverload.factor}× capacity, one class); goal ≤ 2000`,
    },
    {
      scenario: `overload ${kOverload.factor}×: worst window p99 during the overload`,
      unit: 'ms',
      sluice: Math.max(0, ...during(governedRun)),
      baseline: Math.max(0, ...during(ungoverned)),
      ratio: Math.max(0, ...during(governedRun)) / Math.max(1, ...during(ungoverned)),
      spread: 0,
      note: `governed vs ungoverned; worst p99 after recovery ${Math.round(g.worstAfterMs)} ms`,
    },
    {
      scenario: `overload ${kOverload.factor}×: requests completed`,
      unit: 'req/s',
      sluice: governedRun.completedDuringRamp / ((kOverload.beforeMs + kOverload.overloadMs + kOverload.afterMs) / 1000),
      baseline: ungoverned.completedDuringRamp / ((kOverload.beforeMs + kOverload.overloadMs + kOverload.afterMs) / 1000),
      ratio: governedRun.completedDuringRamp / Math.max(1, ungoverned.completedDuringRamp),
      spread: 0,
      note: 'throughput kept by the governed run',
    },
    {
      scenario: `overload ${kOverload.factor}×: requests refused, every one coded`,
      unit: 'req',
      sluice: refusedTotal(governedRun),
      baseline: refusedTotal(ungoverned),
      ratio: refusedTotal(governedRun) / Math.max(1, governedRun.offered),
      spread: 0,
      note: `share of offered; governed by code ${JSON.stringify(governedRun.refused)}, ungoverned ${JSON.stringify(ungoverned.refused)}`,
    },
  ];
}

/** The median of each figure over repeated pairs, with the governed figure's spread. */
function medianRows(pairs: BenchRow[][], repeats: number): BenchRow[] {
  return (pairs[0] as BenchRow[]).map((row, i) => {
    const of = (pick: (r: BenchRow) => number): number[] => pairs.map((p) => pick(p[i] as BenchRow));
    const governedValues = summarize(of((r) => r.sluice));
    return {
      ...row,
      sluice: governedValues.median,
      baseline: summarize(of((r) => r.baseline)).median,
      ratio: summarize(of((r) => r.ratio)).median,
      spread: governedValues.spread,
      note: `${row.note}; median of ${repeats}`,
    };
  });
}

/**
 * Runs the ramp and the overload step, each ungoverned then governed (`repeats` times, capacity
 * measured before each pair), and returns the median of each figure, with the spread, plus the
 * last pairs' timelines.
 */
export async function runGovernorBench(
  options: GovernorBenchOptions = {},
  log: (line: string) => void = () => {},
): Promise<{ rows: BenchRow[]; runs: RampResult[]; overloadRuns: RampResult[]; capacity: number; targetMs: number }> {
  const targetMs = options.targetMs ?? 50;
  const costUs = options.costUs ?? 100;
  const rampMs = options.rampMs ?? (options.quick === true ? 3_000 : 8_000);
  const repeats = options.repeats ?? (options.quick === true ? 1 : 3);
  await measureCapacity(costUs); // warm-up
  const ramps: BenchRow[][] = [];
  const overloads: BenchRow[][] = [];
  let runs: RampResult[] = [];
  let overloadRuns: RampResult[] = [];
  let capacity = 0;
  for (let r = 0; r < repeats; r++) {
    capacity = await measureCapacity(costUs);
    log(
      `  pair ${r + 1}/${repeats}: capacity ≈ ${Math.round(capacity)} requests/s; ramping 40% → 200% over ${rampMs} ms, then ` +
        `${kOverload.factor}× for ${kOverload.overloadMs} ms; p99 target ${targetMs} ms`,
    );
    const ramp = rampProfile(capacity, rampMs);
    const ungoverned = await drive(false, ramp, targetMs, costUs);
    await settle(200);
    const governedRun = await drive(true, ramp, targetMs, costUs);
    await settle(200);
    ramps.push(rampRows(ungoverned, governedRun, targetMs, rampMs));
    runs = [ungoverned, governedRun];
    const step = overloadProfile(capacity);
    const ungovernedStep = await drive(false, step, targetMs, costUs);
    await settle(500);
    const governedStep = await drive(true, step, targetMs, costUs);
    await settle(200);
    overloads.push(overloadRows(ungovernedStep, governedStep, targetMs));
    overloadRuns = [ungovernedStep, governedStep];
  }
  return { rows: [...medianRows(ramps, repeats), ...medianRows(overloads, repeats)], runs, overloadRuns, capacity, targetMs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printRows, writeResults } = await import('./report.ts');
  const result = await runGovernorBench({ quick: process.argv.includes('--quick') }, (l) => process.stderr.write(`${l}\n`));
  printRows('governor', result.rows);
  process.stderr.write(`  → ${await writeResults('governor', result)}\n`);
}

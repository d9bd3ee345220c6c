/**
 * The governor ramp: an open-loop load on flows/governed.ts ramps from 40% to 200% of what one
 * core can serve, first on an ungoverned runtime, then on a governed one, in the same process.
 * Reported side by side: the share of 250 ms windows whose p99 job latency is over the target,
 * peak RSS, requests completed during the ramp, requests shed (by priority) and the governor's
 * decisions, with the latency timeline for the report.
 *
 * Run standalone with `node --import tsx bench/governor.ts`, or through `npm run bench`.
 */
import { Governor, PolicyRule, type Decision } from '../src/governor/index.ts';
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

/** One run of the ramp. */
export interface RampResult {
  governed: boolean;
  offered: number;
  completedDuringRamp: number;
  completed: number;
  shed: Record<string, number>;
  rejected: number;
  peakRssMb: number;
  windows: Array<{ atMs: number; p99: number; count: number; offeredPerS: number }>;
  overTargetShare: number;
  decisions: Array<{ atMs: number; rule: string; action: string; before: number; after: number }>;
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

async function ramp(
  isGoverned: boolean,
  capacity: number,
  options: Required<Omit<GovernorBenchOptions, 'quick' | 'repeats'>>,
): Promise<RampResult> {
  const { targetMs, costUs, rampMs } = options;
  const governor = isGoverned
    ? new Governor({
        intervalMs: 250,
        sensor: () => ({}),
        rules: [
          new PolicyRule({
            name: 'queue-wait',
            metric: 'queue_wait_ms',
            use: 'value',
            threshold: targetMs * 0.25,
            clearThreshold: targetMs * 0.05,
            action: 'shed_load',
            factor: 1,
            cooldownMs: 250,
            clearAfter: 20,
          }),
        ],
      })
    : undefined;
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
    decisions.push({ atMs: performance.now() - t0, rule: d.rule, action: d.action, before: d.before, after: d.after }),
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
  let rejected = 0;
  let offered = 0;
  const rate = (t: number): number => capacity * (0.4 + 1.6 * Math.min(1, t / rampMs));
  await new Promise<void>((resolve) => {
    let due = 0;
    let last = 0;
    const tick = (): void => {
      const t = performance.now() - t0;
      due += (rate(t) * (t - last)) / 1000;
      last = t;
      while (due >= 1) {
        due -= 1;
        const priority = offered % 4;
        try {
          runtime.post(
            'governed',
            'score',
            'in',
            { id: offered, priority, payload: offered % 97 },
            { workerId: worker.workerId, priority },
          );
        } catch (error) {
          if (isSluiceError(error) && (error.code === ErrorCode.LoadShed || error.code === ErrorCode.Throttled))
            shed[`p${priority}`] = (shed[`p${priority}`] ?? 0) + 1;
          else if (isSluiceError(error) && error.code === ErrorCode.QueueFull) rejected++;
          else throw error;
        }
        offered++;
      }
      if (t >= rampMs) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const completedDuringRamp = worker.counters.jobsProcessed;
  await governor?.stop();
  // What is still queued when the ramp ends is drained (and its latency counted) before closing.
  await runtime.waitUntilAllJobsFinished({ timeout: 120_000 });
  await new Promise((resolve) => setImmediate(resolve));
  clearInterval(rssTimer);
  const completed = worker.counters.jobsProcessed;
  await runtime.close();

  const windows: RampResult['windows'] = [];
  const end = latencies.at(-1)?.at ?? 0;
  for (let w = 0; w * kWindowMs < end; w++) {
    const inWindow = latencies.filter((l) => l.at >= w * kWindowMs && l.at < (w + 1) * kWindowMs).map((l) => l.ms);
    if (inWindow.length > 0)
      windows.push({ atMs: w * kWindowMs, p99: percentile(inWindow, 99), count: inWindow.length, offeredPerS: rate(w * kWindowMs) });
  }
  const over = windows.filter((w) => w.p99 > targetMs).length;
  return {
    governed: isGoverned,
    offered,
    completedDuringRamp,
    completed,
    shed,
    rejected,
    peakRssMb: peakRss / 2 ** 20,
    windows,
    overTargetShare: windows.length === 0 ? 0 : over / windows.length,
    decisions,
  };
}

/** The rows of one ungoverned/governed pair. */
function pairRows(ungoverned: RampResult, governedRun: RampResult, targetMs: number, rampMs: number): BenchRow[] {
  const shedTotal = (r: RampResult): number => Object.values(r.shed).reduce((a, b) => a + b, 0);
  const worst = (r: RampResult): number => Math.max(0, ...r.windows.map((w) => w.p99));
  const rampSeconds = rampMs / 1000;
  return [
    {
      scenario: `windows with p99 over ${targetMs} ms (lower is better)`,
      unit: '%',
      sluice: 100 * governedRun.overTargetShare,
      baseline: 100 * ungoverned.overTargetShare,
      ratio: ungoverned.overTargetShare === 0 ? 0 : governedRun.overTargetShare / ungoverned.overTargetShare,
      spread: 0,
      note: `governed vs ungoverned; windows of ${kWindowMs} ms`,
    },
    {
      scenario: 'worst window p99',
      unit: 'ms',
      sluice: worst(governedRun),
      baseline: worst(ungoverned),
      ratio: worst(governedRun) / Math.max(1, worst(ungoverned)),
      spread: 0,
      note: 'governed vs ungoverned',
    },
    {
      scenario: 'requests completed during the ramp',
      unit: 'req/s',
      sluice: governedRun.completedDuringRamp / rampSeconds,
      baseline: ungoverned.completedDuringRamp / rampSeconds,
      ratio: governedRun.completedDuringRamp / Math.max(1, ungoverned.completedDuringRamp),
      spread: 0,
      note: 'throughput kept by the governed run',
    },
    {
      scenario: 'peak RSS',
      unit: 'MB',
      sluice: governedRun.peakRssMb,
      baseline: ungoverned.peakRssMb,
      ratio: governedRun.peakRssMb / ungoverned.peakRssMb,
      spread: 0,
      note: 'governed vs ungoverned',
    },
    {
      scenario: 'requests shed (governed) / queued at ramp end (ungoverned)',
      unit: 'req',
      sluice: shedTotal(governedRun),
      baseline: ungoverned.offered - ungoverned.completedDuringRamp,
      ratio: shedTotal(governedRun) / Math.max(1, ungoverned.offered - ungoverned.completedDuringRamp),
      spread: 0,
      note: `last run shed by priority ${JSON.stringify(governedRun.shed)}; ${governedRun.decisions.length} governor decisions`,
    },
  ];
}

/**
 * Runs the ramp ungoverned then governed (`repeats` times, capacity measured before each pair)
 * and returns the median of each figure, with the spread, plus the last pair's timelines.
 */
export async function runGovernorBench(
  options: GovernorBenchOptions = {},
  log: (line: string) => void = () => {},
): Promise<{ rows: BenchRow[]; runs: RampResult[]; capacity: number; targetMs: number }> {
  const resolved = {
    targetMs: options.targetMs ?? 50,
    costUs: options.costUs ?? 100,
    rampMs: options.rampMs ?? (options.quick === true ? 3_000 : 8_000),
  };
  const repeats = options.repeats ?? (options.quick === true ? 1 : 3);
  await measureCapacity(resolved.costUs); // warm-up
  const pairs: BenchRow[][] = [];
  let runs: RampResult[] = [];
  let capacity = 0;
  for (let r = 0; r < repeats; r++) {
    capacity = await measureCapacity(resolved.costUs);
    log(
      `  pair ${r + 1}/${repeats}: capacity ≈ ${Math.round(capacity)} requests/s; ramping 40% → 200% over ${resolved.rampMs} ms, p99 ` +
        `target ${resolved.targetMs} ms`,
    );
    const ungoverned = await ramp(false, capacity, resolved);
    await settle(200);
    const governedRun = await ramp(true, capacity, resolved);
    await settle(200);
    pairs.push(pairRows(ungoverned, governedRun, resolved.targetMs, resolved.rampMs));
    runs = [ungoverned, governedRun];
  }
  const rows = (pairs[0] as BenchRow[]).map((row, i) => {
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
  return { rows, runs, capacity, targetMs: resolved.targetMs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printRows, writeResults } = await import('./report.ts');
  const result = await runGovernorBench({ quick: process.argv.includes('--quick') }, (l) => process.stderr.write(`${l}\n`));
  printRows('governor ramp', result.rows);
  process.stderr.write(`  → ${await writeResults('governor', result)}\n`);
}

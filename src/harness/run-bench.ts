/**
 * The benchmark harness: runs a flow module over a sweep of pool configurations (threads ×
 * dispatch batch), each warmed up and then measured several times, beside an optional baseline
 * measured in the same process, and returns a {@link BenchResult}.
 */
import { availableParallelism } from 'node:os';
import type { Governor } from '../governor/index.ts';
import { Runtime } from '../runtime/index.ts';
import { resolveBenchOptions, type BenchOptions, type ResolvedBenchOptions } from './bench-options.ts';
import type { BenchResult, ConfigurationResult, DecisionPoint, RepetitionResult, Summary, TimelinePoint } from './bench-result.ts';
import { LatencyRecorder, type LatencyPercentiles } from './latency-recorder.ts';
import { generateLoad } from './load-generator.ts';
import { ResourceSampler, type ResourceSample } from './resource-sampler.ts';

/**
 * Median, extremes and relative spread of repeated measurements.
 *
 * @example
 * ```ts
 * summarize([90, 100, 110]); // { median: 100, min: 90, max: 110, spread: 0.2, values: [90, 100, 110] }
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const median =
    sorted.length === 0
      ? Number.NaN
      : sorted.length % 2 === 1
        ? (sorted[(sorted.length - 1) / 2] as number)
        : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  const min = sorted[0] ?? Number.NaN;
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  return { median, min, max, spread: median > 0 ? (max - min) / median : 0, values: [...values] };
}

interface Configuration {
  readonly label: string;
  readonly threads: number | undefined;
  readonly batch: number | undefined;
}

interface Measured {
  readonly repetition: RepetitionResult;
  readonly timeline: TimelinePoint[];
  readonly decisions: DecisionPoint[];
}

function configurations(o: ResolvedBenchOptions, hasPool: boolean, notes: string[]): Configuration[] {
  if (!hasPool) {
    if (o.threads !== undefined || o.batch !== undefined)
      notes.push('The flow has no pool routines: --threads and --batch do not apply and were not swept.');
    return [{ label: 'inline', threads: undefined, batch: undefined }];
  }
  const threads = o.threads ?? [undefined];
  const batch = o.batch ?? [undefined];
  const list: Configuration[] = [];
  for (const t of threads) {
    for (const b of batch) {
      const parts = [t === undefined ? '' : `threads=${t}`, b === undefined ? '' : `batch=${b}`].filter((p) => p !== '');
      list.push({ label: parts.length === 0 ? 'default' : parts.join(' '), threads: t, batch: b });
    }
  }
  return list;
}

function nanToNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function timelineOf(recorder: LatencyRecorder, samples: readonly ResourceSample[], start: number, intervalMs: number): TimelinePoint[] {
  const points = recorder.timeline();
  const count = Math.max(
    points.length,
    samples.length === 0 ? 0 : Math.floor(((samples[samples.length - 1] as ResourceSample).at - start) / intervalMs) + 1,
  );
  const out: TimelinePoint[] = [];
  for (let i = 0; i < count; i++) {
    const p = points[i];
    const inWindow = samples.filter((s) => Math.floor((s.at - start) / intervalMs) === i);
    const rss = inWindow.length === 0 ? null : Math.max(...inWindow.map((s) => s.rssBytes)) / 2 ** 20;
    const utils = inWindow.map((s) => s.poolUtilization).filter((u): u is number => u !== undefined);
    out.push({
      t: (i * intervalMs) / 1000,
      itemsPerSecond: p?.itemsPerSecond ?? 0,
      p50: p === undefined ? null : nanToNull(p.latency.p50),
      p95: p === undefined ? null : nanToNull(p.latency.p95),
      p99: p === undefined ? null : nanToNull(p.latency.p99),
      rssMb: rss,
      poolUtilization: utils.length === 0 ? null : utils.reduce((a, b) => a + b, 0) / utils.length,
    });
  }
  return out;
}

function medianLatency(reps: readonly RepetitionResult[]): LatencyPercentiles {
  const m = (pick: (l: LatencyPercentiles) => number): number =>
    summarize(reps.map((r) => pick(r.latencyMs)).filter(Number.isFinite)).median;
  return {
    p50: m((l) => l.p50),
    p95: m((l) => l.p95),
    p99: m((l) => l.p99),
    max: m((l) => l.max),
    count: reps.reduce((a, r) => a + r.latencyMs.count, 0),
  };
}

/**
 * Runs the benchmark described by `options` and returns its results (see {@link BenchResult}).
 *
 * @example
 * ```ts
 * import cpu from './flows/cpu.ts';
 * const result = await runBench({ module: cpu, items: 2000, threads: [1, 2], batch: [1, 64] });
 * for (const c of result.configurations) console.log(c.label, c.itemsPerSecond.median, c.latencyMs.p99);
 * ```
 */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const o = resolveBenchOptions(options);
  const startedAt = new Date().toISOString();
  const probe = o.module.build(o.params ?? {});
  const flowId = probe.id;
  const poolRoutines = probe.routines.filter((e) => e.placement !== 'inline').map((e) => e.id);
  const entry = probe.routines.find((e) => e.id === o.routine);
  const slotSpec = entry?.routine.slots.find((s) => s.name === o.slot);
  const window = o.window ?? slotSpec?.maxQueueLength ?? 1000;
  const notes: string[] = [];
  const configs = configurations(o, poolRoutines.length > 0, notes);
  const maxThreads = o.threads === undefined ? undefined : Math.max(...o.threads);
  const item =
    o.input === undefined
      ? (o.module.input?.generate as (i: number) => unknown)
      : (i: number) => (o.input as readonly unknown[])[i % (o.input as readonly unknown[]).length];
  const perRun =
    o.durationMs === undefined
      ? o.items
      : Math.ceil(((o.rate ?? 0) > 0 ? Math.max(o.rate ?? 0, o.rampTo ?? 0) : 10_000) * (o.durationMs / 1000));
  const sweepTotal = configs.length * (o.warmup + perRun * o.repeat) + (o.baseline === undefined ? 0 : perRun * o.repeat);
  let sweepDone = 0;

  const results: Array<{ config: Configuration; measured: Measured[] }> = [];
  for (const config of configs) {
    const pool =
      poolRoutines.length === 0
        ? undefined
        : {
            ...(config.threads === undefined
              ? {}
              : { threads: config.threads, maxThreads: Math.max(maxThreads ?? config.threads, config.threads) }),
            ...(config.batch === undefined ? {} : { dispatchBatch: config.batch }),
          };
    let governor: Governor | undefined;
    if (o.governor !== undefined) governor = o.governor();
    const runtime = new Runtime({ ...o.runtime, ...(pool === undefined ? {} : { pool }), ...(governor === undefined ? {} : { governor }) });
    const measured: Measured[] = [];
    try {
      const flow = runtime.register(o.module, o.params);
      await runtime.start();
      const worker = runtime.exec(flow.id);
      const progress =
        (phase: 'warmup' | 'measure', repetition: number, total: number) =>
        (posted: number): void =>
          o.onProgress?.({ configuration: config.label, phase, repetition, posted, total, sweepDone: sweepDone + posted, sweepTotal });
      const plan = {
        runtime,
        flowId: flow.id,
        workerId: worker.workerId,
        routine: o.routine,
        slot: o.slot,
        item,
        window,
        timeoutMs: o.timeoutMs,
      };
      if (o.warmup > 0) {
        await generateLoad({
          ...plan,
          items: o.warmup,
          durationMs: undefined,
          rate: undefined,
          rampTo: undefined,
          recorder: undefined,
          onPosted: progress('warmup', 0, o.warmup),
        });
        sweepDone += o.warmup;
      }
      for (let r = 1; r <= o.repeat; r++) {
        const start = performance.now();
        const recorder = new LatencyRecorder({ start, intervalMs: o.timelineMs });
        const sampler = new ResourceSampler(() => runtime.stats().pool, o.sampleIntervalMs);
        const decisions: DecisionPoint[] = [];
        const subscription = governor?.onDecision((d) =>
          decisions.push({
            t: (performance.now() - start) / 1000,
            rule: d.rule,
            action: d.action,
            phase: d.phase,
            knob: `${d.subsystem}.${d.knob}`,
            before: d.before,
            after: d.after,
          }),
        );
        if (r === 1) governor?.start();
        sampler.start();
        const outcome = await generateLoad({
          ...plan,
          items: o.durationMs === undefined ? o.items : Number.MAX_SAFE_INTEGER,
          durationMs: o.durationMs,
          rate: o.rate,
          rampTo: o.rampTo,
          recorder,
          onPosted: progress('measure', r, perRun),
        });
        const resources = sampler.stop();
        subscription?.dispose();
        sweepDone += perRun;
        if (!outcome.drained) notes.push(`${config.label}, repetition ${r}: jobs did not all end within ${o.timeoutMs} ms.`);
        if (outcome.refused > 0)
          notes.push(
            `${config.label}, repetition ${r}: ${outcome.refused} posts refused by a full input slot (open loop faster than the flow).`,
          );
        const seconds = outcome.elapsedMs / 1000;
        measured.push({
          repetition: {
            seconds,
            itemsPerSecond: outcome.posted / seconds,
            latencyMs: recorder.overall(),
            peakRssBytes: resources.peakRssBytes,
            cpuMs: resources.cpuMs,
            poolUtilization: resources.poolUtilization,
            jobs: {
              posted: outcome.posted,
              completed: outcome.completed,
              failed: outcome.failed,
              cancelled: outcome.cancelled,
              refused: outcome.refused,
            },
          },
          timeline: timelineOf(recorder, resources.samples, start, o.timelineMs),
          decisions,
        });
      }
    } finally {
      await governor?.stop();
      await runtime.close({ timeout: 5_000 });
    }
    results.push({ config, measured });
  }

  let baseline: BenchResult['baseline'] = null;
  if (o.baseline !== undefined) {
    const b = o.baseline;
    const items = Array.from({ length: perRun }, (_, i) => item(i));
    await b.setup?.();
    try {
      await b.run(items.slice(0, Math.min(o.warmup, items.length)));
      const values: number[] = [];
      for (let r = 1; r <= o.repeat; r++) {
        const t0 = performance.now();
        await b.run(items);
        values.push(items.length / ((performance.now() - t0) / 1000));
        sweepDone += perRun;
        o.onProgress?.({ configuration: b.name, phase: 'baseline', repetition: r, posted: perRun, total: perRun, sweepDone, sweepTotal });
      }
      baseline = { name: b.name, itemsPerSecond: summarize(values) };
    } finally {
      await b.teardown?.();
    }
  }

  const first = results[0] === undefined ? Number.NaN : summarize(results[0].measured.map((m) => m.repetition.itemsPerSecond)).median;
  const configurationsOut: ConfigurationResult[] = results.map(({ config, measured }) => {
    const reps = measured.map((m) => m.repetition);
    const ips = summarize(reps.map((r) => r.itemsPerSecond));
    const medianIndex =
      reps.map((r, i) => [r.itemsPerSecond, i] as const).sort((a, b) => a[0] - b[0])[Math.floor((reps.length - 1) / 2)]?.[1] ?? 0;
    const cpu = summarize(reps.map((r) => r.cpuMs.user + r.cpuMs.system)).median;
    const posted = summarize(reps.map((r) => r.jobs.posted)).median;
    const utils = reps.map((r) => r.poolUtilization).filter((u): u is number => u !== null);
    const sum = (pick: (r: RepetitionResult) => number): number => reps.reduce((a, r) => a + pick(r), 0);
    return {
      label: config.label,
      threads: config.threads ?? null,
      batch: config.batch ?? null,
      itemsPerSecond: ips,
      latencyMs: medianLatency(reps),
      peakRssBytes: Math.max(...reps.map((r) => r.peakRssBytes)),
      cpuMs: cpu,
      cpuUsPerItem: posted > 0 ? (cpu * 1000) / posted : 0,
      poolUtilization: utils.length === 0 ? null : summarize(utils).median,
      jobs: {
        posted: sum((r) => r.jobs.posted),
        completed: sum((r) => r.jobs.completed),
        failed: sum((r) => r.jobs.failed),
        cancelled: sum((r) => r.jobs.cancelled),
        refused: sum((r) => r.jobs.refused),
      },
      speedup: ips.median / first,
      ratioToBaseline: baseline === null ? null : ips.median / baseline.itemsPerSecond.median,
      repetitions: reps,
      timeline: measured[medianIndex]?.timeline ?? [],
      decisions: measured.flatMap((m, i) => (i === medianIndex ? m.decisions : [])),
    };
  });
  if (configurationsOut.some((c) => c.jobs.failed > 0)) notes.push('Some jobs failed: their throughput counts work that did not complete.');
  return {
    schema: 'sluice.bench/1',
    flow: flowId,
    module: o.module.moduleUrl,
    routine: o.routine,
    slot: o.slot,
    startedAt,
    environment: { node: process.version, platform: process.platform, arch: process.arch, cpus: availableParallelism() },
    settings: {
      items: o.durationMs === undefined ? o.items : null,
      durationMs: o.durationMs ?? null,
      rate: o.rate ?? null,
      rampTo: o.rampTo ?? null,
      warmup: o.warmup,
      repeat: o.repeat,
      mode: o.rate === undefined ? 'closed' : 'open',
    },
    poolRoutines,
    notes,
    baseline,
    configurations: configurationsOut,
  };
}

/**
 * The JSON text of a result: non-finite numbers (a percentile of no job) become `null`.
 *
 * @example
 * ```ts
 * writeFileSync('out.json', benchResultToJson(result));
 * ```
 */
export function benchResultToJson(result: BenchResult): string {
  return `${JSON.stringify(result, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`;
}

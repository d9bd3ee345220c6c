/**
 * What serving costs the engine, beside baselines measured in the same process:
 *
 * - pipeline: flows/pipeline.ts (one job per item, postAll to the end) with `runtime.serve()`
 *   running and one dashboard connected — Debian's headless Chromium showing `/` when it is
 *   installed, else one live-stream client polling the jobs like the dashboard does — against the
 *   same run with no server; alternating, median of the runs;
 * - stream: 10 live-stream clients (their own process) following 10,000 events/s published on the
 *   runtime's bus for 10 s while the pipeline runs closed-loop, against the same publishing and
 *   pipeline with no client: the engine's items/s, and the events each client got and lost.
 *
 *   node --import tsx bench/serve.ts [--quick]     (or npm run bench -- --only serve)
 */
import { execFileSync, spawn } from 'node:child_process';
import { once as onceEvent } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../src/index.ts';
import pipeline from '../flows/pipeline.ts';
import type { BenchRow } from './inline.ts';
import { readings } from './readings.ts';
import { settle, summarize } from './stats.ts';

const token = 'bench-token-0123456789abcdef';
const generate = pipeline.input?.generate as (i: number) => unknown;

/** A dashboard: headless Chromium on `/`, or a stream client polling like the page. */
interface Viewer {
  readonly kind: string;
  open(url: string): Promise<void>;
  close(): Promise<void>;
  shutdown(): Promise<void>;
}

function findChromium(): string | undefined {
  for (const name of [process.env.CHROMIUM, 'chromium', 'chromium-browser']) {
    if (name === undefined || name === '') continue;
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not this one
    }
  }
  return undefined;
}

async function browserViewer(executablePath: string): Promise<Viewer> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  let page: Awaited<ReturnType<typeof browser.newPage>> | undefined;
  return {
    kind: 'headless Chromium on the dashboard',
    async open(url) {
      page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      await page.goto(`${url}/?token=${token}`);
      await page.locator('#connection[data-state="live"]').waitFor({ timeout: 30_000 });
      // Past the page's first loads (flows, jobs, runs): the dashboard as it stays, ticking each second.
      await page.locator('svg.graph').first().waitFor({ timeout: 30_000 });
      await settle(1500);
    },
    async close() {
      await page?.close();
      page = undefined;
    },
    shutdown: () => browser.close(),
  };
}

function streamViewer(): Viewer {
  let child: ReturnType<typeof spawn> | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    kind: 'one live-stream client polling /api/v1/jobs every 5 s (no chromium)',
    async open(url) {
      child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./sse-clients.ts', import.meta.url)), url, token, '1'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      await onceEvent(lines, 'line');
      timer = setInterval(() => void fetch(`${url}/api/v1/jobs?limit=50`, { headers: { authorization: `Bearer ${token}` } }), 5000);
    },
    async close() {
      clearInterval(timer);
      child?.stdin?.end();
      if (child !== undefined) await onceEvent(child, 'exit');
    },
    shutdown: async () => undefined,
  };
}

/** Items/s of one pipeline run; with `viewer`, a server runs and the viewer watches it. */
async function pipelineRun(items: number, viewer: Viewer | undefined): Promise<number> {
  const runtime = new Runtime({ heartbeatMs: 0 });
  runtime.register(pipeline);
  runtime.exec('pipeline');
  if (viewer !== undefined) {
    const server = await runtime.serve({ port: 0, token });
    await viewer.open(server.url as string);
  }
  const started = performance.now();
  await runtime.postAll('pipeline', 'source', 'in', readings(items));
  await runtime.waitUntilAllJobsFinished();
  const seconds = (performance.now() - started) / 1000;
  const completed = runtime.stats().jobLatency.pipeline?.count ?? 0;
  await viewer?.close();
  await runtime.close();
  if (completed !== items) throw new Error(`pipeline completed ${completed} of ${items} jobs`);
  return items / seconds;
}

/** The engine's items/s over `seconds` of closed-loop pipeline while 10k events/s are published; clients watch when `clients` > 0. */
async function streamRun(seconds: number, clients: number, rate: number) {
  const runtime = new Runtime({ heartbeatMs: 0 });
  runtime.register(pipeline);
  runtime.exec('pipeline');
  const server = await runtime.serve({ port: 0, token, maxClients: Math.max(1, clients) });
  let child: ReturnType<typeof spawn> | undefined;
  let lines: ReturnType<typeof createInterface> | undefined;
  if (clients > 0) {
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./sse-clients.ts', import.meta.url)),
        server.url as string,
        token,
        String(clients),
        'bench.*',
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await onceEvent(lines, 'line');
  }
  // The publisher: every 10 ms, a tenth of a hundredth of the rate's events.
  let published = 0;
  const started = performance.now();
  const publisher = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate) - published;
    for (let i = 0; i < due; i++) runtime.bus.publish('bench.tick', { i: published + i, at: Date.now() }, { runId: runtime.runId });
    published += Math.max(0, due);
  }, 10);
  let posted = 0;
  const until = started + seconds * 1000;
  while (performance.now() < until) {
    await runtime.postAll(
      'pipeline',
      'source',
      'in',
      (function* () {
        for (let i = 0; i < 5000; i++) yield generate(posted + i);
      })(),
    );
    posted += 5000;
    await runtime.waitUntilAllJobsFinished();
  }
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(publisher);
  let report: { clients: Array<{ events: number; dropped: number; outOfOrder: number }> } | undefined;
  if (child !== undefined && lines !== undefined) {
    await settle(500);
    const line = onceEvent(lines, 'line');
    child.stdin?.end();
    report = JSON.parse(String((await line)[0])) as typeof report;
  }
  const stream = server.streamStats();
  await runtime.close();
  return { itemsPerSec: posted / elapsed, published, eventsPerSec: published / elapsed, stream, report };
}

/** The serve rows. */
export async function runServeBench(options: { quick?: boolean } = {}, log: (line: string) => void = () => undefined): Promise<BenchRow[]> {
  const quick = options.quick === true;
  const items = quick ? 50_000 : 200_000;
  const runs = quick ? 3 : 5;
  const chromium = findChromium();
  const viewer = chromium === undefined ? streamViewer() : await browserViewer(chromium);
  const rows: BenchRow[] = [];
  try {
    await pipelineRun(Math.min(items, 20_000), undefined);
    await pipelineRun(Math.min(items, 20_000), viewer);
    const on: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < runs; i++) {
      off.push(await pipelineRun(items, undefined));
      await settle();
      on.push(await pipelineRun(items, viewer));
      await settle();
      log(
        `  run ${i + 1}/${runs}: served + dashboard ${Math.round(on.at(-1) as number)} items/s, ` +
          `no server ${Math.round(off.at(-1) as number)} items/s`,
      );
    }
    const a = summarize(on);
    const b = summarize(off);
    rows.push({
      scenario: 'pipeline with the server and one dashboard connected vs no server',
      unit: 'items/s',
      sluice: a.median,
      baseline: b.median,
      ratio: a.median / b.median,
      spread: Math.max(a.spread, b.spread),
      note: `goal >= 0.95x; ${items.toLocaleString('en-US')} items, median of ${runs}; viewer: ${viewer.kind}`,
    });
  } finally {
    await viewer.shutdown();
  }
  const seconds = quick ? 3 : 10;
  const rate = 10_000;
  const withClients: Array<Awaited<ReturnType<typeof streamRun>>> = [];
  const without: Array<Awaited<ReturnType<typeof streamRun>>> = [];
  for (let i = 0; i < (quick ? 1 : 2); i++) {
    without.push(await streamRun(seconds, 0, rate));
    await settle();
    withClients.push(await streamRun(seconds, 10, rate));
    await settle();
    const last = withClients.at(-1) as Awaited<ReturnType<typeof streamRun>>;
    log(
      `  stream ${i + 1}: 10 clients ${Math.round(last.itemsPerSec)} items/s, ` +
        `none ${Math.round((without.at(-1) as typeof last).itemsPerSec)} items/s; ` +
        `${Math.round(last.eventsPerSec)} events/s published, ${last.stream.sent} sent, ${last.stream.dropped} dropped`,
    );
  }
  const a = summarize(withClients.map((r) => r.itemsPerSec));
  const b = summarize(without.map((r) => r.itemsPerSec));
  const last = withClients.at(-1) as Awaited<ReturnType<typeof streamRun>>;
  const perClient = last.report?.clients ?? [];
  const got = perClient.map((c) => c.events);
  const lost = perClient.reduce((n, c) => n + c.dropped, 0);
  const disorder = perClient.reduce((n, c) => n + c.outOfOrder, 0);
  rows.push({
    scenario: `engine items/s with 10 live-stream clients at ${rate.toLocaleString('en-US')} events/s vs no client (same publishing)`,
    unit: 'items/s',
    sluice: a.median,
    baseline: b.median,
    ratio: a.median / b.median,
    spread: Math.max(a.spread, b.spread),
    note:
      `${seconds} s; ${Math.round(last.eventsPerSec)} events/s published; per client got ${Math.min(...got)}–${Math.max(...got)} of ` +
      `${last.published}, ${lost} dropped (counted by the server: ${last.stream.dropped}), ${disorder} out of order`,
  });
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await runServeBench({ quick: process.argv.includes('--quick') }, (line) => process.stderr.write(`${line}\n`));
  for (const r of rows) {
    console.log(
      `${r.scenario}: ${Math.round(r.sluice)} vs ${Math.round(r.baseline)} ${r.unit} = ${r.ratio.toFixed(2)}x ` +
        `(spread ${(100 * r.spread).toFixed(0)}%); ${r.note}`,
    );
  }
}

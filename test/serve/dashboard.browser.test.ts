import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findChromium } from '../fixtures/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pipelineModule from '../../flows/pipeline.ts';
import { Runtime } from '../../src/index.ts';
import type { SluiceServer } from '../../src/entry/serve.ts';

const skip = process.env.SLUICE_SKIP_BROWSER === '1';
const token = 'browser-token-0123456789abcdef';

/** The number before " in" in a routine's count line (`123 in · 0 queued · …`). */
async function itemsOf(page: Page, key: string): Promise<number> {
  const text = (await page.locator(`[data-count="${key}"]`).textContent()) ?? '';
  return Number(/^(\d+) in/.exec(text)?.[1] ?? Number.NaN);
}

describe.skipIf(skip)('the dashboard in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dashboard-'));
  let runtime: Runtime;
  let server: SluiceServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const executablePath = findChromium();
    expect(executablePath, 'chromium is not installed: apt-get install -y chromium (or SLUICE_SKIP_BROWSER=1)').toBeDefined();
    // A finished run in the same log, for the replay view.
    const earlier = new Runtime({ record: { log: join(dir, 'runs.sqlite') }, heartbeatMs: 0, runId: 'earlier-run' });
    await earlier.start();
    earlier.register(pipelineModule);
    await earlier.postAll(
      'pipeline',
      'source',
      'in',
      Array.from({ length: 10 }, (_, i) => ({ sensor: 'e', celsius: i })),
    );
    await earlier.close();
    runtime = new Runtime({ record: { log: join(dir, 'runs.sqlite') }, heartbeatMs: 0 });
    await runtime.start();
    runtime.register(pipelineModule);
    runtime.exec('pipeline');
    server = await runtime.serve({ port: 0, token });
    browser = await chromium.launch({
      executablePath: executablePath as string,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads from /?token=, trades it for a cookie and draws the flow graph', async () => {
    const response = await page.goto(`${server.url}/?token=${token}`);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).search).toBe('');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'sluice_token')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await page.locator('svg.graph[data-flow="pipeline"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('svg.graph g[data-routine]').count()).toBe(3);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
  }, 60_000);

  it('shows counts that rise while the flow runs', async () => {
    await page.waitForFunction(() => /^\d+ in/.test(document.querySelector('[data-count="pipeline/sink"]')?.textContent ?? ''), null, {
      timeout: 15_000,
    });
    const before = await itemsOf(page, 'pipeline/sink');
    const posting = (async () => {
      for (let round = 0; round < 30; round++) {
        const items = Array.from({ length: 200 }, (_, i) => ({ sensor: `s${i % 4}`, celsius: round + i / 100 }));
        await runtime.postAll('pipeline', 'source', 'in', items);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await page.waitForFunction(
      (start) => Number(/^(\d+) in/.exec(document.querySelector('[data-count="pipeline/sink"]')?.textContent ?? '')?.[1]) > start,
      before,
      { timeout: 20_000 },
    );
    const middle = await itemsOf(page, 'pipeline/sink');
    await posting;
    await runtime.waitUntilAllJobsFinished({ timeout: 20_000 });
    await page.waitForFunction(
      () => Number(/^(\d+) in/.exec(document.querySelector('[data-count="pipeline/sink"]')?.textContent ?? '')?.[1]) >= 6000,
      null,
      { timeout: 20_000 },
    );
    const after = await itemsOf(page, 'pipeline/sink');
    expect(middle).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(middle);
    expect(after).toBe(6000);
    await expect.poll(async () => (await page.locator('#totals').textContent()) ?? '', { timeout: 10_000 }).toContain('6000 completed');
  }, 60_000);

  it("shows a failed job's error code and message in the job explorer", async () => {
    const [, job] = runtime.post('pipeline', 'source', 'in', { sensor: 'broken', celsius: 'hot' });
    await job.done();
    const row = page.locator(`#jobs tr[data-job="${job.jobId}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-status')).toBe('failed');
    const text = (await row.textContent()) ?? '';
    expect(text).toContain(job.error?.code as string);
    expect(text).toContain('reading has no numeric celsius');
    // Failed jobs come first.
    expect(await page.locator('#jobs tbody tr').first().getAttribute('data-status')).toBe('failed');
    await row.click();
    await expect.poll(async () => (await page.locator('#job-detail').textContent()) ?? '', { timeout: 10_000 }).toContain('traceLog');
  }, 60_000);

  it('a forced reconnect leaves no gap in the event list', async () => {
    const published: number[] = [];
    const mark = (i: number): void => {
      const event = runtime.bus.publish('drg.signal.test', { i, rule: 'test' }, { runId: runtime.runId });
      if (event !== undefined) published.push(event.seq);
    };
    for (let i = 0; i < 5; i++) mark(i);
    await page.waitForFunction((seq) => window.sluiceDashboard.seqs().includes(seq), published.at(-1) as number, { timeout: 15_000 });
    await page.evaluate(() => window.sluiceDashboard.disconnect());
    // Published while the page is away: only the durable log has them for it.
    for (let i = 5; i < 80; i++) mark(i);
    await page.evaluate(() => window.sluiceDashboard.reconnect());
    for (let i = 80; i < 90; i++) mark(i);
    await page.waitForFunction((seqs) => seqs.every((seq) => window.sluiceDashboard.seqs().includes(seq)), published, { timeout: 20_000 });
    const shown = await page.evaluate(() => window.sluiceDashboard.seqs());
    expect(new Set(shown).size).toBe(shown.length);
    for (const seq of published) expect(shown).toContain(seq);
    expect(server.streamStats().backfilled).toBeGreaterThanOrEqual(75);
  }, 60_000);

  it('lists runs and replays a finished one', async () => {
    await page.locator(`#runs tr[data-run="${runtime.runId}"]`).waitFor({ timeout: 20_000 });
    const earlier = page.locator('#runs tr[data-run="earlier-run"]');
    expect(await earlier.getAttribute('data-status')).toBe('completed');
    expect(await page.locator(`#runs tr[data-run="${runtime.runId}"] button`).isDisabled()).toBe(true);
    await earlier.locator('button').click();
    await expect
      .poll(async () => (await page.locator('#replay-summary').textContent()) ?? '', { timeout: 10_000 })
      .toContain('job.completed 10');
    expect(await page.locator('#replay-events li').count()).toBeGreaterThan(10);
  }, 60_000);

  it('has no script errors, and saves a screenshot', async () => {
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
    const artifacts = join(import.meta.dirname, '..', 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(20_000);
  }, 60_000);
});

// The browser's globals, as the functions run inside the page see them (the suite has no DOM lib).
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
declare const window: { sluiceDashboard: { disconnect(): void; reconnect(): void; seqs(): number[]; readonly lastSeq: number } };

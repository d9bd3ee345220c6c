/**
 * The HTML report renders in a real browser: Debian's headless Chromium loads the file, the
 * report's own script counts the charts whose series were laid out with a non-empty box, and a
 * screenshot shows more than a blank page. CI installs chromium (.ci/run); without it this test
 * fails, unless SLUICE_SKIP_BROWSER=1 says to skip it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findChromium } from '../fixtures/chromium.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../src/harness/index.ts';
import { decodePng } from './png.ts';
import { sampleModel } from './sample-report.ts';

const run = promisify(execFile);
const skip = process.env.SLUICE_SKIP_BROWSER === '1';

const dir = mkdtempSync(join(tmpdir(), 'sluice-browser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function flags(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${join(dir, profile)}`,
    '--window-size=1280,2000',
  ];
}

describe.skipIf(skip)('the HTML report in headless Chromium', () => {
  const chromium = findChromium();
  const model = sampleModel();
  const charts = model.sections.flatMap((s) => s.charts ?? []).length;
  const report = join(dir, 'report.html');
  writeFileSync(report, renderHtmlReport(model));

  it('finds chromium (apt-get install chromium, or SLUICE_SKIP_BROWSER=1 to skip)', () => {
    expect(
      chromium,
      'chromium is not installed: apt-get install -y chromium (or set SLUICE_SKIP_BROWSER=1 to skip the browser test)',
    ).toBeDefined();
  });

  it('runs the report script and draws every chart', async () => {
    expect(chromium).toBeDefined();
    expect(charts).toBeGreaterThanOrEqual(5);
    const { stdout } = await run(chromium as string, [...flags('dom'), '--dump-dom', `file://${report}`], {
      timeout: 90_000,
      maxBuffer: 32 * 2 ** 20,
    });
    expect(stdout).toMatch(new RegExp(`data-charts="${charts}"`));
    expect(stdout).toMatch(new RegExp(`data-charts-drawn="${charts}"`));
    const series = Number(/data-series="(\d+)"/.exec(stdout)?.[1]);
    expect(series).toBeGreaterThanOrEqual(charts);
    expect(stdout).toContain('throughput vs threads');
    expect(stdout).toContain('governor decisions');
  }, 120_000);

  it('takes a screenshot that is not blank', async () => {
    expect(chromium).toBeDefined();
    const png = join(dir, 'report.png');
    await run(chromium as string, [...flags('shot'), `--screenshot=${png}`, `file://${report}`], { timeout: 90_000 });
    const image = decodePng(readFileSync(png));
    expect([image.width, image.height]).toEqual([1280, 2000]);
    const colours = new Set<number>();
    let ink = 0;
    let blue = 0;
    const n = image.width * image.height;
    for (let i = 0; i < n; i += 3) {
      const o = i * image.channels;
      const [r, g, b] = [image.pixels[o]!, image.pixels[o + 1]!, image.pixels[o + 2]!];
      colours.add((r << 16) | (g << 8) | b);
      if (r + g + b < 600) ink++;
      // The first series colour (#2563eb) and its antialiased shades: the chart lines.
      if (b > 180 && r < 110 && g < 140) blue++;
    }
    expect(colours.size).toBeGreaterThan(50);
    expect(ink / (n / 3)).toBeGreaterThan(0.01);
    expect(blue).toBeGreaterThan(500);
  }, 120_000);
});

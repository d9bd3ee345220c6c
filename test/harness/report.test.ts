import { describe, expect, it } from 'vitest';
import { markdownTable, renderChart, renderHtmlReport, renderMarkdownReport, type ReportModel } from '../../src/harness/index.ts';
import { sampleModel } from './sample-report.ts';

describe('the SVG chart renderer', () => {
  it('draws one path per series, a dot per point and a line per marker', () => {
    const svg = renderChart({
      title: 'T <1>',
      xLabel: 'threads',
      yLabel: 'items/s',
      xScale: 'log2',
      markers: [{ x: 2, label: 'scale_up' }],
      series: [
        {
          name: 'a',
          points: [
            [1, 10],
            [2, 20],
            [4, 35],
          ],
        },
        {
          name: 'b',
          dashed: true,
          points: [
            [1, 5],
            [4, 5],
          ],
        },
      ],
    });
    expect(svg.match(/<path class="series"/g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(5);
    expect(svg).toContain('<g class="marker">');
    expect(svg).toContain('T &lt;1&gt;');
    expect(/d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+"/.test(svg)).toBe(true);
  });

  it('breaks a line at a null value and survives a chart without data', () => {
    const svg = renderChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a',
          points: [
            [0, 1],
            [1, null],
            [2, 3],
          ],
        },
      ],
    });
    expect(/d="M[\d.]+,[\d.]+ M[\d.]+,[\d.]+"/.test(svg)).toBe(true);
    expect(renderChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toContain('</svg>');
  });
});

describe('the HTML and Markdown reports', () => {
  const model: ReportModel = sampleModel();

  it('is one self-contained file: nothing to fetch', () => {
    const html = renderHtmlReport(model);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html.match(/<svg class="chart"/g)?.length).toBe(model.sections.flatMap((s) => s.charts ?? []).length);
  });

  it('has the tables and headlines in Markdown', () => {
    const md = renderMarkdownReport(model);
    expect(md).toMatch(/^# /);
    for (const h of model.headlines) expect(md).toContain(`**${h.value}** — ${h.label}`);
    expect(md).toContain('| configuration |');
    expect(markdownTable({ columns: ['a', 'b'], rows: [['x|y', '1']] })).toBe('| a | b |\n|---|---:|\n| x\\|y | 1 |\n');
  });
});

/**
 * Renders a {@link ReportModel} as Markdown: the headlines as a list and every table (charts
 * are named, pointing at the HTML report).
 */
import type { ReportModel, ReportTable } from './report-model.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * A Markdown table.
 *
 * @example
 * ```ts
 * markdownTable({ columns: ['config', 'items/s'], rows: [['threads=1', '812']] });
 * // '| config | items/s |\n|---|---:|\n| threads=1 | 812 |\n'
 * ```
 */
export function markdownTable(table: ReportTable): string {
  const head = `| ${table.columns.map(cell).join(' | ')} |\n`;
  const rule = `|${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|\n`;
  return head + rule + table.rows.map((r) => `| ${r.map(cell).join(' | ')} |\n`).join('');
}

/**
 * The report as Markdown.
 *
 * @example
 * ```ts
 * writeFileSync('report.md', renderMarkdownReport(benchResultToReport(result)));
 * ```
 */
export function renderMarkdownReport(model: ReportModel): string {
  const out: string[] = [`# ${model.title}`, ''];
  if (model.subtitle !== undefined) out.push(model.subtitle, '');
  if (model.headlines.length > 0) {
    for (const h of model.headlines) out.push(`- **${h.value}** — ${h.label}`);
    out.push('');
  }
  for (const section of model.sections) {
    out.push(`## ${section.title}`, '');
    for (const p of section.text ?? []) out.push(p, '');
    if (section.table !== undefined) out.push(markdownTable(section.table));
    const charts = section.charts ?? [];
    if (charts.length > 0) out.push(`Charts (in the HTML report): ${charts.map((c) => c.title).join('; ')}.`, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

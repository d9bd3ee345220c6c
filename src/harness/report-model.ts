/**
 * What a benchmark report shows, independent of its format: a title, headline figures, and
 * sections of text, tables and charts. The HTML and Markdown renderers both take it.
 */
import type { ChartSpec } from './svg-chart.ts';

/** A table: a header row and rows of cells. */
export interface ReportTable {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string>>;
}

/** One section of a report. */
export interface ReportSection {
  readonly title: string;
  /** Paragraphs of plain text. */
  readonly text?: readonly string[];
  readonly table?: ReportTable;
  readonly charts?: readonly ChartSpec[];
}

/** A headline figure, shown at the top and quoted in summaries. */
export interface ReportHeadline {
  readonly label: string;
  readonly value: string;
}

/**
 * A whole report.
 *
 * @example
 * ```ts
 * const model: ReportModel = { title: 'sluice bench', subtitle: 'node v20', headlines: [], sections: [
 *   { title: 'results', table: { columns: ['config', 'items/s'], rows: [['threads=1', '812']] } },
 * ] };
 * ```
 */
export interface ReportModel {
  readonly title: string;
  readonly subtitle?: string;
  readonly headlines: readonly ReportHeadline[];
  readonly sections: readonly ReportSection[];
}

/**
 * A small SVG line-chart renderer for the benchmark report: numeric or category x axis, one
 * path per series with a dot per point, vertical markers (governor decisions) and a legend.
 * Pure: a spec in, an SVG string out, nothing fetched.
 */

/** One line of a chart. */
export interface ChartSeries {
  readonly name: string;
  /** `[x, y]` pairs; a null y breaks the line. */
  readonly points: ReadonlyArray<readonly [number, number | null]>;
  /** Dashed, for baselines. */
  readonly dashed?: boolean;
  /** Drawn as steps (a knob's value held until it changes). */
  readonly step?: boolean;
}

/** A vertical line at `x` with a label (e.g. a governor decision). */
export interface ChartMarker {
  readonly x: number;
  readonly label: string;
}

/** What to draw. */
export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly markers?: readonly ChartMarker[];
  /** `log2` spaces powers of two evenly (threads, batch sizes). @default 'linear' */
  readonly xScale?: 'linear' | 'log2';
  /** Fix the x range (to share a time axis between charts). */
  readonly xDomain?: readonly [number, number];
  /** Start the y axis at zero. @default true */
  readonly yFromZero?: boolean;
}

const kPalette = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#4b5563'];
const kWidth = 640;
const kHeight = 300;
const kPad = { left: 64, right: 16, top: 34, bottom: 66 };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/**
 * A short number for an axis: 1.2k, 3.4M, 0.012.
 *
 * @example
 * ```ts
 * formatTick(12_345); // '12.3k'
 * ```
 */
export function formatTick(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  if (a >= 100) return String(Math.round(n));
  if (a >= 1) return String(+n.toFixed(2));
  if (a === 0) return '0';
  return String(+n.toPrecision(2));
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

/**
 * Renders `spec` as an SVG element (a string). Each series is a `<path class="series">`.
 *
 * @example
 * ```ts
 * const svg = renderChart({ title: 'items/s by threads', xLabel: 'threads', yLabel: 'items/s', xScale: 'log2',
 *   series: [{ name: 'sluice', points: [[1, 800], [2, 1500]] }] });
 * ```
 */
export function renderChart(spec: ChartSpec): string {
  const log = spec.xScale === 'log2';
  const fx = (x: number): number => (log ? Math.log2(Math.max(x, 1e-9)) : x);
  const xs = spec.series.flatMap((s) => s.points.map((p) => fx(p[0]))).concat((spec.markers ?? []).map((m) => fx(m.x)));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]).filter((y): y is number => y !== null && Number.isFinite(y)));
  let [x0, x1] = spec.xDomain === undefined ? [Math.min(...xs), Math.max(...xs)] : [fx(spec.xDomain[0]), fx(spec.xDomain[1])];
  if (!Number.isFinite(x0) || !Number.isFinite(x1)) [x0, x1] = [0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  let y0 = spec.yFromZero === false && ys.length > 0 ? Math.min(...ys) : 0;
  let y1 = ys.length === 0 ? 1 : Math.max(...ys);
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const yTicks = niceTicks(y0, y1 * 1.05);
  y1 = Math.max(y1, yTicks[yTicks.length - 1] ?? y1);
  const w = kWidth - kPad.left - kPad.right;
  const h = kHeight - kPad.top - kPad.bottom;
  const px = (x: number): number => kPad.left + ((fx(x) - x0) / (x1 - x0)) * w;
  const py = (y: number): number => kPad.top + h - ((y - y0) / (y1 - y0)) * h;
  const out: string[] = [];
  out.push(
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${kWidth} ${kHeight}" width="${kWidth}" height="${kHeight}" ` +
      `role="img" aria-label="${escapeXml(spec.title)}">`,
  );
  out.push(`<rect class="frame" x="0" y="0" width="${kWidth}" height="${kHeight}" fill="#fff"/>`);
  out.push(
    `<text class="title" x="${kWidth / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(spec.title)}</text>`,
  );
  // Grid and y axis.
  for (const t of yTicks) {
    if (t < y0 || t > y1) continue;
    out.push(
      `<line class="grid" x1="${kPad.left}" x2="${kPad.left + w}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e5e7eb"/>`,
    );
    out.push(
      `<text x="${kPad.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#374151">${formatTick(t)}</text>`,
    );
  }
  // x ticks: the points' own x values for log2 axes (threads, batch), nice ticks otherwise.
  const xTicks = log ? [...new Set(spec.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b) : niceTicks(x0, x1, 6);
  for (const t of xTicks) {
    const x = px(t);
    if (x < kPad.left - 0.5 || x > kPad.left + w + 0.5) continue;
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${kPad.top + h}" y2="${kPad.top + h + 4}" stroke="#6b7280"/>`);
    out.push(
      `<text x="${x.toFixed(1)}" y="${kPad.top + h + 16}" text-anchor="middle" font-size="11" fill="#374151">${formatTick(t)}</text>`,
    );
  }
  out.push(`<line class="axis" x1="${kPad.left}" x2="${kPad.left + w}" y1="${kPad.top + h}" y2="${kPad.top + h}" stroke="#6b7280"/>`);
  out.push(`<line class="axis" x1="${kPad.left}" x2="${kPad.left}" y1="${kPad.top}" y2="${kPad.top + h}" stroke="#6b7280"/>`);
  out.push(
    `<text x="${kPad.left + w / 2}" y="${kPad.top + h + 32}" text-anchor="middle" font-size="12" ` +
      `fill="#111827">${escapeXml(spec.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(14 ${kPad.top + h / 2}) rotate(-90)" text-anchor="middle" font-size="12" ` +
      `fill="#111827">${escapeXml(spec.yLabel)}</text>`,
  );
  // Markers.
  (spec.markers ?? []).forEach((m, i) => {
    const x = px(m.x);
    out.push(
      `<g class="marker"><line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${kPad.top}" y2="${kPad.top + h}" stroke="#9333ea" ` +
        `stroke-dasharray="3 3"/>` +
        `<text x="${(x + 3).toFixed(1)}" y="${kPad.top + 10 + (i % 4) * 11}" font-size="10" ` +
        `fill="#7e22ce">${escapeXml(m.label)}</text><title>${escapeXml(m.label)}</title></g>`,
    );
  });
  // Series.
  spec.series.forEach((s, i) => {
    const color = kPalette[i % kPalette.length] as string;
    let d = '';
    let pen = false;
    let lastY: number | undefined;
    const dots: string[] = [];
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      const X = px(x).toFixed(1);
      const Y = py(y).toFixed(1);
      if (pen && s.step === true && lastY !== undefined) d += ` L${X},${lastY.toFixed(1)}`;
      d += `${pen ? ' L' : ' M'}${X},${Y}`;
      pen = true;
      lastY = py(y);
      if (s.points.length <= 40)
        dots.push(
          `<circle cx="${X}" cy="${Y}" r="3" fill="${color}"><title>${escapeXml(
            `${s.name}: ${formatTick(x)} → ` + `${formatTick(y)}`,
          )}</title></circle>`,
        );
    }
    out.push(
      `<path class="series" data-series="${escapeXml(s.name)}" d="${d.trim()}" fill="none" stroke="${color}" ` +
        `stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(dots.join(''));
  });
  // Legend.
  let lx = kPad.left;
  const ly = kHeight - 14;
  spec.series.forEach((s, i) => {
    const color = kPalette[i % kPalette.length] as string;
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${
        s.dashed === true ? ' ' + 'stroke-dasharray="6 4"' : ''
      }/><text x="${lx + 22}" y="${ly}" font-size="11">${escapeXml(s.name)}</text>`,
    );
    lx += 30 + s.name.length * 6.2;
  });
  out.push('</svg>');
  return out.join('');
}

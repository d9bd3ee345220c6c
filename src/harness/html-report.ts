/**
 * Renders a {@link ReportModel} as one self-contained HTML file: inline CSS, inline SVG charts
 * and a few lines of inline script (hover read-outs and a count of the charts drawn, which the
 * browser test reads back). Nothing is fetched.
 */
import type { ReportModel } from './report-model.ts';
import { renderChart } from './svg-chart.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const kStyle = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:24px auto;max-width:1340px;
  padding:0 16px;background:#f9fafb}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.subtitle{color:#4b5563;margin:0 0 16px}
.headlines{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.headline{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:180px}
.headline .v{font-size:22px;font-weight:700;color:#1d4ed8}.headline .l{color:#4b5563;font-size:12px}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:13px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right;white-space:nowrap}th{background:#f3f4f6}
td:first-child,th:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #e5e7eb;border-radius:6px;background:#fff}
#readout{position:fixed;pointer-events:none;background:#111827;color:#fff;font-size:12px;padding:3px 6px;border-radius:4px;display:none}
`;

// Runs in the browser: a hover read-out for points and markers, and a count of the charts
// whose series were laid out with a non-empty box (what the browser test checks).
const kScript = `
(function(){
  var drawn=0, series=0;
  document.querySelectorAll('svg.chart').forEach(function(svg){
    var ok=false;
    svg.querySelectorAll('path.series').forEach(function(p){
      series++;
      var b=p.getBBox(); if(p.getTotalLength()>0 && (b.width>0||b.height>0)) ok=true;
    });
    if(ok) drawn++;
  });
  document.body.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
  document.body.setAttribute('data-charts-drawn', String(drawn));
  document.body.setAttribute('data-series', String(series));
  var r=document.getElementById('readout');
  document.addEventListener('mousemove',function(e){
    var t=e.target && e.target.closest && e.target.closest('circle,g.marker');
    var title=t && t.querySelector('title');
    if(!title){r.style.display='none';return;}
    r.textContent=title.textContent; r.style.display='block'; r.style.left=(e.clientX+12)+'px'; r.style.top=(e.clientY+12)+'px';
  });
})();
`;

/**
 * The report as a complete HTML document.
 *
 * @example
 * ```ts
 * writeFileSync('report.html', renderHtmlReport(benchResultToReport(result)));
 * ```
 */
export function renderHtmlReport(model: ReportModel): string {
  const out: string[] = [];
  out.push(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`,
  );
  out.push(`<title>${escapeHtml(model.title)}</title><style>${kStyle}</style></head><body>`);
  out.push(`<h1>${escapeHtml(model.title)}</h1>`);
  if (model.subtitle !== undefined) out.push(`<p class="subtitle">${escapeHtml(model.subtitle)}</p>`);
  if (model.headlines.length > 0) {
    out.push('<div class="headlines">');
    for (const h of model.headlines)
      out.push(`<div class="headline"><div class="v">${escapeHtml(h.value)}</div><div class="l">${escapeHtml(h.label)}</div></div>`);
    out.push('</div>');
  }
  for (const section of model.sections) {
    out.push(`<section><h2>${escapeHtml(section.title)}</h2>`);
    for (const p of section.text ?? []) out.push(`<p>${escapeHtml(p)}</p>`);
    if (section.table !== undefined) {
      out.push(`<table><thead><tr>${section.table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>`);
      for (const row of section.table.rows) out.push(`<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`);
      out.push('</tbody></table>');
    }
    if (section.charts !== undefined && section.charts.length > 0)
      out.push(`<div class="charts">${section.charts.map(renderChart).join('')}</div>`);
    out.push('</section>');
  }
  out.push(`<div id="readout"></div><script>${kScript}</script></body></html>\n`);
  return out.join('\n');
}

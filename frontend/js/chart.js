// chart.js - two small SVG charts for the dashboard, no library: stacked columns over
// time and horizontal bars for top-N lists. Colours come from classes in app.css (the CSP
// forbids inline styles); every chart carries a <title>/<desc> and its numbers as a table
// behind a toggle. On a phone (narrow()) a chart is drawn for its width, not shrunk: a
// narrower drawing whose text keeps its size, fewer columns (neighbouring hours merged) and
// fewer axis labels, so it stays readable (issue 23).
import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A phone-sized screen: the same breakpoint as app.css. */
export function narrow() {
  return typeof matchMedia === 'function' && matchMedia('(max-width: 700px)').matches;
}

/** At most `max` columns: runs of neighbouring points summed into one, labelled by the first. */
export function mergePoints(points, max) {
  if (points.length <= max) return points;
  const k = Math.ceil(points.length / max);
  const out = [];
  for (let i = 0; i < points.length; i += k) {
    const values = {};
    for (const p of points.slice(i, i + k)) for (const [n, v] of Object.entries(p.values)) values[n] = (values[n] || 0) + (Number(v) || 0);
    out.push({ label: points[i].label, values });
  }
  return out;
}

/** The numbers behind a chart as a table, folded behind a toggle. */
function dataTable(head, rows) {
  return h('details.chart-data', h('summary', 'Show as a table'),
    h('div.table-wrap', h('table', h('thead', h('tr', head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', rows.map((r) => h('tr', r.map((c) => h('td', String(c)))))))));
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/**
 * Stacked columns. points = [{label, values: {series: n}}], series = ['received', ...].
 * Returns a <figure> with the SVG, a legend, and a caption.
 */
export function stackedColumns({ title, points: all, series, height = 220, phone = narrow() }) {
  const points = phone ? mergePoints(all, 24) : all;
  const W = phone ? 320 : 640; const H = height; const L = phone ? 30 : 40; const B = 28; const T = 10; const R = 8;
  const totals = points.map((p) => series.reduce((a, k) => a + (Number(p.values[k]) || 0), 0));
  const max = niceMax(Math.max(4, ...totals));   // at least 0..4 so every tick is a whole number
  const plotW = W - L - R; const plotH = H - T - B;
  const bw = points.length ? plotW / points.length : plotW;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'c1t c1d' },
    s('title', { id: 'c1t' }, title),
    s('desc', { id: 'c1d' }, `${points.length} columns; highest total ${Math.max(0, ...totals)}.`));
  // whole-number ticks: 20 and 200 in quarters, 5, 10, 50, 100 in fifths
  const ticks = max / 10 ** Math.floor(Math.log10(max)) === 2 ? 4 : 5;
  for (let i = 0; i <= ticks; i += 1) {
    const y = T + plotH - (plotH * i) / ticks;
    svg.append(s('line', { class: 'gridline', x1: L, x2: W - R, y1: y, y2: y }),
      s('text', { x: L - 4, y: y + 4, 'text-anchor': 'end' }, String((max * i) / ticks)));
  }
  const every = Math.ceil(points.length / (phone ? 5 : 8));
  points.forEach((p, i) => {
    let y = T + plotH;
    const x = L + i * bw + bw * 0.1;
    for (const k of series) {
      const v = Number(p.values[k]) || 0;
      if (!v) continue;
      const hgt = (plotH * v) / max;
      y -= hgt;
      svg.append(s('rect', { class: `bar s-${k}`, x, y, width: Math.max(1, bw * 0.8), height: hgt },
        s('title', {}, `${p.label}: ${v} ${k}`)));
    }
    if (i % every === 0) svg.append(s('text', { class: 'xlabel', x: x + bw * 0.4, y: H - 8, 'text-anchor': 'middle' }, p.label));
  });
  svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
  const legend = h('ul.legend', series.map((k) => h('li', h(`span.swatch.s-${k}`, { 'aria-hidden': 'true' }), k)));
  const table = dataTable(['', ...series], all.filter((p) => series.some((k) => Number(p.values[k]))).map((p) => [p.label, ...series.map((k) => Number(p.values[k]) || 0)]));
  return h('figure.chart', { 'data-chart': 'stacked' }, svg, legend, h('figcaption.muted', title), table);
}

/** Horizontal bars for a top-N list: items = [{label, value}]. */
export function horizontalBars({ title, items, phone = narrow() }) {
  const W = phone ? 320 : 420; const rowH = 24; const L = phone ? 130 : 150; const R = 40; const cut = phone ? 19 : 22;
  const H = Math.max(1, items.length) * rowH + 10;
  if (!items.length) return h('figure.chart', { 'data-chart': 'bars' }, h('p.muted.chart-empty', 'No data in this period.'), h('figcaption.muted', title));
  const max = niceMax(Math.max(0, ...items.map((i) => Number(i.value) || 0)));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title }, s('title', {}, title));
  items.forEach((it, i) => {
    const y = 5 + i * rowH;
    const w = ((W - L - R) * (Number(it.value) || 0)) / max;
    const label = String(it.label).length > cut ? `${String(it.label).slice(0, cut - 1)}…` : String(it.label);
    svg.append(s('text', { x: L - 6, y: y + 16, 'text-anchor': 'end' }, label),
      s('rect', { class: 'bar', x: L, y: y + 3, width: Math.max(1, w), height: rowH - 8 }, s('title', {}, `${it.label}: ${it.value}`)),
      s('text', { x: L + w + 4, y: y + 16 }, String(it.value)));
  });
  return h('figure.chart', { 'data-chart': 'bars' }, svg, h('figcaption.muted', title),
    dataTable(['', 'count'], items.map((it) => [it.label, it.value])));
}

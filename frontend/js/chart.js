// chart.js - two small SVG charts for the dashboard, no library: stacked columns over
// time and horizontal bars for top-N lists. Colours come from classes in app.css (the CSP
// forbids inline styles); every chart carries a <title>/<desc> and a data table fallback.
import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
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
export function stackedColumns({ title, points, series, height = 220 }) {
  const W = 640; const H = height; const L = 40; const B = 28; const T = 10; const R = 8;
  const totals = points.map((p) => series.reduce((a, k) => a + (Number(p.values[k]) || 0), 0));
  const max = niceMax(Math.max(4, ...totals));   // at least 0..4 so every tick is a whole number
  const plotW = W - L - R; const plotH = H - T - B;
  const bw = points.length ? plotW / points.length : plotW;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'c1t c1d' },
    s('title', { id: 'c1t' }, title),
    s('desc', { id: 'c1d' }, `${points.length} columns; highest total ${Math.max(0, ...totals)}.`));
  for (let i = 0; i <= 4; i += 1) {
    const y = T + plotH - (plotH * i) / 4;
    svg.append(s('line', { class: 'gridline', x1: L, x2: W - R, y1: y, y2: y }),
      s('text', { x: L - 4, y: y + 4, 'text-anchor': 'end' }, String(Math.round((max * i) / 4))));
  }
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
    const every = Math.ceil(points.length / 8);
    if (i % every === 0) svg.append(s('text', { x: x + bw * 0.4, y: H - 8, 'text-anchor': 'middle' }, p.label));
  });
  svg.append(s('line', { class: 'axis', x1: L, x2: W - R, y1: T + plotH, y2: T + plotH }));
  const legend = h('ul.legend', series.map((k) => h('li', h(`span.swatch.s-${k}`, { 'aria-hidden': 'true' }), k)));
  return h('figure.chart', { 'data-chart': 'stacked' }, svg, legend, h('figcaption.muted', title));
}

/** Horizontal bars for a top-N list: items = [{label, value}]. */
export function horizontalBars({ title, items }) {
  const W = 420; const rowH = 24; const L = 150; const R = 40;
  const H = Math.max(1, items.length) * rowH + 10;
  if (!items.length) return h('figure.chart', { 'data-chart': 'bars' }, h('p.muted.chart-empty', 'No data in this period.'), h('figcaption.muted', title));
  const max = niceMax(Math.max(0, ...items.map((i) => Number(i.value) || 0)));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title }, s('title', {}, title));
  items.forEach((it, i) => {
    const y = 5 + i * rowH;
    const w = ((W - L - R) * (Number(it.value) || 0)) / max;
    const label = String(it.label).length > 24 ? `${String(it.label).slice(0, 23)}…` : String(it.label);
    svg.append(s('text', { x: L - 6, y: y + 16, 'text-anchor': 'end' }, label),
      s('rect', { class: 'bar', x: L, y: y + 3, width: Math.max(1, w), height: rowH - 8 }, s('title', {}, `${it.label}: ${it.value}`)),
      s('text', { x: L + w + 4, y: y + 16 }, String(it.value)));
  });
  return h('figure.chart', { 'data-chart': 'bars' }, svg, h('figcaption.muted', title));
}

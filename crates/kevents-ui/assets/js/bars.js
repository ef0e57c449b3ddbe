// Charts drawn as SVG elements (no canvas, no library): stacked Normal/Warning bars with
// drag-to-select, and sparklines.

const NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/**
 * Stacked bars: `buckets` are {from, to, normal, warning, gap?}; `label(ms)` names an axis tick.
 * `onBar(i)` runs on a click, `onSelect(i, j)` after dragging across bars i..j.
 */
export function barChart(buckets, {width, height, label, onBar, onSelect, title}) {
  const pad = {left: 44, right: 8, top: 8, bottom: 20};
  const plotW = Math.max(10, width - pad.left - pad.right);
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...buckets.map((b) => b.normal + b.warning));
  const bw = plotW / Math.max(1, buckets.length);
  const y = (v) => pad.top + plotH - (v / max) * plotH;
  const svg = s('svg', {class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`,
    role: 'img', 'aria-label': title || 'events per bucket'});
  for (const tick of [0, max / 2, max]) {
    svg.appendChild(s('text', {class: 'axis', x: pad.left - 4, y: y(tick) + 3, 'text-anchor': 'end'},
      Math.round(tick)));
  }
  const bars = s('g');
  buckets.forEach((b, i) => {
    const x = pad.left + i * bw;
    const w = Math.max(1, bw - (bw > 4 ? 1 : 0));
    if (b.gap) bars.appendChild(s('rect', {class: 'gap', x, y: pad.top, width: w, height: plotH}));
    const g = s('g', {class: 'bar', 'data-index': i});
    g.appendChild(s('title', {}, `${title ? '' : ''}${label(b.from, true)}: ${b.normal} Normal, ` +
      `${b.warning} Warning`));
    const hn = (b.normal / max) * plotH;
    const hw = (b.warning / max) * plotH;
    g.appendChild(s('rect', {class: 'normal', x, y: pad.top + plotH - hn, width: w, height: hn}));
    g.appendChild(s('rect', {class: 'warning', x, y: pad.top + plotH - hn - hw, width: w, height: hw}));
    // A transparent hit area the full height, so short bars are easy to click.
    g.appendChild(s('rect', {x, y: pad.top, width: w, height: plotH, fill: 'transparent'}));
    bars.appendChild(g);
  });
  svg.appendChild(bars);
  const ticks = Math.min(buckets.length, Math.max(2, Math.floor(plotW / 110)));
  for (let t = 0; t < ticks; t++) {
    const i = Math.round((t * (buckets.length - 1)) / Math.max(1, ticks - 1));
    if (!buckets[i]) continue;
    svg.appendChild(s('text', {class: 'axis', x: pad.left + i * bw + bw / 2, y: height - 5,
      'text-anchor': t === 0 ? 'start' : t === ticks - 1 ? 'end' : 'middle'}, label(buckets[i].from)));
  }
  const selection = s('rect', {class: 'sel', x: 0, y: pad.top, width: 0, height: plotH});
  svg.appendChild(selection);
  const indexAt = (e) => {
    const box = svg.getBoundingClientRect();
    const x = (e.clientX - box.left) * (width / box.width) - pad.left;
    return Math.min(buckets.length - 1, Math.max(0, Math.floor(x / bw)));
  };
  let start = -1;
  svg.addEventListener('pointerdown', (e) => {
    start = indexAt(e);
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', (e) => {
    if (start < 0) return;
    const i = indexAt(e);
    const [a, b] = [Math.min(start, i), Math.max(start, i)];
    selection.setAttribute('x', pad.left + a * bw);
    selection.setAttribute('width', (b - a + 1) * bw);
  });
  svg.addEventListener('pointerup', (e) => {
    if (start < 0) return;
    const i = indexAt(e);
    const [a, b] = [Math.min(start, i), Math.max(start, i)];
    start = -1;
    selection.setAttribute('width', 0);
    if (a === b) onBar(a);
    else onSelect(a, b);
  });
  return svg;
}

/** A sparkline of `values` (oldest first). */
export function sparkline(values, label) {
  const w = 120;
  const h = 24;
  const max = Math.max(1, ...values);
  const step = w / Math.max(1, values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`);
  return s('svg', {class: 'spark', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label || ''},
    s('polyline', {points: points.join(' ')}));
}

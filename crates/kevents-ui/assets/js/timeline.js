// The Timeline view: Normal and Warning events per time bucket over 15 minutes to 30 days,
// counted on the hub in one request (eventcounts with a step), zoomed by dragging, with the top
// reasons of the range; a bar opens its events. New events are added as the watch sees them.

import {h, fill, select, input, notice, syncForm} from './dom.js';
import {go, link} from './params.js';
import {get, follow, seenAt} from './api.js';
import {RANGES, parseDuration, rfc3339, stamp, duration} from './time.js';
import {barChart} from './bars.js';

const STEPS = [15, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400];
const TARGET_BARS = 90;

function fieldSelector(p) {
  const parts = [];
  if (p.kind) parts.push(`involvedObject.kind=${p.kind}`);
  if (p.reason) parts.push(`reason=${p.reason}`);
  if (p.cluster) parts.push(`cluster=${p.cluster}`);
  return parts.join(',');
}

/** The window of the view in milliseconds. */
function windowOf(p) {
  if (p.from) {
    const from = Date.parse(p.from);
    const to = p.to ? Date.parse(p.to) : Date.now();
    if (!Number.isNaN(from) && !Number.isNaN(to) && to > from) return {from, to, zoomed: true};
  }
  const seconds = parseDuration(p.range || '24h') || 86400;
  const to = Date.now();
  return {from: to - seconds * 1000, to, zoomed: false};
}

function stepFor(spanMs) {
  const wanted = spanMs / 1000 / TARGET_BARS;
  return STEPS.find((s) => s >= wanted) || STEPS[STEPS.length - 1];
}

function tickLabel(spanMs) {
  return (ms, long) => {
    const text = stamp(ms);
    if (long) return text;
    return spanMs <= 86400000 ? text.slice(11, 16) : text.slice(5, 16);
  };
}

export function mount(container, params, ctx) {
  let p = {...params};
  let abort = new AbortController();
  const filters = h('form', {class: 'filters'},
    input('Cluster', 'cluster', p.cluster, 'all'),
    input('Namespace', 'ns', p.ns, 'all'),
    input('Kind', 'kind', p.kind, 'Pod'),
    input('Reason', 'reason', p.reason, 'any'),
    select('Range', 'range', p.range || '24h', RANGES));
  const status = h('p', {class: 'status', 'aria-live': 'polite'});
  const legend = h('div', {class: 'legend'},
    h('span', {}, h('span', {class: 'swatch normal'}), 'Normal'),
    h('span', {}, h('span', {class: 'swatch warning'}), '⚠ Warning'),
    h('span', {text: 'Drag across bars to zoom; click a bar for its events.'}));
  const chartBox = h('div', {class: 'chart-box'});
  const reasons = h('div', {class: 'reasons'});
  fill(container, h('section', {class: 'view scroll timeline'}, filters, status, legend, chartBox, reasons));

  filters.addEventListener('change', () => {
    const next = {};
    for (const [k, v] of new FormData(filters)) next[k] = String(v).trim();
    if (next.range === '24h') next.range = '';
    go('timeline', next, true);
  });

  let buckets = [];
  let draw = () => {};

  async function load() {
    abort.abort();
    abort = new AbortController();
    const signal = abort.signal;
    container.dataset.ready = '';
    const win = windowOf(p);
    const step = stepFor(win.to - win.from);
    const path = p.ns ? `/apis/kevents.io/v1/namespaces/${encodeURIComponent(p.ns)}/eventcounts`
      : '/apis/kevents.io/v1/eventcounts';
    const common = {fieldSelector: fieldSelector(p), from: rfc3339(win.from), to: rfc3339(win.to)};
    const started = performance.now();
    try {
      const [byType, byReason] = await Promise.all([
        get(path, {...common, by: 'type', step: `${step}s`, limit: 0}, signal),
        get(path, {...common, by: 'reason', limit: 10}, signal),
      ]);
      buckets = (byType.buckets || []).map((b) => {
        const from = Date.parse(b.from);
        const count = (t) => ((b.items || []).find((i) => i.value === t) || {events: 0}).events;
        return {from, to: from + step * 1000, normal: count('Normal'), warning: count('Warning')};
      });
      const eventLink = (from, to) => link('events', {cluster: p.cluster, ns: p.ns, kind: p.kind,
        reason: p.reason, from: rfc3339(from), to: rfc3339(to)});
      draw = () => {
        const width = Math.max(300, chartBox.clientWidth || 800);
        fill(chartBox, barChart(buckets, {
          width, height: 220, label: tickLabel(win.to - win.from), title: 'events per bucket',
          onBar: (i) => { location.hash = eventLink(buckets[i].from, buckets[i].to); },
          onSelect: (a, b) => go('timeline', {...p, range: '', from: rfc3339(buckets[a].from),
            to: rfc3339(buckets[b].to)}),
        }));
      };
      draw();
      requestAnimationFrame(() => performance.mark('kevents:timeline-drawn'));
      const total = byType.total || {events: 0};
      fill(status, `${total.events} events from ${stamp(win.from)} to ${stamp(win.to)}, ` +
        `${duration(step)} per bar (${Math.round(performance.now() - started)} ms) `,
        win.zoomed ? h('a', {href: link('timeline', {...p, from: '', to: ''}), text: 'reset zoom'}) : '');
      const top = byReason.items || [];
      fill(reasons, h('h3', {text: 'Top reasons in this range'}),
        top.length ? h('table', {},
          h('thead', {}, h('tr', {}, h('th', {text: 'Reason'}), h('th', {text: 'Events'}),
            h('th', {text: 'Occurrences'}))),
          h('tbody', {}, top.map((r) => h('tr', {},
            h('td', {}, h('a', {href: link('events', {cluster: p.cluster, ns: p.ns, kind: p.kind,
              reason: r.value, from: rfc3339(win.from), to: rfc3339(win.to)}), text: r.value || '(none)'})),
            h('td', {class: 'num', text: r.events}), h('td', {class: 'num', text: r.occurrences})))))
          : notice('No events in this range.'));
      ctx.clearError();
      container.dataset.ready = '1';
      if (!win.zoomed) live(path, byType.metadata.resourceVersion, step, signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      ctx.showError(e);
      fill(chartBox, notice(`The timeline could not be read: ${e.message}`, 'bad'));
      container.dataset.ready = '1';
    }
  }

  function live(path, resourceVersion, step, signal) {
    const eventsPath = path.replace('/apis/kevents.io/v1', '/api/v1').replace('eventcounts', 'events');
    let pending = 0;
    follow(eventsPath, {fieldSelector: fieldSelector(p), resourceVersion}, (change) => {
      if (change.type !== 'ADDED') return;
      const at = seenAt(change.object);
      let last = buckets[buckets.length - 1];
      if (!last) return;
      while (at >= last.to) {
        buckets.shift();
        last = {from: last.to, to: last.to + step * 1000, normal: 0, warning: 0};
        buckets.push(last);
      }
      const bucket = buckets.find((b) => at >= b.from && at < b.to);
      if (!bucket) return;
      if (change.object.type === 'Warning') bucket.warning++;
      else bucket.normal++;
      if (!pending) pending = setTimeout(() => { pending = 0; draw(); }, 500);
    }, signal, () => load(), (e) => ctx.showError(e), ctx.setLive);
  }

  const resize = new ResizeObserver(() => draw());
  resize.observe(chartBox);
  load();
  return {
    update(next) { p = {...next}; syncForm(filters, {...p, range: p.range || '24h'}); load(); },
    destroy() { abort.abort(); resize.disconnect(); },
  };
}

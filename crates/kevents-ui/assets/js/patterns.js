// The Patterns view: series merged across objects by cluster, reason and message template,
// the noisiest of the window first, with a sparkline, the change against the window before,
// and a mark on those past the storm-folding rate (100 a minute).

import {h, fill, select, notice, typeBadge, syncForm} from './dom.js';
import {go, link} from './params.js';
import {listAll, follow} from './api.js';
import {ago} from './time.js';
import {sparkline} from './bars.js';

const STORM_PER_MINUTE = 100;
const MAX_SERIES = 20000;
const SHOWN = 100;

/** Occurrences per slot (oldest first) of a series over the window ending now. */
function slots(series, windowName, now) {
  const minute = 60000;
  const hour = 3600000;
  const [n, size] = windowName === '24h' ? [48, hour] : [120, minute];
  const values = new Array(n).fill(0);
  const add = (entries, width) => {
    for (const entry of entries || []) {
      const at = Date.parse(entry.time);
      const i = n - 1 - Math.floor((now - at) / size);
      if (i >= 0 && i < n) values[i] += entry.count * (width > size ? size / width : 1);
    }
  };
  add(series.status.perMinute, minute);
  if (windowName === '24h') add(series.status.perHour, hour);
  return values;
}

export function mount(container, params, ctx) {
  let p = {...params};
  let abort = new AbortController();
  const filters = h('form', {class: 'filters'},
    select('Window', 'window', p.window || '1h', [['1h', 'last hour'], ['24h', 'last day']]),
    select('Type', 'type', p.type || '', [['', 'any'], 'Normal', 'Warning']));
  filters.addEventListener('change', () => {
    const next = {};
    for (const [k, v] of new FormData(filters)) next[k] = v;
    if (next.window === '1h') next.window = '';
    go('patterns', next, true);
  });
  const status = h('p', {class: 'status'});
  const body = h('div');
  fill(container, h('section', {class: 'view scroll patterns'}, filters, status, body));

  async function load() {
    abort.abort();
    abort = new AbortController();
    container.dataset.ready = '';
    const series = new Map();
    const fieldSelector = p.type ? `type=${p.type}` : '';
    const signal = abort.signal;
    try {
      const last = await listAll('/apis/kevents.io/v1/eventseries', {limit: 5000, fieldSelector},
        (items) => { for (const s of items) series.set(s.metadata.name, s); }, signal, MAX_SERIES);
      render([...series.values()]);
      ctx.clearError();
      let pending = 0;
      follow('/apis/kevents.io/v1/eventseries', {fieldSelector, resourceVersion: last.metadata.resourceVersion},
        (change) => {
          if (change.type === 'DELETED') series.delete(change.object.metadata.name);
          else series.set(change.object.metadata.name, change.object);
          if (!pending) pending = setTimeout(() => { pending = 0; render([...series.values()]); }, 2000);
        }, signal, () => load(), (e) => ctx.showError(e), ctx.setLive);
    } catch (e) {
      if (e.name === 'AbortError') return;
      ctx.showError(e);
      fill(body, notice(`Patterns could not be read: ${e.message}`, 'bad'));
    }
    container.dataset.ready = '1';
  }

  function render(series) {
    const now = Date.now();
    const windowName = p.window || '1h';
    const patterns = new Map();
    for (const s of series) {
      const key = [s.spec.cluster, s.spec.reason, s.spec.template].join('\u0000');
      let pattern = patterns.get(key);
      if (!pattern) {
        pattern = {cluster: s.spec.cluster, reason: s.spec.reason, template: s.spec.template,
          type: s.spec.type, series: 0, objects: new Set(), count: 0, last: 0, values: null, storm: false};
        patterns.set(key, pattern);
      }
      pattern.series++;
      pattern.objects.add(`${s.spec.involvedObject.kind}/${s.spec.involvedObject.namespace}/${s.spec.involvedObject.name}`);
      pattern.count += s.status.count;
      pattern.last = Math.max(pattern.last, Date.parse(s.status.lastSeen));
      if (s.spec.type === 'Warning') pattern.type = 'Warning';
      const values = slots(s, windowName, now);
      pattern.values = pattern.values ? pattern.values.map((v, i) => v + values[i]) : values;
      if ((s.status.perMinute || []).some((m) => m.count >= STORM_PER_MINUTE)) pattern.storm = true;
    }
    const all = [...patterns.values()].map((pt) => {
      const half = pt.values.length / 2;
      const now = pt.values.slice(half).reduce((a, b) => a + b, 0);
      const before = pt.values.slice(0, half).reduce((a, b) => a + b, 0);
      return {...pt, current: Math.round(now), previous: Math.round(before), spark: pt.values.slice(half)};
    }).filter((pt) => pt.current > 0 || pt.previous > 0)
      .sort((a, b) => b.current - a.current || b.count - a.count);
    status.textContent = `${all.length} patterns active in the last ${windowName === '24h' ? '48h' : '2h'}, ` +
      `from ${series.length} series; the noisiest of the ${windowName === '24h' ? 'last day' : 'last hour'} first`;
    if (!all.length) { fill(body, notice('No pattern had occurrences in this window.')); return; }
    fill(body, h('table', {},
      h('thead', {}, h('tr', {}, ['Type', 'Reason', 'Pattern', 'Now', 'Change', 'Trend', 'Objects', 'Total', 'Last']
        .map((t) => h('th', {text: t})))),
      h('tbody', {}, all.slice(0, SHOWN).map((pt) => h('tr', {class: pt.storm ? 'storm' : ''},
        h('td', {}, typeBadge(pt.type)),
        h('td', {}, h('a', {href: link('events', {reason: pt.reason, cluster: pt.cluster === 'default' ? '' : pt.cluster,
          range: windowName === '24h' ? '24h' : '1h'}), text: pt.reason}),
        pt.storm ? [' ', h('span', {class: 'badge folded', title: `over ${STORM_PER_MINUTE} a minute: folded by --storm-folding`, text: 'storm'})] : null),
        h('td', {class: 'msg', dir: 'auto', text: pt.template}),
        h('td', {class: 'num', text: pt.current}),
        h('td', {class: `num ${change(pt).cls}`, text: change(pt).text}),
        h('td', {}, sparkline(pt.spark, `${pt.reason} over the window`)),
        h('td', {class: 'num', text: pt.objects.size}),
        h('td', {class: 'num', text: pt.count}),
        h('td', {text: ago(pt.last)}))))));
  }

  load();
  return {
    update(next) { p = {...next}; syncForm(filters, {...p, window: p.window || '1h'}); load(); },
    destroy() { abort.abort(); },
  };
}

function change(pt) {
  if (!pt.previous) return {text: pt.current ? 'new' : '', cls: 'up'};
  const pct = Math.round(((pt.current - pt.previous) / pt.previous) * 100);
  return {text: `${pct > 0 ? '+' : ''}${pct}%`, cls: pct > 0 ? 'up' : pct < 0 ? 'down' : ''};
}

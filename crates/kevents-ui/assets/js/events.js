// The Events view: the stream, newest first, filtered on the hub (cluster, namespace, type,
// reason, kind, name) and in the page (free text), optionally folded into series, following
// a watch so new events appear as they are written.

import {h, fill, select, input, syncForm} from './dom.js';
import {go} from './params.js';
import {listAll, follow} from './api.js';
import {RANGES, parseDuration, goDuration, stamp} from './time.js';
import {VirtualList} from './vlist.js';
import {eventRow, groupBySeries, matchesText, drawRow, objectLink} from './event_rows.js';

/** Most events one view holds. */
const MAX_ROWS = 200000;
const PAGE = 5000;
// The first page is small so that the newest rows are painted before the rest arrive.
const FIRST_PAGE = 500;
/** The parameters that select on the hub (a change lists again). */
const SERVER = ['cluster', 'ns', 'type', 'reason', 'kind', 'name', 'range', 'from', 'to'];

function fieldSelector(p) {
  const parts = [];
  if (p.type) parts.push(`type=${p.type}`);
  if (p.reason) parts.push(`reason=${p.reason}`);
  if (p.kind) parts.push(`involvedObject.kind=${p.kind}`);
  if (p.name) parts.push(`involvedObject.name=${p.name}`);
  if (p.cluster) parts.push(`cluster=${p.cluster}`);
  return parts.join(',');
}

export function mount(container, params, ctx) {
  let p = {...params};
  let abort = new AbortController();
  let rows = new Map();
  let shown = [];
  let loading = true;

  const filters = h('form', {class: 'filters', role: 'search'},
    input('Cluster', 'cluster', p.cluster, 'all'),
    input('Namespace', 'ns', p.ns, 'all'),
    select('Type', 'type', p.type || '', [['', 'any'], 'Normal', 'Warning']),
    input('Reason', 'reason', p.reason, 'BackOff'),
    input('Kind', 'kind', p.kind, 'Pod'),
    input('Name', 'name', p.name, 'object name'),
    select('Range', 'range', p.range || '1h', RANGES),
    input('Text', 'q', p.q, 'words in messages  ( / )'),
    h('label', {class: 'field check'},
      h('input', {type: 'checkbox', name: 'group', id: 'f-group', checked: p.group === '1'}),
      h('span', {text: 'Group by series'})));
  const status = h('p', {class: 'status', 'aria-live': 'polite'});
  const header = h('div', {class: 'row head', 'aria-hidden': 'true'},
    h('span', {class: 'c-time', text: 'Last seen'}), h('span', {class: 'type', text: 'Type'}),
    h('span', {class: 'c-reason', text: 'Reason'}), h('span', {class: 'c-object', text: 'Object'}),
    h('span', {class: 'c-ns', text: 'Namespace'}), h('span', {class: 'c-msg', text: 'Message'}),
    h('span', {class: 'c-count', text: 'Count'}));
  const body = h('div', {class: 'list-box'});
  fill(container, h('section', {class: 'view events'}, filters, status, header, body));
  const list = new VirtualList(body, (row, _i, el) => drawRow(row, el),
    (row) => { location.hash = objectLink(row); });

  function formParams() {
    const data = new FormData(filters);
    const next = {};
    for (const [k, v] of data) next[k] = String(v).trim();
    next.group = filters.elements.group.checked ? '1' : '';
    // A window from the timeline stays until the range is changed.
    if (p.from && next.range === (p.range || '1h')) { next.from = p.from; next.to = p.to; }
    if (next.range === '1h') next.range = '';
    return next;
  }
  let typing = 0;
  filters.addEventListener('input', (e) => {
    clearTimeout(typing);
    // A choice is a step Back returns from; typing replaces the step it began.
    const choice = e.target.tagName === 'SELECT' || e.target.type === 'checkbox';
    typing = setTimeout(() => go('events', formParams(), !choice), choice ? 0 : 300);
  });
  filters.addEventListener('submit', (e) => { e.preventDefault(); go('events', formParams(), true); });

  function redraw() {
    const words = (p.q || '').toLowerCase().split(/\s+/).filter(Boolean);
    let all = [...rows.values()].filter((r) => matchesText(r, words));
    all.sort((a, b) => b.last - a.last);
    if (p.group === '1') all = groupBySeries(all);
    shown = all;
    list.setItems(all);
    // The first rows on screen: what the benchmark measures as the first meaningful paint.
    if (all.length && !performance.getEntriesByName('kevents:events-rows').length) {
      requestAnimationFrame(() => performance.mark('kevents:events-rows'));
    }
    const what = p.group === '1' ? 'series' : 'events';
    const range = p.from ? ` from ${stamp(Date.parse(p.from))} to ${p.to ? stamp(Date.parse(p.to)) : 'now'}` : '';
    status.textContent = loading ? `Loading… ${rows.size} events so far` :
      `${all.length} ${what}${range}` + (rows.size >= MAX_ROWS ? ` (the newest ${MAX_ROWS})` : '');
    container.dataset.ready = loading ? '' : '1';
  }
  let pending = 0;
  function redrawSoon() {
    if (!pending) pending = setTimeout(() => { pending = 0; redraw(); }, 100);
  }

  async function load() {
    abort.abort();
    abort = new AbortController();
    const signal = abort.signal;
    rows = new Map();
    loading = true;
    status.classList.remove('bad');
    redraw();
    const path = p.ns ? `/api/v1/namespaces/${encodeURIComponent(p.ns)}/events` : '/api/v1/events';
    const fields = fieldSelector(p);
    try {
      const window = p.from ? {from: p.from, to: p.to} :
        {since: goDuration(parseDuration(p.range || '1h'))};
      const last = await listAll(path, {fieldSelector: fields, ...window, limit: PAGE},
        (items) => {
          for (const event of items) { const row = eventRow(event); rows.set(row.key, row); }
          redraw();
        }, signal, MAX_ROWS, FIRST_PAGE);
      loading = false;
      ctx.clearError();
      redraw();
      follow(path, {fieldSelector: fields, resourceVersion: last.metadata.resourceVersion},
        (change) => {
          const row = eventRow(change.object);
          if (change.type === 'DELETED') rows.delete(row.key);
          else if (p.to && row.last > Date.parse(p.to)) return;
          else rows.set(row.key, row);
          redrawSoon();
        }, signal, () => load(), (e) => ctx.showError(e), ctx.setLive);
    } catch (e) {
      if (e.name === 'AbortError') return;
      loading = false;
      ctx.showError(e);
      list.setItems([]);
      status.textContent = `Events could not be read: ${e.message}`;
      status.classList.add('bad');
      container.dataset.ready = '1';
    }
  }
  load();

  return {
    update(next) {
      const relist = SERVER.some((k) => (next[k] || '') !== (p[k] || ''));
      p = {...next};
      syncForm(filters, {...p, range: p.range || '1h', group: p.group || ''});
      if (relist) load();
      else redraw();
    },
    key(e) {
      if (e.key === 'j') list.move(1);
      else if (e.key === 'k') list.move(-1);
      else if (e.key === 'Enter') list.open();
      else if (e.key === '/') { e.preventDefault(); filters.elements.q.focus(); }
      else return false;
      return true;
    },
    destroy() { abort.abort(); list.destroy(); clearTimeout(pending); },
  };
}

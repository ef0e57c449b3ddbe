// The Alerts view: the rule engine's alerts from the read-only `alerts` resource
// (kevents.io/v1): firing, pending and recently resolved, filtered by state, severity,
// namespace and rule (all in the URL), kept current by a watch. An alert (click, or j/k and
// Enter) opens the events that caused it.

import {h, fill, select, input, notice, syncForm} from './dom.js';
import {go} from './params.js';
import {get, follow} from './api.js';
import {ago} from './time.js';
import {alertDetail, stateBadge, STATES} from './alert_detail.js';

const BASE = '/apis/kevents.io/v1';
const SEVERITIES = ['critical', 'warning', 'info'];
const SEVERITY_ORDER = {critical: 0, warning: 1, info: 2};
/** Labels every row already shows in its own columns. */
const SHOWN_LABELS = new Set(['alertname', 'severity', 'namespace']);

function keyOf(alert) {
  return `${alert.metadata.namespace || ''}/${alert.metadata.name}`;
}

function when(alert) {
  const s = alert.status;
  return Date.parse(s.state === 'resolved' ? s.resolvedAt : s.firingSince || s.activeSince) || 0;
}

/** The alerts of one state in the order people triage them: most severe, then newest. */
function ordered(alerts) {
  return alerts.sort((a, b) =>
    (SEVERITY_ORDER[a.spec.severity] ?? 3) - (SEVERITY_ORDER[b.spec.severity] ?? 3) || when(b) - when(a));
}

export function mount(container, params, ctx) {
  let p = {...params};
  let abort = new AbortController();
  let loadedNs = null;
  const alerts = new Map();
  let shown = [];
  let cursor = -1;

  const severities = SEVERITIES.includes(p.severity || '') || !p.severity ? SEVERITIES : [...SEVERITIES, p.severity];
  const filters = h('form', {class: 'filters', role: 'search'},
    select('State', 'state', p.state || '', [['', 'any'], ...STATES]),
    select('Severity', 'severity', p.severity || '', [['', 'any'], ...severities]),
    input('Namespace', 'ns', p.ns, 'all'),
    input('Rule', 'rule', p.rule, 'rule name  ( / )'));
  const status = h('p', {class: 'status', 'aria-live': 'polite'});
  const lists = h('div', {class: 'alert-lists'});
  const details = h('div', {class: 'alert-detail-box'});
  fill(container, h('section', {class: 'view scroll alerts'}, filters, status, details, lists));
  let opened = '';

  function formParams() {
    const next = {};
    for (const [k, v] of new FormData(filters)) next[k] = String(v).trim();
    return next;
  }
  let typing = 0;
  filters.addEventListener('input', (e) => {
    clearTimeout(typing);
    const choice = e.target.tagName === 'SELECT';
    typing = setTimeout(() => go('alerts', formParams(), !choice), choice ? 0 : 300);
  });
  filters.addEventListener('submit', (e) => { e.preventDefault(); go('alerts', formParams(), true); });

  function open(alert) {
    go('alerts', {...p, sel: alert.metadata.name, selns: alert.metadata.namespace || ''});
  }

  function row(alert) {
    const s = alert.status;
    const others = Object.entries(alert.metadata.labels || {})
      .filter(([k]) => !SHOWN_LABELS.has(k)).map(([k, v]) => `${k}=${v}`).join(', ');
    const since = s.state === 'resolved' ? `resolved ${ago(Date.parse(s.resolvedAt))}` :
      ago(Date.parse(s.firingSince || s.activeSince));
    const tr = h('tr', {class: `alert-row ${s.state}`, tabindex: '-1', 'data-name': alert.metadata.name,
      onclick: () => open(alert)},
      h('td', {}, stateBadge(s.state)),
      h('td', {class: 'c-rule', text: alert.spec.rule}),
      h('td', {class: `sev ${alert.spec.severity}`, text: alert.spec.severity || ''}),
      h('td', {class: 'c-ns', text: alert.metadata.namespace || '(cluster)'}),
      h('td', {class: 'msg', dir: 'auto', text: (alert.spec.annotations || {}).summary || others}),
      h('td', {class: 'num', text: s.value}),
      h('td', {class: 'num', text: (s.events || []).length}),
      h('td', {class: 'c-time', text: since, title: s.resolvedAt || s.firingSince || s.activeSince}));
    return tr;
  }

  function render() {
    const rule = (p.rule || '').toLowerCase();
    const matching = [...alerts.values()].filter((a) =>
      (!p.severity || a.spec.severity === p.severity) &&
      (!rule || a.spec.rule.toLowerCase().includes(rule)));
    const byState = Object.fromEntries(STATES.map((s) => [s, ordered(matching.filter((a) => a.status.state === s))]));
    status.textContent = STATES.map((s) => `${byState[s].length} ${s}`).join(', ') +
      (p.ns ? ` in ${p.ns}` : '') + '; resolved alerts are kept for a day';
    shown = [];
    const sections = STATES.filter((s) => !p.state || p.state === s).map((state) => {
      const items = byState[state];
      shown.push(...items);
      return h('section', {class: `alert-group ${state}`, 'data-state': state},
        h('h3', {text: `${state[0].toUpperCase()}${state.slice(1)} (${items.length})`}),
        items.length ? h('table', {},
          h('thead', {}, h('tr', {}, ['State', 'Rule', 'Severity', 'Namespace', 'Summary', 'Value', 'Events', 'Since']
            .map((t) => h('th', {text: t})))),
          h('tbody', {}, items.map(row))) : notice(`No ${state} alert${p.state || rule || p.severity ? ' matches' : ''}.`));
    });
    fill(lists, sections);
    cursor = Math.min(cursor, shown.length - 1);
    mark();
    const selected = p.sel && alerts.get(`${p.selns || ''}/${p.sel}`);
    if (p.sel && !selected) {
      fill(details, notice(`The alert ${p.sel} is not listed (any more): resolved alerts are kept for a day.`));
    } else {
      fill(details, selected ? alertDetail(selected, () => go('alerts', {...p, sel: '', selns: ''})) : null);
    }
    // A newly opened alert is shown where the reader is, above the lists.
    if (selected && opened !== keyOf(selected)) details.scrollIntoView({block: 'nearest'});
    opened = selected ? keyOf(selected) : '';
    container.dataset.ready = '1';
  }
  let pending = 0;
  function renderSoon() {
    if (!pending) pending = setTimeout(() => { pending = 0; render(); }, 200);
  }

  function mark() {
    lists.querySelectorAll('tr.alert-row').forEach((tr, i) => {
      tr.classList.toggle('selected', i === cursor);
      if (i === cursor) { tr.focus({preventScroll: true}); tr.scrollIntoView({block: 'nearest'}); }
    });
  }

  async function load() {
    abort.abort();
    abort = new AbortController();
    container.dataset.ready = '';
    alerts.clear();
    loadedNs = p.ns || '';
    const path = p.ns ? `${BASE}/namespaces/${encodeURIComponent(p.ns)}/alerts` : `${BASE}/alerts`;
    const signal = abort.signal;
    try {
      const list = await get(path, {}, signal);
      for (const a of list.items || []) alerts.set(keyOf(a), a);
      render();
      ctx.clearError();
      follow(path, {resourceVersion: list.metadata.resourceVersion}, (change) => {
        if (change.type === 'DELETED') alerts.delete(keyOf(change.object));
        else alerts.set(keyOf(change.object), change.object);
        renderSoon();
      }, signal, () => load(), (e) => ctx.showError(e), ctx.setLive);
    } catch (e) {
      if (e.name === 'AbortError') return;
      ctx.showError(e);
      fill(lists, notice(`Alerts could not be read: ${e.message}`, 'bad'));
      fill(details);
      container.dataset.ready = '1';
    }
  }

  load();
  return {
    update(next) {
      p = {...next};
      syncForm(filters, p);
      if ((p.ns || '') !== loadedNs) load();
      else render();
    },
    key(e) {
      if (e.key === 'j' || e.key === 'k') {
        cursor = Math.max(0, Math.min(shown.length - 1, cursor + (e.key === 'j' ? 1 : -1)));
        mark();
      } else if (e.key === 'Enter' && shown[cursor]) open(shown[cursor]);
      else if (e.key === 'Escape' && p.sel) go('alerts', {...p, sel: '', selns: ''});
      else if (e.key === '/') { e.preventDefault(); filters.elements.rule.focus(); } else return false;
      return true;
    },
    destroy() { abort.abort(); clearTimeout(pending); },
  };
}

// The Object history view: one object's events over time (occurrence bars, quiet gaps), its
// owner chain as its events tell it, every series with its pattern, and the event list.

import {h, fill, input, notice, typeBadge, syncForm} from './dom.js';
import {go, link} from './params.js';
import {get, listAll, follow, seenAt, firstAt, occurrences} from './api.js';
import {ago, duration, stamp} from './time.js';
import {barChart} from './bars.js';
import {ownerChain, childrenNamed} from './owners.js';

const BARS = 60;

function objectLink(p, kind, name) {
  return link('object', {cluster: p.cluster, ns: p.ns, kind, name});
}

/** Occurrences spread over each event's first..last seen, in BARS buckets; gaps marked. */
function occurrenceBuckets(events) {
  const first = Math.min(...events.map(firstAt));
  const last = Math.max(...events.map(seenAt), first + 60000);
  const width = (last - first) / BARS;
  const buckets = Array.from({length: BARS}, (_, i) => ({from: first + i * width,
    to: first + (i + 1) * width, normal: 0, warning: 0}));
  for (const event of events) {
    const n = occurrences(event);
    const a = firstAt(event);
    const b = seenAt(event);
    for (let k = 0; k < Math.min(n, 500); k++) {
      const at = n === 1 ? b : a + ((b - a) * k) / (Math.min(n, 500) - 1);
      const i = Math.min(BARS - 1, Math.max(0, Math.floor((at - first) / width)));
      const weight = n > 500 ? n / 500 : 1;
      if (event.type === 'Warning') buckets[i].warning += weight;
      else buckets[i].normal += weight;
    }
  }
  for (const b of buckets) { b.normal = Math.round(b.normal); b.warning = Math.round(b.warning); }
  return buckets;
}

/** Quiet stretches: runs of empty buckets between occurrences, longest first. */
function gaps(buckets) {
  const found = [];
  let start = -1;
  buckets.forEach((b, i) => {
    const empty = b.normal + b.warning === 0;
    if (empty && start < 0) start = i;
    if (!empty && start >= 0) {
      if (i - start >= 3) found.push({from: buckets[start].from, to: b.from});
      start = -1;
    }
  });
  for (const g of found) {
    for (const b of buckets) if (b.from >= g.from && b.to <= g.to) b.gap = true;
  }
  return found.sort((x, y) => (y.to - y.from) - (x.to - x.from));
}

export function mount(container, params, ctx) {
  let p = {...params};
  let abort = new AbortController();
  const form = h('form', {class: 'filters'},
    input('Cluster', 'cluster', p.cluster, 'own'),
    input('Kind', 'kind', p.kind, 'Pod'),
    input('Namespace', 'ns', p.ns, 'default'),
    input('Name', 'name', p.name, 'web-0'),
    h('button', {type: 'submit', text: 'Show'}));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = {};
    for (const [k, v] of new FormData(form)) next[k] = String(v).trim();
    go('object', next);
  });
  const body = h('div', {class: 'object-body'});
  fill(container, h('section', {class: 'view scroll object'}, form, body));

  async function load() {
    abort.abort();
    abort = new AbortController();
    const signal = abort.signal;
    container.dataset.ready = '';
    if (!p.kind || !p.name) {
      fill(body, notice('Name an object (kind, namespace, name), or open one from the Events view.'));
      container.dataset.ready = '1';
      return;
    }
    const prefix = p.cluster ? `/clusters/${encodeURIComponent(p.cluster)}` : '';
    const base = p.ns ? `${prefix}/api/v1/namespaces/${encodeURIComponent(p.ns)}/events` : `${prefix}/api/v1/events`;
    const fields = `involvedObject.kind=${p.kind},involvedObject.name=${p.name}`;
    try {
      const events = [];
      const list = await listAll(base, {fieldSelector: fields, limit: 5000}, (items) => events.push(...items),
        signal, 50000);
      const seriesPath = p.ns
        ? `${prefix}/apis/kevents.io/v1/namespaces/${encodeURIComponent(p.ns)}/eventseries`
        : `${prefix}/apis/kevents.io/v1/eventseries`;
      const [series, owners] = await Promise.all([
        get(seriesPath, {fieldSelector: fields}, signal).then((l) => l.items || []).catch(() => []),
        ownerChain(base, p.kind, p.name, signal).catch(() => []),
      ]);
      render(events, series, owners);
      ctx.clearError();
      container.dataset.ready = '1';
      follow(base, {fieldSelector: fields, resourceVersion: list.metadata.resourceVersion}, (change) => {
        const key = change.object.metadata.name;
        const i = events.findIndex((e) => e.metadata.name === key);
        if (change.type === 'DELETED') { if (i >= 0) events.splice(i, 1); }
        else if (i >= 0) events[i] = change.object;
        else events.push(change.object);
        render(events, series, owners);
      }, signal, () => load(), (e) => ctx.showError(e), ctx.setLive);
    } catch (e) {
      if (e.name === 'AbortError') return;
      ctx.showError(e);
      fill(body, notice(`The history could not be read: ${e.message}`, 'bad'));
      container.dataset.ready = '1';
    }
  }

  function render(events, series, owners) {
    const title = `${p.kind}/${p.ns ? p.ns + '/' : ''}${p.name}`;
    if (!events.length) {
      fill(body, h('h2', {text: title}), notice('The hub holds no events of this object.'));
      return;
    }
    events.sort((a, b) => seenAt(b) - seenAt(a));
    const total = events.reduce((n, e) => n + occurrences(e), 0);
    const warnings = events.filter((e) => e.type === 'Warning').reduce((n, e) => n + occurrences(e), 0);
    const restarts = events.filter((e) => e.reason === 'BackOff' || e.reason === 'CrashLoopBackOff')
      .reduce((n, e) => n + occurrences(e), 0);
    const first = Math.min(...events.map(firstAt));
    const last = Math.max(...events.map(seenAt));
    const buckets = occurrenceBuckets(events);
    const quiet = gaps(buckets);
    const width = Math.max(300, body.clientWidth || 800);
    const children = childrenNamed(p.kind, events);
    fill(body,
      h('h2', {text: title}),
      h('div', {class: 'chain', 'aria-label': 'owners'},
        h('span', {class: 'badge', text: 'owners'}),
        owners.length ? owners.map((o, i) => [i ? h('span', {class: 'arrow', text: '→'}) : h('span', {class: 'arrow', text: '↑'}),
          h('a', {href: objectLink(p, o.kind, o.name), class: 'owner', title: o.how,
            text: `${o.kind}/${o.name}${o.guessed ? ' (?)' : ''}`})]) : h('span', {class: 'muted', text: 'none named'})),
      children.length ? h('div', {class: 'chain'}, h('span', {class: 'badge', text: 'created'}),
        children.slice(0, 20).map((c) => h('a', {href: objectLink(p, c.kind, c.name), text: `${c.kind}/${c.name}`}))) : null,
      h('div', {class: 'cards'},
        card('Occurrences', total), card('Warnings', warnings), card('Restarts (back-off)', restarts, 'restarts'),
        card('Events', events.length), card('First seen', ago(first)), card('Last seen', ago(last))),
      h('h3', {text: 'Occurrences over time'}),
      barChart(buckets, {width, height: 140, label: (ms) => stamp(ms).slice(5, 16), title: 'occurrences',
        onBar: () => {}, onSelect: () => {}}),
      quiet.length ? h('p', {class: 'muted'}, `Quiet for ${quiet.slice(0, 3).map((g) =>
        `${duration((g.to - g.from) / 1000)} (from ${stamp(g.from)})`).join(', ')}`) : null,
      h('h3', {text: 'Series and their patterns'}),
      seriesTable(series),
      h('h3', {text: 'Events'}),
      eventsTable(events));
  }

  load();
  return {
    update(next) { p = {...next}; syncForm(form, p); load(); },
    destroy() { abort.abort(); },
  };
}

function card(label, value, cls) {
  return h('div', {class: `card ${cls || ''}`}, h('b', {text: String(value)}), label);
}

function seriesTable(series) {
  if (!series.length) return notice('No series (series are kept by the hub while it runs).');
  series.sort((a, b) => b.status.count - a.status.count);
  return h('table', {},
    h('thead', {}, h('tr', {}, ['Type', 'Reason', 'Count', 'Rate/min', 'First', 'Last', 'Pattern']
      .map((t) => h('th', {text: t})))),
    h('tbody', {}, series.map((s) => h('tr', {},
      h('td', {}, typeBadge(s.spec.type)), h('td', {text: s.spec.reason}),
      h('td', {class: 'num', text: s.status.count}), h('td', {class: 'num', text: s.status.ratePerMinute}),
      h('td', {text: ago(Date.parse(s.status.firstSeen))}), h('td', {text: ago(Date.parse(s.status.lastSeen))}),
      h('td', {class: 'msg', dir: 'auto', text: s.spec.template})))));
}

function eventsTable(events) {
  return h('table', {},
    h('thead', {}, h('tr', {}, ['Last seen', 'Type', 'Reason', 'Count', 'Message'].map((t) => h('th', {text: t})))),
    h('tbody', {}, events.slice(0, 500).map((e) => h('tr', {},
      h('td', {title: stamp(seenAt(e)), text: ago(seenAt(e))}), h('td', {}, typeBadge(e.type)),
      h('td', {text: e.reason || ''}), h('td', {class: 'num', text: occurrences(e)}),
      h('td', {class: 'msg', dir: 'auto', text: e.message || ''})))));
}

// The Alerts view: what the hub's rule engine reports about its alerts. The hub exposes the
// number of firing alerts and held alert groups in /metrics; each alert itself goes to
// Alertmanager and webhooks, which is where its labels, state and history are listed.

import {h, fill, notice} from './dom.js';
import {link} from './params.js';

const REFRESH_MS = 5000;
const WATCHED = {
  kevents_alerts_firing: 'Alerts firing now',
  kevents_alert_groups: 'Alert groups held (pending or firing)',
  kevents_alert_group_overflow_total: 'Occurrences not grouped (group limit reached)',
};

/** The values of the metrics named in WATCHED from Prometheus text. */
export function readMetrics(text) {
  const values = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && match[1] in WATCHED) values[match[1]] = (values[match[1]] || 0) + Number(match[3]);
  }
  return values;
}

export function mount(container, _params, ctx) {
  const abort = new AbortController();
  const cards = h('div', {class: 'cards'});
  fill(container, h('section', {class: 'view scroll alerts'},
    h('h2', {text: 'Alerts'}), cards,
    h('p', {class: 'muted'}, 'Each alert is sent to the Alertmanagers and webhooks of the hub ',
      '(--alertmanager-url, --webhook-url), with its labels, annotations and a link back to the events ',
      'of its object. The warnings that rules match most often: ',
      h('a', {href: link('events', {type: 'Warning', group: '1', range: '1h'}), text: 'Warning events of the last hour, by series'}),
      '.')));

  async function load() {
    try {
      const headers = {Accept: 'text/plain'};
      const token = sessionStorage.getItem('kevents.token');
      if (token) headers.Authorization = `Bearer ${token}`;
      const response = await fetch('/metrics', {headers, signal: abort.signal});
      if (!response.ok) throw new Error(`${response.status}: the hub's metrics could not be read`);
      const values = readMetrics(await response.text());
      fill(cards, Object.entries(WATCHED).map(([name, label]) =>
        h('div', {class: `card ${name === 'kevents_alerts_firing' && values[name] > 0 ? 'firing' : ''}`},
          h('b', {text: name in values ? String(values[name]) : '–'}), label)));
      ctx.clearError();
    } catch (e) {
      if (e.name === 'AbortError') return;
      ctx.showError(e);
      fill(cards, notice(`Alert state could not be read: ${e.message}`, 'bad'));
    }
    container.dataset.ready = '1';
  }
  load();
  const timer = setInterval(load, REFRESH_MS);
  return {destroy() { abort.abort(); clearInterval(timer); }};
}

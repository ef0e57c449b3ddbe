// The Clusters view: the hub's own events and every collected cluster, with the collector's
// lag, last contact and event rate, refreshed every few seconds.

import {h, fill, notice} from './dom.js';
import {link} from './params.js';
import {get} from './api.js';
import {ago} from './time.js';

const REFRESH_MS = 5000;
/** A collector silent for this long is marked stale. */
const STALE_MS = 120000;

export function mount(container, _params, ctx) {
  const abort = new AbortController();
  const status = h('p', {class: 'status'});
  const body = h('div');
  fill(container, h('section', {class: 'view scroll clusters'}, status, body));

  async function load() {
    try {
      const list = await get('/kevents/v1/clusters', {}, abort.signal);
      render(list.items || []);
      ctx.clearError();
    } catch (e) {
      if (e.name === 'AbortError') return;
      ctx.showError(e);
      fill(body, notice(`Clusters could not be read: ${e.message}`, 'bad'));
    }
    container.dataset.ready = '1';
  }

  function render(items) {
    const now = Date.now();
    status.textContent = `${items.length} cluster${items.length === 1 ? '' : 's'}; refreshed every ${REFRESH_MS / 1000}s`;
    fill(body, h('table', {},
      h('thead', {}, h('tr', {}, ['Cluster', 'Events', 'Events/min', 'Lag', 'Last contact', 'Cursor', 'State']
        .map((t) => h('th', {text: t})))),
      h('tbody', {}, items.map((c) => {
        const contact = c.lastContact ? Date.parse(c.lastContact) : 0;
        const stale = !c.own && (!contact || now - contact > STALE_MS);
        return h('tr', {class: stale ? 'stale' : ''},
          h('td', {}, h('a', {href: link('events', {cluster: c.own ? '' : c.name, range: '1h'}), text: c.name}),
            c.own ? [' ', h('span', {class: 'badge', text: 'this hub'})] : null),
          h('td', {class: 'num', text: c.events}),
          h('td', {class: 'num', text: c.ratePerMinute ?? ''}),
          h('td', {class: 'num', text: c.lagSeconds === null || c.lagSeconds === undefined ? '' : `${Number(c.lagSeconds).toFixed(1)}s`}),
          h('td', {text: c.own ? '' : contact ? ago(contact) : 'never'}),
          h('td', {text: c.cursor || ''}),
          h('td', {}, c.own ? 'serving' : stale ? h('span', {class: 'badge firing', text: '⚠ stale'}) : 'collecting'));
      }))));
  }

  load();
  const timer = setInterval(load, REFRESH_MS);
  return {destroy() { abort.abort(); clearInterval(timer); }};
}

// The Clusters view: the hub's own events and every collected cluster, with the collector's
// lag, last contact and event rate, following the hub's watch of its cluster list.

import {h, fill, notice} from './dom.js';
import {link} from './params.js';
import {get, watch} from './api.js';
import {ago} from './time.js';

const PATH = '/kevents/v1/clusters';
/** Ages ("12s ago") and stale marks are redrawn this often between changes. */
const REDRAW_MS = 5000;
/** After a failed list or watch, the view tries again this much later. */
const RETRY_MS = 2000;
/** A collector silent for this long is marked stale. */
const STALE_MS = 120000;

export function mount(container, _params, ctx) {
  const abort = new AbortController();
  const status = h('p', {class: 'status'});
  const body = h('div');
  fill(container, h('section', {class: 'view scroll clusters'}, status, body));

  let clusters = new Map();

  // List, then follow the watch; when it ends (timeout, hub restarted) or fails, list again.
  async function run() {
    const signal = abort.signal;
    while (!signal.aborted) {
      try {
        const list = await get(PATH, {}, signal);
        clusters = new Map((list.items || []).map((c) => [c.name, c]));
        render();
        ctx.clearError();
        container.dataset.ready = '1';
        ctx.setLive(true);
        await watch(PATH, {}, (change) => {
          if (change.type === 'DELETED') clusters.delete(change.object.name);
          else clusters.set(change.object.name, change.object);
          render();
        }, signal);
      } catch (e) {
        if (signal.aborted || e.name === 'AbortError') return;
        ctx.setLive(false);
        ctx.showError(e);
        fill(body, notice(`Clusters could not be read: ${e.message}`, 'bad'));
        container.dataset.ready = '1';
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  function render() {
    const now = Date.now();
    const items = [...clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    status.textContent = `${items.length} cluster${items.length === 1 ? '' : 's'}`;
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

  run();
  const timer = setInterval(render, REDRAW_MS);
  return {destroy() { abort.abort(); clearInterval(timer); }};
}

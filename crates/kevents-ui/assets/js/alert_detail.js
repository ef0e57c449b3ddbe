// One alert opened: its labels, annotations, times and value, and the events that caused it
// (the latest ones the rule engine keeps per alert), each linking to its object's history and
// to the events view filtered on it.

import {h} from './dom.js';
import {link} from './params.js';
import {ago, stamp} from './time.js';

/** The states of an alert, in the order the view lists them. */
export const STATES = ['firing', 'pending', 'resolved'];

const ICONS = {firing: '●', pending: '◔', resolved: '✓'};

/** An alert's state as an icon and a word, so colour is never the only signal. */
export function stateBadge(state) {
  return h('span', {class: `alert-state ${state}`, title: state},
    h('span', {class: 'icon', 'aria-hidden': 'true', text: ICONS[state] || '?'}),
    h('span', {class: 'word', text: state}));
}

function time(text) {
  if (!text) return '–';
  const at = Date.parse(text);
  return `${stamp(at)} (${ago(at)})`;
}

function eventRow(ref) {
  const object = ref.involvedObject || {};
  const ns = object.namespace || ref.namespace;
  return h('tr', {},
    h('td', {class: 'c-time', text: ago(Date.parse(ref.lastSeen)), title: ref.lastSeen}),
    h('td', {text: ref.cluster || '(this hub)'}),
    h('td', {class: 'c-ns', text: ref.namespace}),
    h('td', {class: 'c-reason', text: ref.reason}),
    h('td', {}, h('a', {class: 'object-link', href: link('object', {cluster: ref.cluster, ns, kind: object.kind, name: object.name}),
      text: `${object.kind}/${object.name}`})),
    h('td', {}, h('a', {class: 'events-link', href: link('events', {cluster: ref.cluster, ns: ref.namespace, reason: ref.reason,
      kind: object.kind, name: object.name, range: '24h'}), text: ref.name})),
    h('td', {class: 'num', text: ref.count}));
}

/** The panel of one alert; `onClose` runs when it is closed. */
export function alertDetail(alert, onClose) {
  const s = alert.status;
  const labels = Object.entries(alert.metadata.labels || {});
  const annotations = Object.entries(alert.spec.annotations || {});
  const events = s.events || [];
  return h('section', {class: 'alert-detail', 'aria-label': `Alert ${alert.spec.rule}`},
    h('div', {class: 'chain'},
      h('h2', {text: alert.spec.rule}), stateBadge(s.state),
      h('span', {class: 'spacer'}),
      h('button', {type: 'button', class: 'close', onclick: onClose, text: 'Close (Esc)'})),
    h('p', {class: 'labels'}, labels.map(([k, v]) => h('span', {class: 'badge label', dir: 'auto', text: `${k}=${v}`}))),
    annotations.map(([k, v]) => h('p', {class: 'annotation'}, h('b', {text: `${k}: `}), h('span', {dir: 'auto', text: v}))),
    h('table', {class: 'facts'}, h('tbody', {},
      h('tr', {}, h('th', {text: 'Active since'}), h('td', {text: time(s.activeSince)})),
      h('tr', {}, h('th', {text: 'Firing since'}), h('td', {text: time(s.firingSince)})),
      h('tr', {}, h('th', {text: 'Resolved'}), h('td', {text: time(s.resolvedAt)})),
      h('tr', {}, h('th', {text: 'Value'}), h('td', {text: `${s.value} (occurrences counted: ${s.count})`})))),
    h('h3', {text: `Events that caused it (the latest ${events.length})`}),
    events.length ? h('table', {class: 'alert-events'},
      h('thead', {}, h('tr', {}, ['Last seen', 'Cluster', 'Namespace', 'Reason', 'Object', 'Event', 'Count']
        .map((t) => h('th', {text: t})))),
      h('tbody', {}, events.map(eventRow))) :
      h('p', {class: 'notice', text: 'No event is kept for this alert (the rule engine was at --alert-max-bytes).'}));
}

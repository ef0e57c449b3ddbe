// Rows of the Events view: one event or one group of repeats (a series), and how each is drawn.

import {h, fill, typeBadge} from './dom.js';
import {link} from './params.js';
import {ago, duration, stamp} from './time.js';
import {seenAt, firstAt, occurrences, clusterOf} from './api.js';

/** The row of one stored event. */
export function eventRow(event) {
  const object = event.involvedObject || {};
  const meta = event.metadata || {};
  return {
    key: `${clusterOf(event)}/${meta.namespace}/${meta.name}`,
    cluster: clusterOf(event),
    namespace: meta.namespace || '',
    kind: object.kind || '',
    name: object.name || '',
    objectNamespace: object.namespace || '',
    type: event.type || 'Normal',
    reason: event.reason || '',
    message: event.message || '',
    source: (event.source && event.source.component) || event.reportingComponent || '',
    count: occurrences(event),
    first: firstAt(event),
    last: seenAt(event),
    events: 1,
  };
}

/** The series key of a row: the object, type, reason, source and the message with numbers masked. */
function seriesKey(row) {
  const template = row.message.replace(/[0-9a-f]{5,}|\d+/gi, '#');
  return [row.cluster, row.namespace, row.kind, row.name, row.type, row.reason, row.source,
    template].join('\u0000');
}

/** Folds rows into one per series (newest first), summing counts over their span. */
export function groupBySeries(rows) {
  const groups = new Map();
  for (const row of rows) {
    const key = seriesKey(row);
    const group = groups.get(key);
    if (!group) {
      groups.set(key, {...row});
      continue;
    }
    group.count += row.count;
    group.events += 1;
    group.first = Math.min(group.first, row.first);
    if (row.last > group.last) {
      group.last = row.last;
      group.message = row.message;
    }
  }
  return [...groups.values()].sort((a, b) => b.last - a.last);
}

/** True when the row's text holds every word of `text` (case-insensitive). */
export function matchesText(row, words) {
  if (!words.length) return true;
  const hay = `${row.message} ${row.reason} ${row.name} ${row.namespace} ${row.kind}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** "x12 over 2h" for a row counted more than once. */
export function repeats(row) {
  if (row.count <= 1) return '';
  const span = row.last - row.first;
  return span > 0 ? `x${row.count} over ${duration(span / 1000)}` : `x${row.count}`;
}

/** The object view's link for a row's involved object. */
export function objectLink(row) {
  return link('object', {cluster: row.cluster, kind: row.kind,
    ns: row.objectNamespace || (row.kind === 'Node' ? '' : row.namespace), name: row.name});
}

/** Draws `row` into the list element `el`. */
export function drawRow(row, el) {
  el.classList.toggle('warning', row.type === 'Warning');
  fill(el,
    h('span', {class: 'c-time', title: stamp(row.last), text: ago(row.last)}),
    typeBadge(row.type),
    h('span', {class: 'c-reason', title: row.reason, text: row.reason}),
    h('a', {class: 'c-object', href: objectLink(row), title: `${row.kind}/${row.name}`,
      text: `${row.kind.toLowerCase()}/${row.name}`}),
    h('span', {class: 'c-ns', title: row.namespace,
      text: row.cluster ? `${row.cluster}/${row.namespace}` : row.namespace}),
    h('span', {class: 'c-msg', title: row.message, dir: 'auto', text: row.message}),
    h('span', {class: 'c-count', text: repeats(row)}));
}

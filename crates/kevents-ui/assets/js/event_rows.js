// Rows of the Events view: one event or one group of repeats (a series), and how each is drawn.

import {h, fill} from './dom.js';
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

/** Builds the cells of a list row once; drawing a row then only sets their text. */
function cells(el) {
  const c = {
    time: h('span', {class: 'c-time'}),
    icon: h('span', {class: 'icon', 'aria-hidden': 'true'}),
    word: h('span', {class: 'word'}),
    reason: h('span', {class: 'c-reason'}),
    object: h('a', {class: 'c-object'}),
    ns: h('span', {class: 'c-ns'}),
    msg: h('span', {class: 'c-msg', dir: 'auto'}),
    count: h('span', {class: 'c-count'}),
  };
  c.type = h('span', {class: 'type'}, c.icon, c.word);
  fill(el, c.time, c.type, c.reason, c.object, c.ns, c.msg, c.count);
  el.cells = c;
  return c;
}

/** Draws `row` into the list element `el` (as text: textContent and attributes only). */
export function drawRow(row, el) {
  const c = el.cells || cells(el);
  const warning = row.type === 'Warning';
  el.classList.toggle('warning', warning);
  c.time.textContent = ago(row.last);
  c.time.title = stamp(row.last);
  c.type.className = warning ? 'type warning' : 'type normal';
  c.type.title = row.type;
  c.icon.textContent = warning ? '⚠' : '✓';
  c.word.textContent = row.type;
  c.reason.textContent = row.reason;
  c.reason.title = row.reason;
  c.object.textContent = `${row.kind.toLowerCase()}/${row.name}`;
  c.object.title = `${row.kind}/${row.name}`;
  c.object.href = objectLink(row);
  c.ns.textContent = row.cluster ? `${row.cluster}/${row.namespace}` : row.namespace;
  c.ns.title = row.namespace;
  // Past the width of any screen a message is cut: the list row shows one line of it.
  c.msg.textContent = row.message.length > 600 ? `${row.message.slice(0, 600)}…` : row.message;
  c.msg.title = row.message.length > 2000 ? `${row.message.slice(0, 2000)}…` : row.message;
  c.count.textContent = repeats(row);
}

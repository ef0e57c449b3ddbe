// The hub's own API, called from the browser with the token of this tab (sessionStorage), so
// the hub's authentication and authorization policy decide what the page may see.

const TOKEN_KEY = 'kevents.token';

/** The token of this tab, or ''. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/** Keeps `value` as the token of this tab ('' forgets it). */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer of the API that was not a success, with the message of its Status. */
export class ApiError extends Error {
  constructor(status, message, reason) {
    super(message);
    this.status = status;
    this.reason = reason || '';
  }
}

function headers() {
  const h = {Accept: 'application/json'};
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

/** The path with its query (empty values left out). */
export function url(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let reason = '';
  try {
    const status = await response.json();
    if (status && status.message) message = `${response.status}: ${status.message}`;
    reason = status.reason || '';
  } catch (_) { /* not a Status: keep the HTTP line */ }
  if (response.status === 401) message += ' — enter a token (Token, top right).';
  return new ApiError(response.status, message, reason);
}

/** GETs JSON from the hub. */
export async function get(path, query, signal) {
  let response;
  try {
    response = await fetch(url(path, query), {headers: headers(), signal});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `The hub did not answer (${e.message}).`);
  }
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * Lists every page of a list, calling `onPage(items, list)` per page; stops after `max` items.
 * The first page asks for `first` items when given (a quick first paint), the others for
 * `query.limit`.
 */
export async function listAll(path, query, onPage, signal, max, first) {
  let cont = '';
  let total = 0;
  let last = null;
  do {
    const limit = !cont && first ? first : query.limit;
    last = await get(path, {...query, limit, continue: cont}, signal);
    total += (last.items || []).length;
    onPage(last.items || [], last);
    cont = (last.metadata && last.metadata.continue) || '';
  } while (cont && total < (max || Infinity));
  return last;
}

/**
 * Follows a watch: calls `onEvent({type, object})` for each line of the stream until the stream
 * ends or `signal` aborts. Resolves with the last resourceVersion seen.
 */
export async function watch(path, query, onEvent, signal) {
  const response = await fetch(url(path, {...query, watch: '1', allowWatchBookmarks: 'true'}),
    {headers: headers(), signal});
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let version = query.resourceVersion;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return version;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (!line.trim()) continue;
      const change = JSON.parse(line);
      if (change.type === 'ERROR') {
        const status = change.object || {};
        throw new ApiError(status.code || 500, status.message || 'watch failed', status.reason);
      }
      const rv = change.object && change.object.metadata && change.object.metadata.resourceVersion;
      if (rv) version = rv;
      if (change.type !== 'BOOKMARK') onEvent(change);
    }
  }
}

/**
 * Keeps a watch going: reconnects from the last version after the stream ends, and calls
 * `onGone` (relist) when the version is too old (410). `onError` shows other failures.
 */
export function follow(path, query, onEvent, signal, onGone, onError, onLive) {
  let version = query.resourceVersion;
  (async () => {
    while (!signal.aborted) {
      try {
        if (onLive) onLive(true);
        version = await watch(path, {...query, resourceVersion: version}, onEvent, signal);
      } catch (e) {
        if (signal.aborted || e.name === 'AbortError') return;
        if (onLive) onLive(false);
        if (e.status === 410) { onGone(); return; }
        onError(e);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();
}

/** The time an event was last seen, in milliseconds. */
export function seenAt(event) {
  const t = (event.series && event.series.lastObservedTime) || event.lastTimestamp ||
    event.eventTime || event.firstTimestamp || (event.metadata || {}).creationTimestamp;
  return t ? Date.parse(t) : 0;
}

/** The time an event was first seen, in milliseconds. */
export function firstAt(event) {
  const t = event.firstTimestamp || event.eventTime || (event.metadata || {}).creationTimestamp;
  return t ? Date.parse(t) : seenAt(event);
}

/** Occurrences of an event (count or series.count, at least 1). */
export function occurrences(event) {
  return Math.max(1, (event.series && event.series.count) || event.count || 1);
}

/** The cluster of a collected event, or '' for the hub's own. */
export function clusterOf(event) {
  return ((event.metadata || {}).labels || {})['kevents.io/cluster'] || '';
}

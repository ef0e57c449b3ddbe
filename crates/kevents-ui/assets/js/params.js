// The URL holds each view's state: #/view?key=value&..., so every view is linkable.

/** The current view name and its parameters. */
export function current() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [view, query] = hash.split('?', 2);
  const params = {};
  for (const [k, v] of new URLSearchParams(query || '')) params[k] = v;
  return {view: view || 'events', params};
}

/** The hash of `view` with `params` (empty values left out). */
export function link(view, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') query.set(k, v);
  }
  const text = query.toString();
  return `#/${view}${text ? '?' + text : ''}`;
}

/** Moves to `view` with `params`; `replace` keeps the browser history short while typing. */
export function go(view, params, replace) {
  const hash = link(view, params);
  if (replace) history.replaceState(null, '', hash);
  else history.pushState(null, '', hash);
  window.dispatchEvent(new Event('hashchange'));
}

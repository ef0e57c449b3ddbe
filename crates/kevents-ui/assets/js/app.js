// The page: picks the view the URL names, keeps the token and the theme, and handles the
// keyboard (`/` to filter, j/k to move, Enter to open) and API errors (shown, never a blank page).

import {current} from './params.js';
import {token, setToken} from './api.js';
import * as events from './events.js';
import * as timeline from './timeline.js';
import * as object from './object.js';
import * as patterns from './patterns.js';
import * as clusters from './clusters.js';
import * as alerts from './alerts.js';

const VIEWS = {events, timeline, object, patterns, clusters, alerts};
const THEME_KEY = 'kevents.theme';

const main = document.getElementById('view');
const errorBox = document.getElementById('error');
const live = document.getElementById('live');
let active = null;
let activeName = '';

const ctx = {
  showError(e) {
    errorBox.textContent = e && e.message ? e.message : String(e);
    errorBox.hidden = false;
  },
  clearError() { errorBox.hidden = true; errorBox.textContent = ''; },
  setLive(on) { live.hidden = !on; },
};

function route() {
  const {view, params} = current();
  const name = VIEWS[view] ? view : 'events';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (active && activeName === name && active.update) {
    active.update(params);
    return;
  }
  if (active) active.destroy();
  ctx.clearError();
  ctx.setLive(false);
  main.dataset.ready = '';
  activeName = name;
  try {
    active = VIEWS[name].mount(main, params, ctx);
  } catch (e) {
    active = null;
    ctx.showError(e);
  }
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
}

function setup() {
  const saved = localStorage.getItem(THEME_KEY);
  const dark = saved ? saved === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  applyTheme(dark ? 'dark' : 'light');
  document.getElementById('theme-button').addEventListener('click', () => {
    const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(THEME_KEY, next);
    applyTheme(next);
  });

  const form = document.getElementById('token-form');
  const field = document.getElementById('token-input');
  document.getElementById('token-button').addEventListener('click', () => {
    form.hidden = !form.hidden;
    if (!form.hidden) { field.value = token(); field.focus(); }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(field.value.trim());
    form.hidden = true;
    active = active && (active.destroy(), null);
    route();
  });
  document.getElementById('token-clear').addEventListener('click', () => {
    setToken('');
    field.value = '';
    form.hidden = true;
    active = active && (active.destroy(), null);
    route();
  });

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = e.target.closest && e.target.closest('input, select, textarea');
    if (typing) {
      if (e.key === 'Escape') e.target.blur();
      return;
    }
    if (active && active.key && active.key(e)) e.preventDefault();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('unhandledrejection', (e) => ctx.showError(e.reason));
  route();
}

setup();

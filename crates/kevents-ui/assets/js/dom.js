// Building elements from data. Text always goes in as text (textContent), never as markup,
// so a message holding HTML or a script is shown, not run.

/** Creates an element: h('a', {href: '#/x', class: 'y'}, 'text', child, ...). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** The type of an event as an icon and a word, so colour is never the only signal. */
export function typeBadge(type) {
  const warning = type === 'Warning';
  return h('span', {class: warning ? 'type warning' : 'type normal', title: type || 'Normal'},
    h('span', {class: 'icon', 'aria-hidden': 'true', text: warning ? '⚠' : '✓'}),
    h('span', {class: 'word', text: type || 'Normal'}));
}

/** A labelled select with the given options ([value, label] pairs or strings). */
export function select(label, name, value, options) {
  const sel = h('select', {name, id: `f-${name}`});
  for (const option of options) {
    const [v, text] = Array.isArray(option) ? option : [option, option || 'any'];
    const opt = h('option', {value: v, text});
    if (v === value) opt.selected = true;
    sel.appendChild(opt);
  }
  return h('label', {class: 'field'}, h('span', {text: label}), sel);
}

/** A labelled text input. */
export function input(label, name, value, placeholder) {
  return h('label', {class: 'field'}, h('span', {text: label}),
    h('input', {name, id: `f-${name}`, value: value || '', placeholder: placeholder || '',
      autocomplete: 'off', spellcheck: 'false'}));
}

/** A message in place of a view's content. */
export function notice(text, kind) {
  return h('p', {class: `notice ${kind || ''}`, text});
}

/** Sets the fields of `form` from `params` (a view's URL state), e.g. after Back or a link. */
export function syncForm(form, params) {
  for (const el of form.elements) {
    if (!el.name) continue;
    const value = params[el.name] || '';
    if (el.type === 'checkbox') el.checked = value === '1';
    else if (document.activeElement !== el && el.value !== value) el.value = value;
  }
}

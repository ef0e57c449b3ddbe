// A virtualized list: only the rows in view (plus a margin) exist in the page, so 100,000
// rows scroll as smoothly as 100. Rows have one fixed height, read from the CSS (--row-h).

import {h} from './dom.js';

const OVERSCAN = 8;

export class VirtualList {
  /**
   * `render(item, index, el)` fills a row element; `onOpen(item)` runs on Enter or a click.
   */
  constructor(container, render, onOpen) {
    this.items = [];
    this.render = render;
    this.onOpen = onOpen;
    this.selected = -1;
    this.scroller = h('div', {class: 'vlist', tabindex: '0', role: 'list'});
    this.spacer = h('div', {class: 'vlist-spacer'});
    this.scroller.appendChild(this.spacer);
    this.pool = [];
    container.appendChild(this.scroller);
    this.scroller.addEventListener('scroll', () => this.schedule());
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.scroller);
    this.scroller.addEventListener('click', (e) => {
      const row = e.target.closest('.row');
      if (!row || e.target.closest('a')) return;
      this.select(Number(row.dataset.index));
      this.open();
    });
  }

  rowHeight() {
    if (!this.height) {
      const value = getComputedStyle(this.scroller).getPropertyValue('--row-h');
      this.height = parseFloat(value) || 32;
    }
    return this.height;
  }

  /** Shows `items` (keeps the scroll position). */
  setItems(items) {
    this.items = items;
    if (this.selected >= items.length) this.selected = items.length - 1;
    this.height = 0;
    this.spacer.style.height = `${items.length * this.rowHeight()}px`;
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  draw() {
    const rh = this.rowHeight();
    const top = this.scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / rh) - OVERSCAN);
    const last = Math.min(this.items.length,
      Math.ceil((top + this.scroller.clientHeight) / rh) + OVERSCAN);
    const needed = last - first;
    while (this.pool.length < needed) {
      const el = h('div', {class: 'row', role: 'listitem'});
      this.pool.push(el);
      this.scroller.appendChild(el);
    }
    for (let i = 0; i < this.pool.length; i++) {
      const el = this.pool[i];
      const index = first + i;
      if (index >= last) { el.hidden = true; el.dataset.index = ''; continue; }
      el.hidden = false;
      el.style.transform = `translateY(${index * rh}px)`;
      if (el.dataset.index !== String(index) || el.item !== this.items[index]) {
        el.dataset.index = String(index);
        el.item = this.items[index];
        this.render(this.items[index], index, el);
      }
      el.classList.toggle('selected', index === this.selected);
    }
  }

  /** Moves the selection by `delta` rows (j/k) and keeps it in view. */
  move(delta) {
    if (!this.items.length) return;
    this.select(Math.min(this.items.length - 1, Math.max(0, this.selected + delta)));
  }

  select(index) {
    this.selected = index;
    const rh = this.rowHeight();
    const top = index * rh;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + rh > this.scroller.scrollTop + this.scroller.clientHeight) {
      this.scroller.scrollTop = top + rh - this.scroller.clientHeight;
    }
    this.draw();
  }

  open() {
    if (this.selected >= 0 && this.items[this.selected]) this.onOpen(this.items[this.selected]);
  }

  destroy() {
    this.resize.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
  }
}

// Not written yet: this view says so instead of showing nothing.
import {fill, notice} from './dom.js';

export function mount(container) {
  fill(container, notice('This view comes in a later version of the hub.'));
  container.dataset.ready = '1';
  return {destroy() {}};
}

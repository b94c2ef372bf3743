// The menu of a message's actions: one popup for the page, opened from the "Message actions"
// button beside a message, with a row of emoji to react with (the one I chose marked) above the
// actions that apply to that message (Reply, Edit, Delete, Message info). It follows WAI-ARIA's
// menu button pattern: the focus goes to its first item; the arrow keys move (left and right
// along the emoji, up and down between the rows), Home and End too; Enter or Space chooses;
// Escape or Tab closes it and the focus goes back to the button; a click elsewhere closes it.
// Choosing an item closes the menu first, so the item may move the focus elsewhere.

import { el, icon } from './dom.js';

/** Room kept between the menu and the edges of the window, in pixels. */
const MARGIN = 8;

/**
 * @typedef {object} MenuItem
 * @property {string} label
 * @property {() => void} run
 * @property {string} [key]  names the item for tests and styles (data-action)
 * @property {string} [icon]  an SVG path
 * @property {boolean} [danger]
 */

/**
 * @typedef {object} EmojiItem
 * @property {string} emoji
 * @property {string} label  e.g. "React with thumbs up"
 * @property {boolean} checked  my current reaction
 * @property {() => void} run
 */

export class MessageMenu {
  constructor() {
    this.menu = el('div', 'message-menu');
    this.menu.id = 'message-menu';
    this.menu.setAttribute('role', 'menu');
    this.menu.setAttribute('aria-label', 'Message actions');
    this.menu.hidden = true;
    document.body.append(this.menu);
    /** The button that opened the menu, while it is open. */
    this.button = null;
    /** The items, row by row: the emoji row first, then one row per action. */
    this.rows = [];
    this.menu.addEventListener('keydown', (event) => this.onKey(event));
    document.addEventListener('pointerdown', (event) => {
      if (this.button && !this.menu.contains(event.target) && !this.button.contains(event.target)) this.close(false);
    });
    document.addEventListener('scroll', () => this.place(), true);
    window.addEventListener('resize', () => this.close(false));
  }

  get isOpen() {
    return this.button !== null;
  }

  /**
   * Opens the menu under (or above) `button` with `emoji` to react with and `actions`; a
   * second press of the same button closes it.
   * @param {HTMLElement} button
   * @param {{ emoji: EmojiItem[], actions: MenuItem[] }} items
   */
  open(button, { emoji, actions }) {
    const again = this.button === button;
    this.close(again);
    if (again) return;
    this.button = button;
    const emojiRow = emoji.map((item) => this.emojiItem(item));
    const actionRows = actions.map((item) => [this.actionItem(item)]);
    this.rows = [emojiRow, ...actionRows].filter((row) => row.length > 0);
    const children = [];
    if (emojiRow.length > 0) {
      const group = el('div', 'menu-emoji');
      group.setAttribute('role', 'group');
      group.setAttribute('aria-label', 'React');
      group.append(...emojiRow);
      children.push(group);
    }
    children.push(...actionRows.flat());
    this.menu.replaceChildren(...children);
    this.menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    button.setAttribute('aria-controls', this.menu.id);
    this.place();
    this.rows[0]?.[0]?.focus({ preventScroll: true });
  }

  emojiItem({ emoji, label, checked, run }) {
    const item = this.item('menu-emoji-item', run);
    item.setAttribute('role', 'menuitemradio');
    item.setAttribute('aria-checked', String(checked));
    item.setAttribute('aria-label', label);
    item.title = label;
    item.dataset.emoji = emoji;
    item.textContent = emoji;
    return item;
  }

  actionItem({ label, run, key = '', icon: d = '', danger = false }) {
    const item = this.item(`menu-item${danger ? ' danger' : ''}`, run);
    item.setAttribute('role', 'menuitem');
    if (key) item.dataset.action = key;
    if (d) item.append(icon(d, 20));
    item.append(el('span', '', label));
    return item;
  }

  item(className, run) {
    const item = el('button', className);
    item.type = 'button';
    item.tabIndex = -1;
    item.addEventListener('click', () => {
      this.close(true);
      run();
    });
    return item;
  }

  /** Puts the menu beside its button, inside the window; closes it if the button is gone. */
  place() {
    if (!this.button) return;
    if (!this.button.isConnected) {
      this.close(false);
      return;
    }
    const anchor = this.button.getBoundingClientRect();
    const { offsetWidth: width, offsetHeight: height } = this.menu;
    const below = anchor.bottom + 4;
    const top = below + height + MARGIN <= window.innerHeight ? below : Math.max(MARGIN, anchor.top - 4 - height);
    const out = this.button.closest('.msg')?.classList.contains('out');
    let left = out ? anchor.right - width : anchor.left;
    left = Math.min(Math.max(MARGIN, left), window.innerWidth - width - MARGIN);
    this.menu.style.top = `${Math.round(top)}px`;
    this.menu.style.left = `${Math.round(left)}px`;
  }

  /** Closes the menu; `refocus` gives the focus back to the button that opened it. */
  close(refocus) {
    const button = this.button;
    if (!button) return;
    this.button = null;
    this.rows = [];
    this.menu.hidden = true;
    this.menu.replaceChildren();
    button.setAttribute('aria-expanded', 'false');
    button.removeAttribute('aria-controls');
    if (refocus && button.isConnected) button.focus({ preventScroll: true });
  }

  /** Where the focus is in the menu: [row, column], or null. */
  position() {
    for (const [r, row] of this.rows.entries()) {
      const c = row.indexOf(document.activeElement);
      if (c >= 0) return [r, c];
    }
    return null;
  }

  onKey(event) {
    const at = this.position() ?? [0, 0];
    const [r, c] = at;
    const row = this.rows[r];
    const moves = {
      ArrowRight: () => row[(c + 1) % row.length],
      ArrowLeft: () => row[(c - 1 + row.length) % row.length],
      ArrowDown: () => this.rows[(r + 1) % this.rows.length][0],
      ArrowUp: () => {
        const above = this.rows[(r - 1 + this.rows.length) % this.rows.length];
        return above[Math.min(c, above.length - 1)];
      },
      Home: () => this.rows[0][0],
      End: () => this.rows.at(-1).at(-1),
    };
    if (moves[event.key]) {
      event.preventDefault();
      moves[event.key]()?.focus({ preventScroll: true });
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.close(true);
    } else if (event.key === 'Tab') {
      // Back to the button; the browser then moves the focus on from there.
      this.close(true);
    }
  }
}

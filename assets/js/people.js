// The people picker of the "New group" dialog and the members panel: a search box that finds
// people by username (GET /api/users?q=), results to pick from, and the people picked shown as
// chips that can be taken off again. Enter in the box picks the first result.
//
// Its root holds [data-picker-input], [data-picker-results], [data-picker-chips] and
// [data-picker-status] (a polite live region saying how many were found).

import { api } from './api.js';
import { debounce, el } from './dom.js';
import { paintAvatar } from './format.js';

export class PeoplePicker {
  /**
   * @param {object} options
   * @param {Element} options.root
   * @param {import('./store.js').ConversationStore} options.store  learns the names found
   * @param {() => Set<string>} [options.exclude]  usernames that cannot be picked (members)
   * @param {() => void} [options.onChange]  the people picked changed
   */
  constructor({ root, store, exclude = () => new Set(), onChange = () => {} }) {
    this.store = store;
    this.exclude = exclude;
    this.onChange = onChange;
    this.input = root.querySelector('[data-picker-input]');
    this.results = root.querySelector('[data-picker-results]');
    this.chips = root.querySelector('[data-picker-chips]');
    this.status = root.querySelector('[data-picker-status]');
    /** username → user object, in the order picked */
    this.picked = new Map();
    this.found = [];
    this.searchSoon = debounce(() => this.search(), 200);
    this.input.addEventListener('input', () => this.searchSoon());
    this.input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      const first = this.found.find((user) => !this.exclude().has(user.username));
      if (first) this.toggle(first);
    });
    this.results.addEventListener('click', (event) => {
      const item = event.target.closest('li[data-username]');
      const user = item && this.found.find((u) => u.username === item.dataset.username);
      if (user && !this.exclude().has(user.username)) this.toggle(user);
    });
    this.chips.addEventListener('click', (event) => {
      const chip = event.target.closest('button[data-unpick]');
      if (!chip) return;
      this.picked.delete(chip.dataset.unpick);
      this.paint();
      this.input.focus();
      this.onChange();
    });
    this.paint();
  }

  /** The usernames picked, in order. */
  get usernames() {
    return [...this.picked.keys()];
  }

  /** Empties the box, the results and the picks. */
  reset() {
    this.input.value = '';
    this.found = [];
    this.picked.clear();
    this.paint();
  }

  async search() {
    const query = this.input.value.trim();
    if (!query) {
      this.found = [];
      this.paint();
      return;
    }
    let users = [];
    try {
      ({ users } = await api(`/api/users?q=${encodeURIComponent(query)}`));
    } catch {
      users = [];
    }
    if (this.input.value.trim() !== query) return;
    this.store.learn(users);
    this.found = users;
    this.paint();
    this.status.textContent = users.length === 0 ? 'No one with that username.' : `${users.length} found.`;
  }

  /** Picks `user`, or takes them off when already picked; the box is cleared for the next. */
  toggle(user) {
    if (this.picked.has(user.username)) this.picked.delete(user.username);
    else this.picked.set(user.username, user);
    this.input.value = '';
    this.found = [];
    this.paint();
    this.input.focus();
    this.onChange();
  }

  paint() {
    const excluded = this.exclude();
    this.results.replaceChildren(...this.found.map((user) => this.resultRow(user, excluded.has(user.username))));
    this.results.hidden = this.found.length === 0;
    if (this.found.length === 0 && !this.input.value.trim()) this.status.textContent = '';
    this.chips.replaceChildren(...[...this.picked.values()].map((user) => this.chip(user)));
    this.chips.hidden = this.picked.size === 0;
  }

  resultRow(user, member) {
    const item = el('li');
    item.dataset.username = user.username;
    const button = el('button', 'row person');
    button.type = 'button';
    button.disabled = member;
    button.setAttribute('aria-pressed', String(this.picked.has(user.username)));
    const avatar = el('span', 'avatar');
    avatar.setAttribute('aria-hidden', 'true');
    paintAvatar(avatar, user.display_name);
    const main = el('span', 'row-main');
    main.append(el('span', 'row-name', user.display_name));
    main.append(el('span', 'row-preview', member ? `@${user.username} · already a member` : `@${user.username}`));
    const check = el('span', 'pick-mark', this.picked.has(user.username) ? '✓' : '');
    check.setAttribute('aria-hidden', 'true');
    button.append(avatar, main, check);
    item.append(button);
    return item;
  }

  chip(user) {
    const item = el('li', 'chip');
    item.dataset.username = user.username;
    item.append(el('span', 'chip-name', user.display_name));
    const remove = el('button', 'chip-remove', '×');
    remove.type = 'button';
    remove.dataset.unpick = user.username;
    remove.setAttribute('aria-label', `Remove ${user.display_name}`);
    item.append(remove);
    return item;
  }
}

// The conversation list view (newest activity first, last-message preview, unread badges), the
// unread total in the tab title, and the people search that starts a new chat.
//
// It renders from the model (`store.js`), keyed by conversation id, whenever the model
// changes; it keeps no conversations of its own, only the row elements it drew for them.

import { api } from './api.js';
import { byId, debounce, el } from './dom.js';
import { formatListTime, paintAvatar, ticksFor, unreadLabel } from './format.js';

export class ConversationList {
  /**
   * @param {object} options
   * @param {import('./store.js').ConversationStore} options.store
   * @param {import('./typing.js').TypingWatcher} options.typing
   * @param {string} options.baseTitle  the tab title without the unread count
   */
  constructor({ store, typing, baseTitle }) {
    this.store = store;
    this.me = store.me;
    this.typing = typing;
    this.baseTitle = baseTitle;
    this.list = byId('conversations');
    this.empty = byId('no-conversations');
    this.chatsTitle = byId('chats-title');
    this.search = byId('search');
    this.peopleSection = byId('people-section');
    this.people = byId('people');
    this.peopleEmpty = byId('people-empty');
    /** conversation id → its row */
    this.rows = new Map();
    this.searchSoon = debounce(() => this.runSearch(), 200);
    this.search.addEventListener('input', () => this.searchSoon());
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        this.search.value = '';
        this.runSearch();
      }
    });
    store.subscribe(() => this.render());
  }

  /** Whether the search box lets `conversation` through. */
  matches(conversation, query) {
    if (!query) return true;
    const { username, display_name: name } = conversation.with;
    return username.includes(query) || name.toLowerCase().includes(query);
  }

  render() {
    const query = this.search.value.trim().toLowerCase();
    const shown = new Set();
    // Only direct conversations have rows until group pages exist; all count in the title.
    for (const conversation of this.store.sorted()) {
      if (conversation.kind !== 'direct' || !this.matches(conversation, query)) continue;
      let row = this.rows.get(conversation.id);
      if (!row) {
        row = this.makeRow(conversation);
        this.rows.set(conversation.id, row);
      }
      this.paintRow(row, conversation);
      this.list.append(row);
      shown.add(conversation.id);
    }
    for (const [id, row] of this.rows) {
      if (!shown.has(id)) {
        row.remove();
        if (!this.store.get(id)) this.rows.delete(id);
      }
    }
    this.empty.hidden = !this.store.loaded || this.store.conversations.size > 0 || Boolean(query);
    this.chatsTitle.hidden = !query || shown.size === 0;
    const total = this.store.unreadTotal;
    document.title = total > 0 ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  makeRow(conversation) {
    const { username } = conversation.with;
    const item = el('li');
    item.dataset.conversationId = String(conversation.id);
    item.dataset.username = username;
    const link = el('a', 'row');
    link.href = `/messages/chat/${encodeURIComponent(username)}/`;
    const main = el('span', 'row-main');
    const top = el('span', 'row-top');
    top.append(el('span', 'row-name'), el('time', 'row-time'));
    const bottom = el('span', 'row-bottom');
    // A count with a spoken label ("3 unread messages"): aria-label names only an element with
    // a role, so the badge is an image of its number, as the ticks are.
    const badge = el('span', 'badge');
    badge.setAttribute('role', 'img');
    bottom.append(el('span', 'row-preview'), badge);
    main.append(top, bottom);
    link.append(el('span', 'avatar large'), main);
    item.append(link);
    return item;
  }

  paintRow(row, conversation) {
    const { username, display_name: name } = conversation.with;
    const last = conversation.last_message;
    const link = row.querySelector('a');
    if (conversation.id === this.store.openId) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
    paintAvatar(row.querySelector('.avatar'), name);
    row.querySelector('.row-name').textContent = name;
    row.querySelector('.row-name').title = `@${username}`;
    const time = row.querySelector('.row-time');
    time.textContent = last ? formatListTime(new Date(last.created_at)) : '';
    if (last) time.dateTime = last.created_at;
    const preview = row.querySelector('.row-preview');
    preview.replaceChildren();
    const typing = this.typing.isTyping(username);
    preview.classList.toggle('typing', typing);
    if (typing) {
      preview.textContent = 'typing…';
    } else if (last) {
      if (last.sender === this.me) {
        const { text, label } = ticksFor(last.status);
        const ticks = el('span', 'ticks', text);
        ticks.dataset.ticks = last.status;
        ticks.setAttribute('role', 'img');
        ticks.setAttribute('aria-label', label);
        preview.append(ticks);
      }
      preview.append(last.body.split('\n', 1)[0]);
    }
    const badge = row.querySelector('.badge');
    badge.hidden = conversation.unread === 0;
    badge.textContent = String(conversation.unread);
    badge.setAttribute('aria-label', unreadLabel(conversation.unread));
    row.classList.toggle('unread', conversation.unread > 0);
    row.dataset.unread = String(conversation.unread);
  }

  /** Someone started or stopped typing: their row's preview says so. */
  onTyping() {
    this.render();
  }

  async runSearch() {
    const query = this.search.value.trim();
    this.render();
    if (!query) {
      this.peopleSection.hidden = true;
      return;
    }
    let users = [];
    try {
      ({ users } = await api(`/api/users?q=${encodeURIComponent(query)}`));
    } catch {
      users = [];
    }
    if (this.search.value.trim() !== query) return;
    this.people.replaceChildren(...users.map((user) => this.personRow(user)));
    this.peopleEmpty.hidden = users.length > 0;
    this.peopleSection.hidden = false;
  }

  personRow(user) {
    const item = el('li');
    item.dataset.username = user.username;
    const link = el('a', 'row');
    link.href = `/messages/chat/${encodeURIComponent(user.username)}/`;
    const main = el('span', 'row-main');
    const top = el('span', 'row-top');
    top.append(el('span', 'row-name', user.display_name));
    const bottom = el('span', 'row-bottom');
    bottom.append(el('span', 'row-preview', `@${user.username}`));
    main.append(top, bottom);
    const avatar = el('span', 'avatar large');
    paintAvatar(avatar, user.display_name);
    link.append(avatar, main);
    item.append(link);
    return item;
  }
}

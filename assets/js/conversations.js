// The conversation list (newest activity first, last-message preview, unread badges), the
// unread total in the tab title, and the people search that starts a new chat.
//
// Live events update the list at once; a re-fetch of GET /api/conversations (debounced, and
// repeated if events arrived meanwhile) then settles exact counts and names.

import { api, goToLogin } from './api.js';
import { byId, debounce, el } from './dom.js';
import { formatListTime, paintAvatar, ticksFor, unreadLabel } from './format.js';
import { isAfter } from './statuses.js';

export class ConversationList {
  constructor({ me, activePeer, typing, baseTitle }) {
    this.me = me;
    this.activePeer = activePeer;
    this.typing = typing;
    this.baseTitle = baseTitle;
    this.list = byId('conversations');
    this.empty = byId('no-conversations');
    this.chatsTitle = byId('chats-title');
    this.search = byId('search');
    this.peopleSection = byId('people-section');
    this.people = byId('people');
    this.peopleEmpty = byId('people-empty');
    /** username → { with, last_message, unread } */
    this.conversations = new Map();
    this.rows = new Map();
    this.fetching = false;
    this.dirty = false;
    this.loaded = false;
    this.scheduleRefresh = debounce(() => this.refresh(), 250);
    this.searchSoon = debounce(() => this.runSearch(), 200);
    this.search.addEventListener('input', () => this.searchSoon());
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        this.search.value = '';
        this.runSearch();
      }
    });
  }

  /** Re-reads the list from the server; if events come in meanwhile, reads it once more. */
  async refresh() {
    if (this.fetching) {
      this.dirty = true;
      return;
    }
    this.fetching = true;
    this.dirty = false;
    try {
      const { conversations } = await api('/api/conversations');
      this.conversations = new Map(conversations.map((c) => [c.with.username, c]));
      this.loaded = true;
      this.render();
    } catch (error) {
      if (error.status === 401) goToLogin();
      else setTimeout(() => this.refresh(), 3_000);
    } finally {
      this.fetching = false;
      if (this.dirty) this.scheduleRefresh();
    }
  }

  /** A message event (or ack): preview, order and unread count change now. */
  onMessage(message, reading) {
    const other = message.sender === this.me ? message.recipient : message.sender;
    let conversation = this.conversations.get(other);
    if (!conversation) {
      conversation = { with: { username: other, display_name: other }, last_message: null, unread: 0 };
      this.conversations.set(other, conversation);
    }
    const last = conversation.last_message;
    if (!last || message.id > last.id) {
      conversation.last_message = { ...message };
      if (message.recipient === this.me && message.status !== 'read' && !reading) conversation.unread += 1;
    } else if (last.id === message.id) {
      conversation.last_message = { ...message };
    }
    this.render();
    this.scheduleRefresh();
  }

  /** A status event: ticks of the preview now, unread counts when the list is re-read. */
  onStatus(frame) {
    for (const conversation of this.conversations.values()) {
      const last = conversation.last_message;
      if (last && frame.message_ids.includes(last.id) && isAfter(frame.status, last.status)) {
        last.status = frame.status;
      }
    }
    this.render();
    if (frame.by === this.me) this.scheduleRefresh();
  }

  sorted() {
    const at = (c) => (c.last_message ? c.last_message.id : 0);
    return [...this.conversations.values()].sort((a, b) => at(b) - at(a));
  }

  render() {
    const query = this.search.value.trim().toLowerCase();
    const shown = new Set();
    let total = 0;
    for (const conversation of this.sorted()) {
      total += conversation.unread;
      const { username, display_name: name } = conversation.with;
      if (query && !username.includes(query) && !name.toLowerCase().includes(query)) continue;
      let row = this.rows.get(username);
      if (!row) {
        row = this.makeRow(username);
        this.rows.set(username, row);
      }
      this.paintRow(row, conversation);
      this.list.append(row);
      shown.add(username);
    }
    for (const [username, row] of this.rows) {
      if (!shown.has(username)) {
        row.remove();
        if (!this.conversations.has(username)) this.rows.delete(username);
      }
    }
    this.empty.hidden = !this.loaded || this.conversations.size > 0 || Boolean(query);
    this.chatsTitle.hidden = !query || shown.size === 0;
    document.title = total > 0 ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  makeRow(username) {
    const item = el('li');
    item.dataset.username = username;
    const link = el('a', 'row');
    link.href = `/messages/chat/${encodeURIComponent(username)}/`;
    if (username === this.activePeer) link.setAttribute('aria-current', 'page');
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

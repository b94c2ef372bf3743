// The conversation list view (newest activity first, last-message preview, unread badges), the
// unread total in the tab title, and the people search that starts a new chat. Groups are
// listed with their title, an icon, the last message with its sender's name (or who is typing,
// or how many members), and past groups (left or removed) stay listed, marked as such. An
// edited last message shows as it is now; a deleted one says so; one with attachments says
// what they are ("📎 cv.pdf", "📷 Photo") when it has no text.
//
// Message requests (a first contact from a stranger, or a group added to by one) are listed
// apart, under "Requests", each with Accept, Decline and Block (`safety.js`).
//
// It renders from the model (`store.js`), keyed by conversation id, whenever the model
// changes; it keeps no conversations of its own, only the row elements it drew for them.

import { api } from './api.js';
import { previewText } from './attachments.js';
import { DELETED_TEXT } from './bubble.js';
import { byId, debounce, el } from './dom.js';
import { formatListTime, paintAvatar, paintGroupAvatar, ticksFor, unreadLabel } from './format.js';
import { requestActions } from './safety.js';
import { joinNames, systemText } from './system.js';

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
    this.requestsSection = byId('requests-section');
    this.requestsList = byId('requests');
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
    if (conversation.kind === 'group') return (conversation.title ?? '').toLowerCase().includes(query);
    const { username, display_name: name } = conversation.with;
    return username.includes(query) || name.toLowerCase().includes(query);
  }

  /** Whether the list can draw `conversation` (kinds this page knows). */
  static listable(conversation) {
    return conversation.kind === 'group' || (conversation.kind === 'direct' && conversation.with);
  }

  render() {
    const query = this.search.value.trim().toLowerCase();
    const shown = new Set();
    for (const conversation of this.store.sorted()) {
      if (!ConversationList.listable(conversation) || !this.matches(conversation, query)) continue;
      let row = this.rows.get(conversation.id);
      if (!row) {
        row = conversation.kind === 'group' ? this.makeGroupRow(conversation) : this.makeRow(conversation);
        this.rows.set(conversation.id, row);
      }
      this.paintRow(row, conversation);
      this.paintRequest(row, conversation);
      (conversation.request && this.requestsList ? this.requestsList : this.list).append(row);
      shown.add(conversation.id);
    }
    for (const [id, row] of this.rows) {
      if (!shown.has(id)) {
        row.remove();
        if (!this.store.get(id)) this.rows.delete(id);
      }
    }
    if (this.requestsSection) this.requestsSection.hidden = this.requestsList.children.length === 0;
    this.empty.hidden = !this.store.loaded || this.store.conversations.size > 0 || Boolean(query);
    this.chatsTitle.hidden = !query || shown.size === 0;
    const total = this.store.unreadTotal;
    document.title = total > 0 ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  makeRow(conversation) {
    const { username } = conversation.with;
    const item = this.rowShell(conversation, `/messages/chat/${encodeURIComponent(username)}/`);
    item.dataset.username = username;
    return item;
  }

  makeGroupRow(conversation) {
    const item = this.rowShell(conversation, `/messages/groups/${conversation.id}/`);
    item.dataset.kind = 'group';
    paintGroupAvatar(item.querySelector('.avatar'), conversation.id);
    return item;
  }

  rowShell(conversation, href) {
    const item = el('li');
    item.dataset.conversationId = String(conversation.id);
    const link = el('a', 'row');
    link.href = href;
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
    const avatar = el('span', 'avatar large');
    avatar.setAttribute('aria-hidden', 'true');
    link.append(avatar, main);
    item.append(link);
    return item;
  }

  paintRow(row, conversation) {
    const group = conversation.kind === 'group';
    const last = conversation.last_message;
    const link = row.querySelector('a');
    if (conversation.id === this.store.openId) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
    const nameNode = row.querySelector('.row-name');
    if (group) {
      nameNode.textContent = conversation.title || 'New group';
      nameNode.title = conversation.member_count === 1 ? '1 member' : `${conversation.member_count} members`;
      this.paintPast(row, conversation);
    } else {
      const { username, display_name: name } = conversation.with;
      paintAvatar(row.querySelector('.avatar'), name);
      nameNode.textContent = name;
      nameNode.title = `@${username}`;
    }
    const time = row.querySelector('.row-time');
    time.textContent = last ? formatListTime(new Date(last.created_at)) : '';
    if (last) time.dateTime = last.created_at;
    this.paintPreview(row.querySelector('.row-preview'), conversation);
    const badge = row.querySelector('.badge');
    badge.hidden = conversation.unread === 0;
    badge.textContent = String(conversation.unread);
    badge.setAttribute('aria-label', unreadLabel(conversation.unread));
    row.classList.toggle('unread', conversation.unread > 0);
    row.dataset.unread = String(conversation.unread);
  }

  /** A request's row carries its Accept / Decline / Block buttons; others carry none. */
  paintRequest(row, conversation) {
    const actions = row.querySelector('.request-actions');
    if (conversation.request && !actions) {
      row.append(requestActions(conversation, () => this.store.refresh()));
    } else if (!conversation.request && actions) {
      actions.remove();
    }
    row.classList.toggle('request', Boolean(conversation.request));
  }

  /** A past group (left or removed) says so after its title. */
  paintPast(row, conversation) {
    let tag = row.querySelector('.row-tag');
    if (conversation.left && !tag) {
      tag = el('span', 'row-tag', 'Past group');
      row.querySelector('.row-name').after(tag);
    } else if (!conversation.left && tag) {
      tag.remove();
    }
    row.classList.toggle('past', Boolean(conversation.left));
  }

  /** Who is typing, else the last message (with its sender's name in a group), else members. */
  paintPreview(preview, conversation) {
    const group = conversation.kind === 'group';
    const last = conversation.last_message;
    preview.replaceChildren();
    const typers = group ? this.typing.typersIn(conversation.id) : [];
    const typing = group ? typers.length > 0 : this.typing.isTyping(conversation.with.username);
    preview.classList.toggle('typing', typing);
    if (typing) {
      const names = typers.map((u) => this.store.nameOf(u));
      preview.textContent = !group ? 'typing…' : `${joinNames(names)} ${names.length > 1 ? 'are' : 'is'} typing…`;
    } else if (last?.kind === 'system') {
      preview.textContent = systemText(last, this.me, (u) => this.store.callName(u));
    } else if (last?.deleted) {
      preview.append(el('em', 'row-deleted', DELETED_TEXT));
    } else if (last) {
      if (last.sender === this.me) {
        const { text, label } = ticksFor(last.status);
        const ticks = el('span', 'ticks', text);
        ticks.dataset.ticks = last.status;
        ticks.setAttribute('role', 'img');
        ticks.setAttribute('aria-label', label);
        preview.append(ticks);
      } else if (group) {
        preview.append(el('span', 'row-sender', `${this.store.nameOf(last.sender)}: `));
      }
      preview.append(previewText(last));
    } else if (group) {
      preview.textContent = `${conversation.member_count} members`;
    }
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
    avatar.setAttribute('aria-hidden', 'true');
    paintAvatar(avatar, user.display_name);
    link.append(avatar, main);
    item.append(link);
    return item;
  }
}

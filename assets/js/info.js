// "Message info" for one of my messages: who has read it, who has it delivered, who has
// neither yet (GET /api/messages/{id}/receipts), with local times. While it is open it is
// read again whenever a status event of its conversation covers the message, so it stays live.

import { api } from './api.js';
import { previewText } from './attachments.js';
import { Dialog } from './dialogs.js';
import { byId, debounce, el } from './dom.js';
import { formatWhen, paintAvatar } from './format.js';

export class MessageInfo {
  /**
   * @param {object} options
   * @param {import('./store.js').ConversationStore} options.store
   * @param {(id: number) => object|null} options.messageOf  the message shown with an id
   */
  constructor({ store, messageOf }) {
    this.store = store;
    this.messageOf = messageOf;
    this.dialog = new Dialog(byId('info-dialog'), { onClose: () => (this.id = null) });
    this.quote = byId('info-quote');
    this.sent = byId('info-sent');
    this.lists = { read: byId('info-read'), delivered: byId('info-delivered'), pending: byId('info-pending') };
    this.status = byId('info-status');
    /** The message shown, while the dialog is open. */
    this.id = null;
    this.conversationId = null;
    this.reloadSoon = debounce(() => this.load(), 150);
    store.subscribe((change) => {
      if (change.type === 'status' && this.covers(change.frame)) this.reloadSoon();
    });
  }

  /** Whether a status event may have moved the open message for someone. */
  covers(frame) {
    if (this.id === null || frame.conversation_id !== this.conversationId || frame.by === this.store.me) return false;
    return frame.message_ids ? frame.message_ids.includes(this.id) : this.id <= frame.up_to_id;
  }

  open(id) {
    const message = this.messageOf(id);
    if (!message) return;
    this.id = id;
    this.conversationId = message.conversation_id;
    this.quote.textContent = message.body || previewText(message);
    const sent = new Date(message.created_at);
    this.sent.textContent = `Sent ${formatWhen(sent)}`;
    this.sent.dateTime = sent.toISOString();
    for (const list of Object.values(this.lists)) {
      list.replaceChildren();
      list.closest('section').hidden = false;
    }
    this.status.textContent = 'Loading…';
    this.dialog.open();
    this.load();
  }

  async load() {
    const id = this.id;
    if (id === null) return;
    let receipts;
    try {
      receipts = await api(`/api/messages/${id}/receipts`);
    } catch (error) {
      if (this.id === id) this.status.textContent = `Could not load the message info (${error.message}).`;
      return;
    }
    if (this.id !== id) return;
    this.store.learn([...receipts.read, ...receipts.delivered].map((r) => r.user).concat(receipts.pending));
    this.paint('read', receipts.read);
    this.paint('delivered', receipts.delivered);
    this.paint('pending', receipts.pending.map((user) => ({ user, at: null })));
    const total = receipts.read.length + receipts.delivered.length + receipts.pending.length;
    this.status.textContent = total === 0 ? 'Nobody else was here when this was sent.' : '';
  }

  /** Fills one list: "Read by" says when it is empty, the others are left out then. */
  paint(kind, entries) {
    const list = this.lists[kind];
    list.closest('section').hidden = entries.length === 0 && kind !== 'read';
    if (entries.length === 0) {
      list.replaceChildren(el('li', 'info-none', 'Nobody yet'));
      return;
    }
    list.replaceChildren(
      ...entries.map(({ user, at }) => {
        const item = el('li', 'info-person');
        item.dataset.username = user.username;
        const avatar = el('span', 'avatar');
        avatar.setAttribute('aria-hidden', 'true');
        paintAvatar(avatar, user.display_name);
        const name = el('span', 'info-name', user.display_name);
        name.title = `@${user.username}`;
        item.append(avatar, name);
        if (at) {
          const date = new Date(at);
          const time = el('time', 'info-time', formatWhen(date));
          time.dateTime = date.toISOString();
          item.append(time);
        }
        return item;
      }),
    );
  }
}

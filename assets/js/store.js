// The page's one model: the person's conversations keyed by conversation id — kind, the other
// party of a direct one, last message, unread count — and which one is open. The views
// subscribe to it and render from it; none keeps a map of its own.
//
// Fed by GET /api/conversations (at load, and re-read shortly after live changes to settle
// exact counts and names), by the socket's `message` and `status` events (each names its
// `conversation_id`; a message of a conversation not known yet creates it), and by what this
// page does itself: its acked sends come back as messages, its reads as status events by me.
//
// A direct chat is opened by username (its URL); it becomes a conversation id here, once —
// from the list, its history or its first message — and everything after that is by id.

import { api, goToLogin } from './api.js';
import { debounce } from './dom.js';
import { isAfter } from './statuses.js';

/**
 * @typedef {object} Conversation
 * @property {number} id
 * @property {'direct'|'group'} kind
 * @property {{ username: string, display_name: string }} [with]  the other party (direct)
 * @property {object|null} last_message
 * @property {number} unread  messages from others not read yet
 */

/**
 * @typedef {{ type: 'list' } | { type: 'open', id: number }
 *   | { type: 'message', id: number, message: object }
 *   | { type: 'status', id: number, frame: object }} Change
 */

export class ConversationStore {
  /**
   * @param {object} options
   * @param {string} options.me
   * @param {string} [options.openPeer]  the username of the open direct chat, if any
   * @param {string} [options.openPeerName]  their display name
   * @param {() => boolean} options.looking  whether the person can see the page now
   */
  constructor({ me, openPeer = '', openPeerName = '', looking }) {
    this.me = me;
    this.openPeer = openPeer;
    this.openPeerName = openPeerName || openPeer;
    /** The open chat's conversation id: null until known (a new chat has none before its first message). */
    this.openId = null;
    this.looking = looking;
    /** @type {Map<number, Conversation>} */
    this.conversations = new Map();
    /** Whether the list has been read from the server once. */
    this.loaded = false;
    /**
     * Ids of messages to me seen live but not counted unread (read already, or arriving in the
     * open chat while looking): their read receipts must not lower the count. Cleared when the
     * list is re-read, whose counts are the server's.
     */
    this.uncounted = new Set();
    this.listeners = new Set();
    this.fetching = false;
    this.dirty = false;
    this.scheduleRefresh = debounce(() => this.refresh(), 250);
  }

  /** Calls `listener(change)` after every change; returns the function that stops it. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @param {Change} change */
  notify(change) {
    for (const listener of this.listeners) listener(change);
  }

  get(id) {
    return this.conversations.get(id);
  }

  /** Newest activity first. */
  sorted() {
    const at = (c) => (c.last_message ? c.last_message.id : 0);
    return [...this.conversations.values()].sort((a, b) => at(b) - at(a));
  }

  /** Unread messages over all conversations. */
  get unreadTotal() {
    let total = 0;
    for (const conversation of this.conversations.values()) total += conversation.unread;
    return total;
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
      this.conversations = new Map(conversations.map((c) => [c.id, c]));
      this.uncounted.clear();
      this.loaded = true;
      const open = conversations.find((c) => c.kind === 'direct' && c.with.username === this.openPeer);
      if (open) this.opened(open.id, false);
      this.notify({ type: 'list' });
    } catch (error) {
      if (error.status === 401) goToLogin();
      else setTimeout(() => this.refresh(), 3_000);
    } finally {
      this.fetching = false;
      if (this.dirty) this.scheduleRefresh();
    }
  }

  /** The open chat's conversation id is `id` (learned from the list, history or a message). */
  opened(id, announce = true) {
    if (!this.openPeer || this.openId !== null) return;
    this.openId = id;
    if (announce) this.notify({ type: 'open', id });
  }

  /** Whether `message`, a direct one, is between me and the open chat's peer. */
  withOpenPeer(message) {
    if (!this.openPeer || message.recipient == null) return false;
    const other = message.sender === this.me ? message.recipient : message.sender;
    return other === this.openPeer;
  }

  /** The conversation of `message`, made from it when it is the first one seen. */
  entryFor(message) {
    const id = message.conversation_id;
    let conversation = this.conversations.get(id);
    if (conversation) return conversation;
    if (message.recipient == null) {
      conversation = { id, kind: 'group', last_message: null, unread: 0 };
    } else {
      const other = message.sender === this.me ? message.recipient : message.sender;
      const name = other === this.openPeer ? this.openPeerName : other;
      conversation = { id, kind: 'direct', with: { username: other, display_name: name }, last_message: null, unread: 0 };
    }
    this.conversations.set(id, conversation);
    return conversation;
  }

  /** A message event or an ack: preview, order and unread count change now. */
  applyMessage(message) {
    if (this.openId === null && this.withOpenPeer(message)) this.opened(message.conversation_id, false);
    const conversation = this.entryFor(message);
    const toMe = message.sender !== this.me;
    const last = conversation.last_message;
    if (!last || message.id > last.id) {
      conversation.last_message = { ...message };
      const reading = conversation.id === this.openId && this.looking();
      if (toMe && message.status !== 'read' && !reading) conversation.unread += 1;
      else if (toMe) this.uncounted.add(message.id);
    } else if (last.id === message.id && !isAfter(last.status, message.status)) {
      conversation.last_message = { ...message };
    }
    this.notify({ type: 'message', id: conversation.id, message });
    this.scheduleRefresh();
  }

  /** A status event: the preview's ticks now; my own reads lower the unread count now. */
  applyStatus(frame) {
    const conversation = this.conversations.get(frame.conversation_id);
    if (conversation) {
      const last = conversation.last_message;
      if (last && frame.message_ids.includes(last.id) && isAfter(frame.status, last.status)) {
        last.status = frame.status;
      }
      if (frame.by === this.me && frame.status === 'read') {
        for (const id of frame.message_ids) {
          if (!this.uncounted.delete(id)) conversation.unread = Math.max(0, conversation.unread - 1);
        }
      }
    }
    this.notify({ type: 'status', id: frame.conversation_id, frame });
    if (frame.by === this.me) this.scheduleRefresh();
  }
}

// The page's one model: the person's conversations keyed by conversation id — kind, the other
// party of a direct one or a group's title, member count, role and whether the person left,
// last message, unread count — which one is open, the open group's details and members, and
// the names of the people the page has met. The views subscribe to it and render from it;
// none keeps a map of its own.
//
// Fed by GET /api/conversations (at load, and re-read shortly after live changes to settle
// exact counts and names), by the socket's `message`, `status`, `message_updated` and
// `reaction` events (each names its `conversation_id`; a message of a conversation not known
// yet creates it, and a group's system messages change its title, membership and details), and
// by what this page does itself: its acked sends come back as messages, its reads as status
// events by me, and the answers to its edits, deletes and reactions are applied as they come.
// Edits, deletes and reactions change a message where it is shown (the open chat, the list's
// preview), never an unread count or the list's order.
//
// A direct chat is opened by username (its URL); it becomes a conversation id here, once —
// from the list, its history or its first message — and everything after that is by id. A
// group chat is opened by its id.

import { api, goToLogin } from './api.js';
import { debounce } from './dom.js';
import { withReaction } from './reactions.js';
import { isAfter } from './statuses.js';
import { membershipChange } from './system.js';
import { replacement } from './versions.js';

/** Whether `message` is one that `me` receives (and so marks delivered and read, and counts unread). */
export function toMe(message, me) {
  return message.sender !== me && message.kind !== 'system';
}

/**
 * The ids of a status event: its `message_ids`, or (a group event may leave them out when
 * there are over 1000) every id of `known` up to its `up_to_id`.
 */
export function statusIds(frame, known = []) {
  return frame.message_ids ?? known.filter((id) => id <= frame.up_to_id);
}

/**
 * @typedef {object} Conversation
 * @property {number} id
 * @property {'direct'|'group'} kind
 * @property {{ username: string, display_name: string }} [with]  the other party (direct)
 * @property {string} [title]  the group's title (group)
 * @property {number} [member_count]  (group)
 * @property {'owner'|'admin'|'member'|null} [role]  mine in the group; null once I left (group)
 * @property {boolean} [left]  I left or was removed: the group stays listed, read-only (group)
 * @property {object|null} last_message
 * @property {number} unread  messages from others not read yet
 */

/**
 * @typedef {{ type: 'list' } | { type: 'open', id: number }
 *   | { type: 'message', id: number, message: object }
 *   | { type: 'status', id: number, frame: object }
 *   | { type: 'updated', id: number, message: object, fromEvent: boolean }
 *   | { type: 'reaction', id: number, frame: object }
 *   | { type: 'group', id: number } | { type: 'names', id: null }} Change
 */

/**
 * @typedef {object} GroupDetails  the open group as GET /api/groups/{id} and its members have it
 * @property {object} group  the group object (title, description, settings, role, …)
 * @property {Array<{ user: object, role: string, joined_at: string }>|null} members  current
 *   members, null for a past member (who may not list them)
 */

export class ConversationStore {
  /**
   * @param {object} options
   * @param {string} options.me
   * @param {string} [options.openPeer]  the username of the open direct chat, if any
   * @param {string} [options.openPeerName]  their display name
   * @param {number} [options.openGroup]  the id of the open group chat, if any
   * @param {string} [options.meName]  my display name
   * @param {() => boolean} options.looking  whether the person can see the page now
   */
  constructor({ me, meName = '', openPeer = '', openPeerName = '', openGroup = 0, looking }) {
    this.me = me;
    this.openPeer = openPeer;
    this.openPeerName = openPeerName || openPeer;
    /**
     * The open chat's conversation id: null until known (a new direct chat has none before its
     * first message); a group's from the start.
     */
    this.openId = openGroup || null;
    /** username → display name, of everyone the page has met. */
    this.names = new Map([[me, meName || me]]);
    if (openPeer) this.names.set(openPeer, this.openPeerName);
    /** @type {Map<number, GroupDetails>} group id → its details, for the groups loaded. */
    this.details = new Map();
    this.reloadDetails = debounce((id) => this.loadGroup(id), 200);
    /** Usernames met without a display name (e.g. a group's sender), to look up once each. */
    this.unnamed = new Set();
    this.asked = new Set();
    this.lookUpSoon = debounce(() => this.lookUpNames(), 100);
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
      for (const c of conversations) if (c.with) this.learn([c.with]);
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

  /** Remembers the display names of `users` ({username, display_name} objects). */
  learn(users) {
    for (const user of users) if (user?.username) this.names.set(user.username, user.display_name || user.username);
  }

  /**
   * How the page calls `username`: their display name when known, else the username (and the
   * display name is looked up; `{type: 'names'}` tells the views when it is known).
   */
  nameOf(username) {
    const name = this.names.get(username);
    if (name) return name;
    if (username && !this.asked.has(username)) {
      this.unnamed.add(username);
      this.lookUpSoon();
    }
    return username;
  }

  /** Finds the display names of the people met without one (GET /api/users, by username). */
  async lookUpNames() {
    const wanted = [...this.unnamed];
    this.unnamed.clear();
    let learned = false;
    for (const username of wanted) {
      this.asked.add(username);
      try {
        const { users } = await api(`/api/users?q=${encodeURIComponent(username)}`);
        const user = users.find((u) => u.username === username);
        if (user) {
          this.learn([user]);
          learned = true;
        }
      } catch {
        // Unknown stays the username; a later page load asks again.
      }
    }
    if (learned) this.notify({ type: 'names', id: null });
  }

  /** The same, with "You" for me. */
  callName(username) {
    return username === this.me ? 'You' : this.nameOf(username);
  }

  /** Reads group `id` and its members (for the open group); `{type: 'group'}` tells the views. */
  async loadGroup(id) {
    try {
      const group = await api(`/api/groups/${id}`);
      let members = null;
      if (group.role) {
        try {
          ({ members } = await api(`/api/groups/${id}/members`));
          this.learn(members.map((m) => m.user));
        } catch (error) {
          if (error.code !== 'not_a_member') throw error;
        }
      }
      this.details.set(id, { group, members });
      const listed = this.conversations.get(id);
      if (listed) Object.assign(listed, { title: group.title, member_count: group.member_count, role: group.role, left: !group.role });
      this.notify({ type: 'group', id });
    } catch (error) {
      if (error.status === 401) goToLogin();
      else if (error.status !== 404) setTimeout(() => this.reloadDetails(id), 3_000);
    }
  }

  /** A group's system message: its list entry changes now, its details are read again. */
  applySystem(conversation, message) {
    const record = message.system;
    if (record.event === 'created' || record.event === 'renamed') conversation.title = record.title;
    if (record.event === 'created') conversation.member_count = record.targets.length + 1;
    if (record.event === 'members_added') conversation.member_count = (conversation.member_count ?? 1) + record.targets.length;
    if (record.event === 'member_removed' || record.event === 'member_left') {
      conversation.member_count = Math.max(0, (conversation.member_count ?? 1) - 1);
    }
    const mine = membershipChange(message, this.me);
    if (mine?.change === 'removed' || mine?.change === 'left') Object.assign(conversation, { left: true, role: null });
    else if (mine?.change === 'joined') Object.assign(conversation, { left: false, role: conversation.role ?? 'member' });
    if (this.details.has(conversation.id)) this.reloadDetails(conversation.id);
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
      const title = message.system?.title ?? '';
      conversation = { id, kind: 'group', title, member_count: 0, role: 'member', left: false, last_message: null, unread: 0 };
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
    const mine = !toMe(message, this.me);
    const last = conversation.last_message;
    if (!last || message.id > last.id) {
      conversation.last_message = { ...message };
      const reading = conversation.id === this.openId && this.looking();
      if (!mine && message.status !== 'read' && !reading && !message.deleted) conversation.unread += 1;
      else if (!mine) this.uncounted.add(message.id);
      if (message.system && conversation.kind === 'group') this.applySystem(conversation, message);
    } else if (last.id === message.id && !isAfter(last.status, message.status)) {
      conversation.last_message = { ...message };
    }
    this.notify({ type: 'message', id: conversation.id, message });
    this.scheduleRefresh();
  }

  /**
   * A status event: the preview's ticks now; my own reads lower the unread count now. My own
   * message's ticks follow only events with `all` (the status over every member); an event
   * about one member (`all: false`) changes my view only when that member is me.
   */
  applyStatus(frame) {
    const conversation = this.conversations.get(frame.conversation_id);
    if (conversation) {
      const last = conversation.last_message;
      const covered = last && (frame.message_ids ? frame.message_ids.includes(last.id) : last.id <= frame.up_to_id);
      const mineLast = last?.sender === this.me;
      if (covered && last.kind !== 'system' && (mineLast ? frame.all !== false : frame.by === this.me) && isAfter(frame.status, last.status)) {
        last.status = frame.status;
      }
      if (frame.by === this.me && frame.status === 'read') {
        for (const id of frame.message_ids ?? []) {
          if (!this.uncounted.delete(id)) conversation.unread = Math.max(0, conversation.unread - 1);
        }
      }
    }
    this.notify({ type: 'status', id: frame.conversation_id, frame });
    if (frame.by === this.me) this.scheduleRefresh();
  }

  /**
   * A message changed (edited or deleted): a `message_updated` event (`fromEvent`), or the
   * answer to this page's own edit or delete. The list's preview follows; the open chat hears
   * of it from `{type: 'updated'}`. A delete may change what the server counts unread, so the
   * list is re-read to settle it; nothing is counted here.
   */
  applyUpdate(message, { fromEvent = true } = {}) {
    const conversation = this.conversations.get(message.conversation_id);
    const last = conversation?.last_message;
    if (last && last.id === message.id) conversation.last_message = replacement(last, message, fromEvent);
    this.notify({ type: 'updated', id: message.conversation_id, message, fromEvent });
    if (message.deleted) this.scheduleRefresh();
  }

  /**
   * A `reaction` event, or this page's own reaction once the server took it: one person's
   * reaction on one message set, replaced or removed (`emoji: null`), by the contract's order.
   */
  applyReaction(frame) {
    const last = this.conversations.get(frame.conversation_id)?.last_message;
    if (last && last.id === frame.message_id && !last.deleted) {
      last.reactions = withReaction(last.reactions ?? [], frame.user, frame.emoji ?? null);
    }
    this.notify({ type: 'reaction', id: frame.conversation_id, frame });
  }
}

// The list of messages in the open chat, as DOM: one <li> per message in id order, pending
// sends (no id yet) after them, day separators between days. A stored message is shown once,
// whichever way it arrives (history page, ack, live event, replay): it is keyed by its id,
// and a pending bubble becomes the stored message when its client_id comes back. In a group,
// others' messages carry their sender's name (on the first of a run), and system messages are
// centred lines. How a text message looks is `bubble.js`'s; this list keeps each message as
// it is now — an edit or a delete replaces it, a reaction changes it (`versions.js`,
// `reactions.js`), and the quotes of it in replies follow — and hands the clicks on its
// controls (actions menu, message info, quote, reaction chip, a picture to open) to the chat.
//
// Only real ids ever appear in data-message-id; a pending bubble has data-client-id instead.

import { paintText, renderText } from './bubble.js';
import { el } from './dom.js';
import { dayKey, formatDay, ticksFor } from './format.js';
import { withReaction } from './reactions.js';
import { isAfter } from './statuses.js';
import { systemText } from './system.js';
import { quoteOf, replacement } from './versions.js';

/** A message's controls: the class of the button → the callback a click on it calls. */
const CONTROLS = Object.freeze([
  ['info-button', 'onInfo'],
  ['menu-button', 'onMenu'],
  ['quote', 'onQuote'],
  ['reaction', 'onReaction'],
]);

export class MessageList {
  /**
   * @param {object} options
   * @param {HTMLOListElement} options.list
   * @param {string} options.me
   * @param {{ nameOf: (u: string) => string, callName: (u: string) => string }} [options.names]
   *   people's names (the model); without it, usernames
   * @param {boolean} [options.group]  a group chat: sender names and system lines
   * @param {(id: number, button: HTMLElement) => void} [options.onInfo]  "Message info" pressed
   *   on one of mine
   * @param {(id: number, button: HTMLElement) => void} [options.onMenu]  "Message actions"
   * @param {(id: number) => void} [options.onQuote]  a quote pressed: show the message `id`
   * @param {(id: number, emoji: string) => void} [options.onReaction]  a reaction chip pressed
   * @param {(link: HTMLAnchorElement) => void} [options.onPicture]  a picture attached to a
   *   message was pressed (a plain click: with a modifier key, its link opens as links do)
   */
  constructor({ list, me, names = null, group = false, onInfo, onMenu, onQuote, onReaction, onPicture }) {
    this.list = list;
    this.me = me;
    this.names = names ?? { nameOf: (u) => u, callName: (u) => (u === me ? 'You' : u) };
    this.group = group;
    this.callbacks = { onInfo, onMenu, onQuote, onReaction, onPicture };
    list.addEventListener('click', (event) => this.onClick(event));
    /** id → { message, node } */
    this.byId = new Map();
    /** client_id → node, for sends not acknowledged yet. */
    this.pending = new Map();
    /** Real ids shown, ascending. */
    this.ids = [];
    /** The message being edited in place and its editor, { id, element }, or null. */
    this.editing = null;
  }

  onClick(event) {
    const picture = event.target.closest('.attachment-picture');
    if (picture && this.list.contains(picture)) {
      const plain = event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey && !event.altKey;
      if (plain && this.callbacks.onPicture) {
        event.preventDefault();
        this.callbacks.onPicture(picture);
      }
      return;
    }
    for (const [className, callback] of CONTROLS) {
      const button = event.target.closest(`.${className}`);
      if (!button || !this.list.contains(button) || !this.callbacks[callback]) continue;
      const id = Number(button.closest('[data-message-id]')?.dataset.messageId);
      if (callback === 'onQuote') this.callbacks.onQuote(Number(button.dataset.replyTo));
      else if (!id) return;
      else if (callback === 'onReaction') this.callbacks.onReaction(id, button.dataset.emoji);
      else this.callbacks[callback](id, button);
      return;
    }
  }

  /** The smallest real id shown: the only thing ever used as `before_id`. */
  get oldestId() {
    return this.ids.length ? this.ids[0] : null;
  }

  get size() {
    return this.ids.length + this.pending.size;
  }

  has(id) {
    return this.byId.has(id);
  }

  /**
   * Shows a stored message, or moves one already shown forward. Returns its node and whether
   * it is new to the person (not a pending bubble of theirs that got its id).
   */
  upsert(message) {
    const known = this.byId.get(message.id);
    if (known) {
      this.setStatus(known, message.status);
      return { node: known.node, fresh: false };
    }
    let node = message.sender === this.me && message.client_id ? this.pending.get(message.client_id) : undefined;
    const fresh = !node;
    if (node) {
      this.pending.delete(message.client_id);
      node.remove();
      delete node.dataset.clientId;
    } else {
      node = this.render(message);
    }
    node.dataset.messageId = String(message.id);
    const entry = { message: { ...message }, node };
    this.byId.set(message.id, entry);
    this.repaint(entry);
    this.insert(message.id, node);
    return { node, fresh };
  }

  /** A text message of mine (system messages of my doing have no ticks). */
  isMine(message) {
    return message.sender === this.me && message.kind !== 'system';
  }

  /** What a text message's look depends on besides the message (`bubble.js`). */
  look(id) {
    const stored = id != null;
    const editor = stored && this.editing?.id === id ? this.editing.element : null;
    return { me: this.me, group: this.group, names: this.names, stored, info: Boolean(this.callbacks.onInfo), editor };
  }

  /** Paints a stored text message again from what this list has of it now. */
  repaint(entry) {
    if (entry.message.kind === 'system') return;
    paintText(entry.node, entry.message, this.look(entry.message.id));
    if (this.isMine(entry.message)) this.paintTicks(entry.node, entry.message.status);
  }

  /**
   * A new version of a message (a `message_updated` event when `fromEvent`, else the answer
   * to this page's own edit or delete): the message shown changes, and so do its quotes.
   */
  update(message, fromEvent) {
    const entry = this.byId.get(message.id);
    let now = message;
    if (entry) {
      entry.message = replacement(entry.message, message, fromEvent);
      now = entry.message;
      if (now.deleted && this.editing?.id === now.id) this.editing = null;
      this.repaint(entry);
    }
    for (const other of this.byId.values()) {
      if (other.message.reply_to?.id !== now.id) continue;
      other.message.reply_to = quoteOf(now);
      this.repaint(other);
    }
  }

  /** One person's reaction on a message shown was set, replaced or removed (`emoji: null`). */
  react(frame) {
    const entry = this.byId.get(frame.message_id);
    if (!entry || entry.message.deleted || entry.message.kind === 'system') return;
    entry.message.reactions = withReaction(entry.message.reactions ?? [], frame.user, frame.emoji ?? null);
    this.repaint(entry);
  }

  /** Shows `element` in place of message `id`'s body; `null` shows the body again. */
  setEditor(id, element) {
    const before = this.editing?.id;
    this.editing = element ? { id, element } : null;
    for (const each of new Set([before, id])) {
      const entry = this.byId.get(each);
      if (entry) this.repaint(entry);
    }
  }

  /** The <li> of the stored message `id`, or null. */
  nodeOf(id) {
    return this.byId.get(id)?.node ?? null;
  }

  /** The newest stored message shown, or null. */
  newest() {
    return this.ids.length ? this.byId.get(this.ids.at(-1)).message : null;
  }

  /** The message shown with `id`, as this list has it now, or null. */
  message(id) {
    return this.byId.get(id)?.message ?? null;
  }

  /** Names became known (a group's members loaded): sender labels, quotes, system lines follow. */
  repaintNames() {
    for (const entry of this.byId.values()) {
      if (entry.message.kind === 'system') entry.node.querySelector('.system-text').textContent = this.systemLine(entry.message);
      else this.repaint(entry);
    }
  }

  systemLine(message) {
    return systemText(message, this.me, (username) => this.names.callName(username));
  }

  /**
   * Shows a send that is waiting for its ack, at the end (with the quote it replies to and the
   * files it carries).
   */
  addPending(entry) {
    const existing = this.pending.get(entry.client_id);
    if (existing) return existing;
    const node = this.render({
      sender: this.me,
      body: entry.body,
      created_at: entry.created_at,
      status: 'pending',
      reply_to: entry.quote ?? null,
      attachments: entry.files ?? [],
    });
    node.dataset.clientId = entry.client_id;
    this.pending.set(entry.client_id, node);
    this.list.append(node);
    return node;
  }

  /** Marks a pending send as refused, with the server's reason. */
  fail(clientId, reason) {
    const node = this.pending.get(clientId);
    if (!node) return;
    this.pending.delete(clientId);
    delete node.dataset.clientId;
    this.paintTicks(node, 'failed');
    node.querySelector('.bubble').append(el('span', 'failed-note', `Not sent: ${reason}`));
  }

  /**
   * A status event: each of `ids` shown moves forward to `status` — only mine, only others',
   * or any (`which`).
   */
  setStatuses(ids, status, which = 'any') {
    for (const id of ids) {
      const entry = this.byId.get(id);
      if (!entry || entry.message.kind === 'system') continue;
      const mine = entry.message.sender === this.me;
      if (which === 'any' || (which === 'mine') === mine) this.setStatus(entry, status);
    }
  }

  setStatus(entry, status) {
    if (entry.message.kind === 'system' || !isAfter(status, entry.message.status)) return;
    entry.message.status = status;
    if (entry.message.sender === this.me) this.paintTicks(entry.node, status);
  }

  /** A group's system message: a centred line, no bubble. */
  renderSystem(message) {
    const created = new Date(message.created_at);
    const node = el('li', 'system');
    node.dataset.time = String(created.getTime());
    node.dataset.sender = '';
    node.append(el('span', 'system-text', this.systemLine(message)));
    return node;
  }

  /** A new <li> for `message`: a system line, or a text message (stored or pending). */
  render(message) {
    if (message.kind === 'system') return this.renderSystem(message);
    const node = renderText(message, this.look(message.id));
    if (this.isMine(message)) this.paintTicks(node, message.status);
    return node;
  }

  paintTicks(node, status) {
    node.dataset.status = status;
    const ticks = node.querySelector('.ticks');
    if (!ticks) return;
    const { text, label } = ticksFor(status);
    ticks.textContent = text;
    ticks.dataset.ticks = status;
    ticks.setAttribute('aria-label', label);
    ticks.title = label;
  }

  /** Puts `node` before the first message with a larger id, else before pending sends. */
  insert(id, node) {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ids[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    const next = lo < this.ids.length ? this.byId.get(this.ids[lo]).node : this.firstPending();
    this.ids.splice(lo, 0, id);
    this.list.insertBefore(node, next ?? null);
  }

  firstPending() {
    for (const node of this.list.children) if (!node.dataset.messageId && node.classList.contains('msg')) return node;
    return null;
  }

  /** Redraws the day separators and the first-of-a-run marks, after any batch of changes. */
  relayout() {
    for (const day of this.list.querySelectorAll(':scope > .day')) day.remove();
    let lastDay = null;
    let lastSender = null;
    for (const node of [...this.list.children]) {
      const time = new Date(Number(node.dataset.time));
      const key = dayKey(time);
      const newDay = key !== lastDay;
      if (newDay) {
        // A list item of its own: an <ol> holds only <li>s, and a role (e.g. separator) on
        // one would make it a non-item child of the list for assistive technology.
        this.list.insertBefore(el('li', 'day', formatDay(time)), node);
      }
      node.classList.toggle('first', newDay || node.dataset.sender !== lastSender);
      lastDay = key;
      lastSender = node.dataset.sender;
    }
  }
}

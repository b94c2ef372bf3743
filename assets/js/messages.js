// The list of messages in the open chat, as DOM: one <li> per message in id order, pending
// sends (no id yet) after them, day separators between days. A stored message is shown once,
// whichever way it arrives (history page, ack, live event, replay): it is keyed by its id,
// and a pending bubble becomes the stored message when its client_id comes back. In a group,
// others' messages carry their sender's name (on the first of a run), and system messages are
// centred lines. My stored messages have a "Message info" button.
//
// Only real ids ever appear in data-message-id; a pending bubble has data-client-id instead.

import { el } from './dom.js';
import { appendLinkified, dayKey, formatDay, formatFull, formatTime, nameColour, ticksFor } from './format.js';
import { isAfter } from './statuses.js';
import { systemText } from './system.js';

const INFO_ICON =
  'M11 7h2v2h-2zm0 4h2v6h-2zm1-9a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z';

export class MessageList {
  /**
   * @param {object} options
   * @param {HTMLOListElement} options.list
   * @param {string} options.me
   * @param {{ nameOf: (u: string) => string, callName: (u: string) => string }} [options.names]
   *   people's names (the model); without it, usernames
   * @param {boolean} [options.group]  a group chat: sender names and system lines
   * @param {(id: number) => void} [options.onInfo]  "Message info" pressed on one of mine
   */
  constructor({ list, me, names = null, group = false, onInfo }) {
    this.list = list;
    this.me = me;
    this.names = names ?? { nameOf: (u) => u, callName: (u) => (u === me ? 'You' : u) };
    this.group = group;
    this.onInfo = onInfo;
    if (onInfo) {
      list.addEventListener('click', (event) => {
        const button = event.target.closest('.info-button');
        const item = button?.closest('[data-message-id]');
        if (item) onInfo(Number(item.dataset.messageId));
      });
    }
    /** id → { message, node } */
    this.byId = new Map();
    /** client_id → node, for sends not acknowledged yet. */
    this.pending = new Map();
    /** Real ids shown, ascending. */
    this.ids = [];
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
    if (this.isMine(message)) {
      this.paintTicks(node, message.status);
      this.addInfoButton(node);
    }
    this.insert(message.id, node);
    return { node, fresh };
  }

  /** A text message of mine (system messages of my doing have no ticks). */
  isMine(message) {
    return message.sender === this.me && message.kind !== 'system';
  }

  /** The "Message info" button beside one of my stored messages. */
  addInfoButton(node) {
    if (!this.onInfo || node.querySelector('.info-button')) return;
    const button = el('button', 'info-button');
    button.type = 'button';
    button.setAttribute('aria-label', 'Message info');
    button.title = 'Message info';
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '18');
    svg.setAttribute('height', '18');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', INFO_ICON);
    svg.append(path);
    button.append(svg);
    node.prepend(button);
  }

  /** The newest stored message shown, or null. */
  newest() {
    return this.ids.length ? this.byId.get(this.ids.at(-1)).message : null;
  }

  /** The message shown with `id`, as this list has it now (statuses moved forward), or null. */
  message(id) {
    return this.byId.get(id)?.message ?? null;
  }

  /** Names became known (a group's members loaded): sender labels and system lines follow. */
  repaintNames() {
    for (const { message, node } of this.byId.values()) {
      if (message.kind === 'system') node.querySelector('.system-text').textContent = this.systemLine(message);
      else node.querySelector('.sender')?.replaceChildren(this.names.nameOf(message.sender));
    }
  }

  systemLine(message) {
    return systemText(message, this.me, (username) => this.names.callName(username));
  }

  /** Shows a send that is waiting for its ack, at the end. */
  addPending(entry) {
    const existing = this.pending.get(entry.client_id);
    if (existing) return existing;
    const node = this.render({
      sender: this.me,
      body: entry.body,
      created_at: entry.created_at,
      status: 'pending',
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

  render(message) {
    if (message.kind === 'system') return this.renderSystem(message);
    const mine = message.sender === this.me;
    const created = new Date(message.created_at);
    const node = el('li', `msg ${mine ? 'out' : 'in'}`);
    node.dataset.time = String(created.getTime());
    node.dataset.sender = message.sender;
    const bubble = el('div', 'bubble');
    if (this.group && !mine) {
      const sender = el('span', `sender ${nameColour(message.sender)}`, this.names.nameOf(message.sender));
      sender.title = `@${message.sender}`;
      bubble.append(sender);
    }
    const body = el('div', 'body');
    appendLinkified(body, message.body);
    const meta = el('span', 'meta');
    const time = el('time', '', formatTime(created));
    time.dateTime = created.toISOString();
    time.title = formatFull(created);
    meta.append(time);
    if (mine) {
      const ticks = el('span', 'ticks');
      ticks.setAttribute('role', 'img');
      meta.append(ticks);
    }
    bubble.append(body, meta);
    node.append(bubble);
    if (mine) this.paintTicks(node, message.status);
    return node;
  }

  paintTicks(node, status) {
    const ticks = node.querySelector('.ticks');
    const { text, label } = ticksFor(status);
    node.dataset.status = status;
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

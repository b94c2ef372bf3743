// Receipts for messages sent to me: `delivered` as soon as this page has a message, `read` for
// those on screen in the open chat while the tab is visible and focused. Receipts go out in
// batches over the socket; the status events that come back confirm them. After a reconnect
// everything not yet confirmed is asked for again (a receipt is idempotent, forward-only).

import { debounce } from './dom.js';
import { isAfter } from './statuses.js';

const BATCH = 500;

export class Receipts {
  /** @param {{ socket: import('./socket.js').LiveSocket, root?: Element }} options */
  constructor({ socket, root }) {
    this.socket = socket;
    /** id → status of messages to me that are not read yet. */
    this.statuses = new Map();
    /** id → the receipt already asked for on this connection. */
    this.requested = new Map();
    /** ids of unread messages to me on screen now. */
    this.visible = new Set();
    this.elements = new Map();
    this.schedule = debounce(() => this.flush(), 100);
    this.observer = root
      ? new IntersectionObserver((entries) => this.onIntersect(entries), { root, threshold: 0 })
      : null;
    window.addEventListener('focus', this.schedule);
    document.addEventListener('visibilitychange', this.schedule);
  }

  /** Whoever reads the page can see it now. */
  static looking() {
    return document.visibilityState === 'visible' && document.hasFocus();
  }

  /** A message to me, loaded or received; `element` when it is shown in the open chat. */
  track(message, element = null) {
    const id = message.id;
    if (message.status === 'read') {
      this.forget(id);
      return;
    }
    const known = this.statuses.get(id);
    const status = known && isAfter(known, message.status) ? known : message.status;
    if (element && this.observer && !this.elements.has(id)) {
      this.elements.set(id, element);
      this.observer.observe(element);
    }
    if (status === 'delivered' && !this.elements.has(id)) {
      this.statuses.delete(id);
      return;
    }
    this.statuses.set(id, status);
    this.schedule();
  }

  /** Status of messages moved (a status event): forget the ones now read. */
  update(ids, status) {
    for (const id of ids) {
      const current = this.statuses.get(id);
      if (!current || !isAfter(status, current)) continue;
      if (status === 'read' || !this.elements.has(id)) this.forget(id);
      else this.statuses.set(id, status);
    }
  }

  forget(id) {
    this.statuses.delete(id);
    this.requested.delete(id);
    this.visible.delete(id);
    const element = this.elements.get(id);
    if (element) this.observer?.unobserve(element);
    this.elements.delete(id);
  }

  onIntersect(entries) {
    for (const entry of entries) {
      const id = Number(entry.target.dataset.messageId);
      if (entry.isIntersecting) this.visible.add(id);
      else this.visible.delete(id);
    }
    this.schedule();
  }

  /** The connection was (re)opened: receipts sent on the old one may be lost, so ask again. */
  reconnected() {
    this.requested.clear();
    this.schedule();
  }

  flush() {
    const read = [];
    if (Receipts.looking()) {
      for (const id of this.visible) if (this.requested.get(id) !== 'read') read.push(id);
    }
    const delivered = [];
    for (const [id, status] of this.statuses) {
      if (status === 'sent' && !this.requested.has(id) && !read.includes(id)) delivered.push(id);
    }
    this.send('read', read);
    this.send('delivered', delivered);
  }

  send(status, ids) {
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      if (!this.socket.send({ type: 'receipt', status, message_ids: batch })) return;
      for (const id of batch) this.requested.set(id, status);
    }
  }
}

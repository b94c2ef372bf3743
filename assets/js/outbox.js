// Messages written but not yet acknowledged. Each keeps the client_id it was given when the
// person pressed Send, and is re-sent with that same client_id — after a reconnect, or when no
// ack came for a while — until the server acks it. The server stores a client_id once, so a
// retry can never make a second message. The outbox outlives a reload of the tab
// (sessionStorage), so nothing typed is lost to one. An entry is for a direct chat (`to`, the
// peer's username) or a group (`conversation_id`), as the socket's send frame names them; a
// reply also keeps the id it replies to (`reply_to`, sent with every try) and the quote the
// pending bubble shows; a send with files keeps their upload ids (`attachments`, sent with
// every try, so a retry is the same send) and the uploads themselves (`files`), which the
// pending bubble shows. Its body may then be empty.

import { newClientId } from './dom.js';

const RESEND_AFTER_MS = 8_000;
/** Refusals worth retrying later; anything else will fail again, so it is shown as failed. */
const TRANSIENT = new Set(['rate_limited', 'store_unavailable', 'internal_error']);

export class Outbox {
  /**
   * @param {object} options
   * @param {import('./socket.js').LiveSocket} options.socket
   * @param {string} options.me  the user, to keep each person's outbox apart
   * @param {(entry: object) => void} options.onFailed  an entry the server refused for good
   */
  constructor({ socket, me, onFailed }) {
    this.socket = socket;
    this.onFailed = onFailed;
    this.key = `linkup.outbox.${me}`;
    this.entries = new Map();
    for (const entry of this.load()) this.entries.set(entry.client_id, { ...entry, sentAt: 0 });
    setInterval(() => this.flush(false), 2_000);
  }

  load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.key) ?? '[]');
      const sendable = (e) => e?.client_id && (e.to || e.conversation_id) && (e.body || e.attachments?.length > 0);
      return Array.isArray(saved) ? saved.filter(sendable) : [];
    } catch {
      return [];
    }
  }

  save() {
    const kept = [...this.entries.values()].map(
      ({ client_id, to, conversation_id, body, created_at, reply_to, quote, attachments, files }) => ({
        client_id,
        ...(conversation_id ? { conversation_id } : { to }),
        body,
        created_at,
        ...(reply_to ? { reply_to, quote } : {}),
        ...(attachments?.length ? { attachments, files } : {}),
      }),
    );
    try {
      sessionStorage.setItem(this.key, JSON.stringify(kept));
    } catch {
      // Storage full or disabled: the outbox still works for this page's lifetime.
    }
  }

  /**
   * Queues `body` for `target` (`{ to }` or `{ conversation_id }`) under a fresh client_id,
   * replying to the message `quote` quotes (when not null) and carrying `files` (finished
   * uploads, in order), sends it if it can, returns the entry.
   */
  add(target, body, quote = null, files = []) {
    const entry = {
      client_id: newClientId(),
      ...target,
      body,
      created_at: new Date().toISOString(),
      ...(quote ? { reply_to: quote.id, quote } : {}),
      ...(files.length > 0 ? { attachments: files.map((f) => f.id), files } : {}),
      sentAt: 0,
    };
    this.entries.set(entry.client_id, entry);
    this.save();
    this.trySend(entry);
    return entry;
  }

  /** The entries waiting for `target` (`{ to }` or `{ conversation_id }`), oldest first. */
  pendingFor(target) {
    const matches = target.conversation_id
      ? (entry) => entry.conversation_id === target.conversation_id
      : (entry) => entry.to === target.to;
    return [...this.entries.values()].filter(matches);
  }

  has(clientId) {
    return this.entries.has(clientId);
  }

  /** Sends every waiting entry (`all`, e.g. on reconnect) or those overdue for an ack. */
  flush(all) {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (all || now - entry.sentAt > RESEND_AFTER_MS) this.trySend(entry);
    }
  }

  trySend(entry) {
    const target = entry.conversation_id ? { conversation_id: entry.conversation_id } : { to: entry.to };
    const frame = { type: 'send', client_id: entry.client_id, body: entry.body, ...target };
    if (entry.reply_to) frame.reply_to = entry.reply_to;
    if (entry.attachments?.length) frame.attachments = entry.attachments;
    if (this.socket.send(frame)) entry.sentAt = Date.now();
  }

  /** The server stored the entry (an `ack`, or the message event of it). */
  acknowledged(clientId) {
    if (this.entries.delete(clientId)) this.save();
  }

  /** An `error` frame naming one of our client_ids. */
  refused(frame) {
    const entry = this.entries.get(frame.client_id);
    if (!entry) return;
    if (TRANSIENT.has(frame.code)) {
      entry.sentAt = Date.now();
      return;
    }
    this.entries.delete(frame.client_id);
    this.save();
    this.onFailed({ ...entry, code: frame.code, message: frame.message });
  }
}

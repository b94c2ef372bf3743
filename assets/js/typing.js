// Typing indicators, both ways. Sending: `typing` frames while the person types, at most one
// every few seconds (the server lets an indicator lapse after 6 s without a refresh), and an
// explicit stop when they send, clear the box or pause. Receiving: who is typing to me (in a
// direct chat) or in which group, each lapsing on its own if no refresh comes.

const REFRESH_EVERY_MS = 3_000;
const PAUSE_MS = 5_000;
const LAPSE_MS = 7_000;

export class TypingSender {
  /**
   * @param {{ socket: import('./socket.js').LiveSocket, target: { to: string } | { conversation_id: number } }} options
   *   `target`: whom the frames name, the peer of a direct chat or a group's id
   */
  constructor({ socket, target }) {
    this.socket = socket;
    this.target = target;
    this.active = false;
    this.lastSent = 0;
    this.pauseTimer = 0;
  }

  /** The text box changed; `empty` when it holds nothing but white space now. */
  input(empty) {
    if (empty) {
      this.stop();
      return;
    }
    const now = Date.now();
    if (!this.active || now - this.lastSent >= REFRESH_EVERY_MS) {
      if (this.socket.send({ type: 'typing', ...this.target, active: true })) {
        this.active = true;
        this.lastSent = now;
      }
    }
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => this.stop(), PAUSE_MS);
  }

  /** Ends the indicator now (sent, cleared, paused, or left). */
  stop() {
    clearTimeout(this.pauseTimer);
    if (!this.active) return;
    this.active = false;
    this.socket.send({ type: 'typing', ...this.target, active: false });
  }
}

/** Who types where: `from` in a direct chat, `id/from` in group `id`. */
function keyOf(from, conversationId) {
  return conversationId ? `${conversationId}/${from}` : from;
}

export class TypingWatcher {
  /** @param {(user: string, typing: boolean, conversationId: number|null) => void} onChange */
  constructor(onChange) {
    this.onChange = onChange;
    /** key → { from, conversationId, timer } */
    this.typing = new Map();
  }

  /** A `typing` frame arrived (`conversationId` set when it is a group's). */
  signal(from, active, conversationId = null) {
    const key = keyOf(from, conversationId);
    const known = this.typing.get(key);
    if (!active) {
      this.clear(from, conversationId);
      return;
    }
    clearTimeout(known?.timer);
    const timer = setTimeout(() => this.clear(from, conversationId), LAPSE_MS);
    this.typing.set(key, { from, conversationId, timer });
    if (!known) this.onChange(from, true, conversationId);
  }

  /** `from` stopped (or sent their message, which ends typing too). */
  clear(from, conversationId = null) {
    const key = keyOf(from, conversationId);
    const known = this.typing.get(key);
    if (!known) return;
    clearTimeout(known.timer);
    this.typing.delete(key);
    this.onChange(from, false, conversationId);
  }

  /** Whether `user` is typing to me in our direct chat. */
  isTyping(user) {
    return this.typing.has(user);
  }

  /** Who is typing in group `conversationId`, in the order they started. */
  typersIn(conversationId) {
    const typers = [];
    for (const { from, conversationId: id } of this.typing.values()) if (id === conversationId) typers.push(from);
    return typers;
  }

  /** Forgets everyone (the connection dropped). */
  clearAll() {
    for (const { from, conversationId } of [...this.typing.values()]) this.clear(from, conversationId);
  }
}

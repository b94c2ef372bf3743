// Typing indicators, both ways. Sending: `typing` frames while the person types, at most one
// every few seconds (the server lets an indicator lapse after 6 s without a refresh), and an
// explicit stop when they send, clear the box or pause. Receiving: who is typing to me, each
// lapsing on its own if no refresh comes.

const REFRESH_EVERY_MS = 3_000;
const PAUSE_MS = 5_000;
const LAPSE_MS = 7_000;

export class TypingSender {
  /** @param {{ socket: import('./socket.js').LiveSocket, to: string }} options */
  constructor({ socket, to }) {
    this.socket = socket;
    this.to = to;
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
      if (this.socket.send({ type: 'typing', to: this.to, active: true })) {
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
    this.socket.send({ type: 'typing', to: this.to, active: false });
  }
}

export class TypingWatcher {
  /** @param {(user: string, typing: boolean) => void} onChange */
  constructor(onChange) {
    this.onChange = onChange;
    this.timers = new Map();
  }

  /** A `typing` frame arrived. */
  signal(from, active) {
    clearTimeout(this.timers.get(from));
    if (active) {
      const wasTyping = this.timers.has(from);
      this.timers.set(from, setTimeout(() => this.clear(from), LAPSE_MS));
      if (!wasTyping) this.onChange(from, true);
    } else {
      this.clear(from);
    }
  }

  /** `from` stopped (or sent their message, which ends typing too). */
  clear(from) {
    if (!this.timers.has(from)) return;
    clearTimeout(this.timers.get(from));
    this.timers.delete(from);
    this.onChange(from, false);
  }

  isTyping(user) {
    return this.timers.has(user);
  }
}

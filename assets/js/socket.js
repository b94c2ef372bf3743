// The page's one live connection: /ws/notifications/ (cookie auth, same origin), reopened with
// backoff after any drop and resumed from the last cursor handled (`?since=`), so every stored
// event is seen exactly once: replayed ones at or below the cursor are dropped here.

const PING_EVERY_MS = 25_000;
const SILENCE_LIMIT_MS = 60_000;
const MAX_BACKOFF_MS = 5_000;
/** Close code of a normal close (this page leaving or reopening). */
const NORMAL_CLOSE = 1000;
/** Close code the server uses when the session ended (logout, expiry). */
const SESSION_ENDED = 4001;

export class LiveSocket {
  /**
   * @param {object} options
   * @param {number} options.cursor  the last cursor the page's state reflects
   * @param {(frame: object) => void} options.onFrame  every frame, stored events once each
   * @param {(state: string, detail?: object) => void} options.onState  'connecting', 'open',
   *   'waiting' (detail.delayMs until the next try) or 'ended' (the session is over)
   */
  constructor({ cursor, onFrame, onState }) {
    this.cursor = cursor;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.failures = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.lastHeard = 0;
    this.stopped = false;
    this.retryNow = () => {
      if (!this.ws && !this.stopped) this.connect();
    };
    window.addEventListener('online', this.retryNow);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.retryNow();
    });
    window.addEventListener('pagehide', () => this.stop());
    window.addEventListener('pageshow', (event) => {
      if (event.persisted) this.resume();
    });
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the connection (again). */
  connect() {
    clearTimeout(this.retryTimer);
    if (this.ws || this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/ws/notifications/?since=${this.cursor}`;
    this.onState('connecting');
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.failures = 0;
      this.lastHeard = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.heartbeat(), PING_EVERY_MS);
      this.onState('open');
    });
    ws.addEventListener('message', (event) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      this.receive(event.data);
    });
    ws.addEventListener('close', (event) => this.closed(ws, event.code));
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof frame?.cursor === 'number') {
      if (frame.cursor <= this.cursor) return;
      this.onFrame(frame);
      this.cursor = frame.cursor;
      return;
    }
    this.onFrame(frame);
  }

  closed(ws, code) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    if (this.stopped) return;
    if (code === SESSION_ENDED) {
      this.stopped = true;
      this.onState('ended');
      return;
    }
    this.failures += 1;
    const base = Math.min(MAX_BACKOFF_MS, 300 * 2 ** Math.min(this.failures - 1, 5));
    const delayMs = Math.round(base * (0.75 + Math.random() * 0.5));
    this.onState('waiting', { delayMs, failures: this.failures });
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Pings, and drops a connection that has gone silent (a sleeping laptop, a dead proxy). */
  heartbeat() {
    if (!this.isOpen) return;
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      this.ws.close();
      return;
    }
    this.send({ type: 'ping' });
  }

  /** Sends a frame if the connection is open; false when it is not (the caller retries). */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Closes and reopens at once, resuming from the cursor (nothing is lost or repeated). */
  reopen() {
    const ws = this.ws;
    if (!ws || this.stopped) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    ws.close(NORMAL_CLOSE);
    this.connect();
  }

  /** Connects again after `stop` (a page back from the cache, a logout that failed). */
  resume() {
    this.stopped = false;
    this.connect();
  }

  /** Closes for good (the page is going away). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.ws?.close(NORMAL_CLOSE);
    this.ws = null;
  }
}

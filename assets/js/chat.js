// The open chat, direct or group: its history (newest page first, older pages on scrolling up,
// paged by the smallest real id shown), live messages and ticks, the status line under its
// name (a peer's typing and presence; in a group what `status` says), and the composer (Enter
// sends, Shift+Enter breaks the line; sends are optimistic and retried; a reply carries the
// quote bar's message as `reply_to`; files attached with the button, dropped on the chat or
// pasted upload at once (`uploads.js`) and go with the next send as its `attachments`, which
// waits while one is still uploading). Each message has an actions menu (`actions.js`); a
// quote, pressed, shows the message it quotes, loading older pages until it is there; a
// picture, pressed, shows the full image (`lightbox.js`).
//
// A direct chat is opened by the peer's username (its URL and the direct routes); the model
// (`store.js`) resolves that to a conversation id once. A group chat is opened by its id. The
// live messages and status events the model passes on are this chat's when they carry that id.

import { MessageActions } from './actions.js';
import { api, goToLogin } from './api.js';
import { byId } from './dom.js';
import { formatLastSeen } from './format.js';
import { Lightbox } from './lightbox.js';
import { MessageList } from './messages.js';
import { ReplyBar } from './reply.js';
import { statusIds, toMe } from './store.js';
import { TypingSender } from './typing.js';
import { UploadTray } from './uploads.js';
import { REFUSED_SENDS } from './safety.js';

const PAGE = 50;
const NEAR_TOP_PX = 400;
const NEAR_BOTTOM_PX = 120;
/** How long a message shown from its quote stays highlighted. */
const HIGHLIGHT_MS = 1_600;

export class ChatView {
  /**
   * @param {object} options
   * @param {{ to: string } | { conversation_id: number }} options.target  the peer, or the group
   * @param {string} options.name  the peer's display name, or the group's title
   * @param {() => { text: string, typing: boolean }} [options.status]  the status line of a
   *   group chat (a direct one shows the peer's typing and presence)
   * @param {(id: number) => void} [options.onInfo]  "Message info" was asked for one of mine
   */
  constructor({ store, target, name, maxBody, socket, outbox, receipts, typing, status, onInfo }) {
    this.store = store;
    this.me = store.me;
    this.target = target;
    this.group = Boolean(target.conversation_id);
    this.peer = target.to ?? '';
    this.name = name;
    this.statusOf = status;
    this.apiBase = this.group
      ? `/api/groups/${target.conversation_id}`
      : `/api/conversations/${encodeURIComponent(this.peer)}`;
    this.maxBody = maxBody;
    this.outbox = outbox;
    this.receipts = receipts;
    this.typing = typing;
    this.sender = new TypingSender({ socket, target });
    this.scroller = byId('messages');
    this.historyStatus = byId('history-status');
    this.jump = byId('jump');
    this.jumpCount = byId('jump-count');
    this.form = byId('composer');
    this.input = byId('message-input');
    this.sendButton = byId('send');
    this.error = byId('composer-error');
    this.status = byId('peer-status');
    /** Whether I may write here (send, reply, react, edit, delete): not in a group I left. */
    this.writable = true;
    this.actions = new MessageActions({ chat: this, store, onInfo });
    this.lightbox = new Lightbox();
    this.messages = new MessageList({
      list: byId('message-list'),
      me: this.me,
      names: store,
      group: this.group,
      onInfo,
      onMenu: (id, button) => this.actions.openMenu(id, button),
      onQuote: (id) => this.reveal(id),
      onReaction: (id, emoji) => this.actions.react(id, emoji),
      onPicture: (link) => this.lightbox.show(link),
    });
    this.reply = new ReplyBar({ form: this.form, input: this.input, names: store });
    this.tray = new UploadTray({
      form: this.form,
      input: this.input,
      button: byId('attach'),
      picker: byId('attach-input'),
      zone: this.form.closest('.chat'),
      onChange: () => {
        if (!this.tray.busy && this.error.dataset.kind === 'uploading') this.error.hidden = true;
        this.paintSend();
      },
    });
    this.hasMore = true;
    this.loadingOlder = false;
    this.loaded = false;
    this.unseen = 0;
    this.presence = null;
    this.bind();
    store.subscribe((change) => this.onChange(change));
  }

  /** A change of the model: live messages and statuses of this chat's conversation. */
  onChange(change) {
    if (change.id == null || change.id !== this.store.openId) return;
    if (change.type === 'message') this.onMessage(change.message);
    else if (change.type === 'status') this.onStatus(change.frame);
    else if (change.type === 'updated') this.onUpdated(change.message, change.fromEvent);
    else if (change.type === 'reaction') this.messages.react(change.frame);
  }

  /** A message of this chat was edited or deleted. */
  onUpdated(message, fromEvent) {
    this.messages.update(message, fromEvent);
    const now = this.messages.message(message.id) ?? message;
    this.reply.follow(now);
    this.actions.follow(now);
  }

  /**
   * A status event of this chat. One with `all` is the status over every member: my messages'
   * ticks (and, in a direct chat, the peer's messages as I read them). One about a single
   * member (`all: false`, groups only) matters here only when that member is me.
   */
  onStatus(frame) {
    const ids = statusIds(frame, this.messages.ids);
    if (frame.all !== false) this.messages.setStatuses(ids, frame.status, this.group ? 'mine' : 'any');
    else if (frame.by === this.me) this.messages.setStatuses(ids, frame.status, 'theirs');
  }

  bind() {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      } else if (event.key === 'Escape' && this.reply.current) {
        event.preventDefault();
        this.reply.clear();
      }
    });
    this.input.addEventListener('input', () => {
      this.autosize();
      this.error.hidden = true;
      this.sender.input(this.input.value.trim() === '');
    });
    this.input.addEventListener('blur', () => this.sender.stop());
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    // The history shrinks when the reply bar opens, the box grows or a phone's keyboard
    // rises: a chat read at its newest message stays there.
    this.pinned = true;
    new ResizeObserver(() => {
      if (this.pinned) this.scroller.scrollTop = this.scroller.scrollHeight;
    }).observe(this.scroller);
    this.jump.addEventListener('click', () => this.scrollToBottom('smooth'));
    window.addEventListener('resize', () => this.autosize());
  }

  /** Loads the newest page, then shows what this tab still has to send here. */
  async load() {
    this.historyStatus.textContent = 'Loading messages…';
    try {
      const page = await api(`${this.apiBase}/messages?limit=${PAGE}`);
      if (page.messages.length > 0) this.store.opened(page.messages[0].conversation_id);
      for (const message of page.messages) this.show(message);
      this.hasMore = page.has_more;
      this.loaded = true;
    } catch (error) {
      if (error.status === 401) {
        goToLogin();
        return;
      }
      this.historyStatus.textContent = `Could not load messages (${error.message}). Retrying…`;
      setTimeout(() => this.load(), 3_000);
      return;
    }
    for (const entry of this.outbox.pendingFor(this.target)) this.messages.addPending(entry);
    this.messages.relayout();
    this.updateHistoryStatus();
    this.scrollToBottom();
    this.fillViewport();
    // Ready to type on a desktop; on a touch screen the keyboard would hide the chat.
    if (matchMedia('(pointer: fine)').matches) this.input.focus({ preventScroll: true });
  }

  /** Loads older pages until the history overflows the view (or there is no more). */
  async fillViewport() {
    while (this.hasMore && this.scroller.scrollHeight <= this.scroller.clientHeight + NEAR_TOP_PX) {
      if (!(await this.loadOlder())) return;
    }
  }

  /** Loads the page before the oldest real message shown; false when nothing was loaded. */
  async loadOlder() {
    const before = this.messages.oldestId;
    if (this.loadingOlder || !this.hasMore || !this.loaded || before === null) return false;
    this.loadingOlder = true;
    this.historyStatus.textContent = 'Loading older messages…';
    try {
      const path = `${this.apiBase}/messages?before_id=${before}&limit=${PAGE}`;
      const page = await api(path);
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      for (const message of page.messages) this.show(message);
      this.messages.relayout();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
      this.hasMore = page.has_more && page.messages.length > 0;
      return page.messages.length > 0;
    } catch {
      return false;
    } finally {
      this.loadingOlder = false;
      this.updateHistoryStatus();
    }
  }

  updateHistoryStatus() {
    if (this.hasMore) {
      this.historyStatus.textContent = '';
    } else if (this.messages.size === 0) {
      this.historyStatus.textContent = `No messages yet. Say hello to ${this.name}!`;
    } else if (this.group) {
      this.historyStatus.textContent = 'This is the start of the group’s history.';
    } else {
      this.historyStatus.textContent = `This is the start of your chat with ${this.name}.`;
    }
  }

  show(message) {
    const shown = this.messages.upsert(message);
    if (toMe(message, this.me)) this.receipts.track(message, shown.node);
    return shown;
  }

  /** A message event or an ack of this chat. */
  onMessage(message) {
    const atBottom = this.nearBottom();
    const { fresh } = this.show(message);
    this.messages.relayout();
    if (this.group) this.typing.clear(message.sender, this.target.conversation_id);
    else if (message.sender === this.peer) this.typing.clear(this.peer);
    if (message.sender === this.me || atBottom) {
      this.scrollToBottom();
    } else if (fresh) {
      this.unseen += 1;
      this.showJump();
    }
    if (!this.hasMore || this.messages.size === 1) this.updateHistoryStatus();
  }

  onFailed(entry) {
    this.messages.fail(entry.client_id, entry.message || entry.code);
    if (REFUSED_SENDS[entry.code]) {
      this.showError(REFUSED_SENDS[entry.code]);
      this.error.dataset.kind = 'refused';
    }
  }

  onPresence(frame) {
    if (this.group || frame.user !== this.peer) return;
    this.presence = frame;
    this.paintStatus();
  }

  /** The connection dropped: what we knew of the peer's presence may be stale. */
  forgetPresence() {
    this.presence = null;
    if (!this.group) this.typing.clear(this.peer);
    this.paintStatus();
  }

  paintStatus() {
    if (this.statusOf) {
      const { text, typing } = this.statusOf();
      this.status.classList.toggle('typing', typing);
      this.status.textContent = text;
      return;
    }
    const typing = this.typing.isTyping(this.peer);
    this.status.classList.toggle('typing', typing);
    if (typing) this.status.textContent = 'typing…';
    else if (this.presence?.online) this.status.textContent = 'online';
    else if (this.presence?.last_seen) this.status.textContent = formatLastSeen(new Date(this.presence.last_seen));
    else this.status.textContent = '';
  }

  /** Lets the person write here, or not (`reason` says why, e.g. they were removed). */
  setWritable(writable, reason = '') {
    this.writable = writable;
    if (!writable) this.reply.clear();
    this.input.disabled = !writable;
    this.tray.setEnabled(writable);
    this.paintSend();
    this.input.placeholder = writable ? 'Type a message' : reason;
    if (!writable) this.sender.stop();
  }

  /** Send is offered when I may write here and no file is still uploading. */
  paintSend() {
    const waiting = this.writable && this.tray.busy;
    this.sendButton.disabled = !this.writable || waiting;
    const label = waiting ? 'Send (waiting for the files to upload)' : 'Send';
    this.sendButton.setAttribute('aria-label', label);
    this.sendButton.title = label;
  }

  submit() {
    if (this.input.disabled) return;
    if (this.tray.busy) {
      this.showError('Your files are still uploading: the message can be sent once they are done.');
      this.error.dataset.kind = 'uploading';
      return;
    }
    const body = this.input.value;
    const trimmed = body.trim();
    const files = this.tray.files;
    if (!trimmed && files.length === 0) return;
    const length = [...trimmed].length;
    if (length > this.maxBody) {
      this.error.textContent = `This message is ${length} characters long; the limit is ${this.maxBody}.`;
      this.error.hidden = false;
      return;
    }
    const entry = this.outbox.add(this.target, trimmed, this.reply.current, files);
    this.tray.clear();
    this.reply.clear();
    this.messages.addPending(entry);
    this.messages.relayout();
    this.input.value = '';
    this.autosize();
    this.sender.stop();
    this.scrollToBottom();
    this.updateHistoryStatus();
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 140)}px`;
  }

  nearBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom(behavior = 'auto') {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior });
    this.unseen = 0;
    this.jump.hidden = true;
  }

  showJump() {
    this.jump.hidden = false;
    this.jumpCount.textContent = this.unseen > 0 ? String(this.unseen) : '';
  }

  onScroll() {
    this.pinned = this.nearBottom();
    if (this.scroller.scrollTop < NEAR_TOP_PX) this.loadOlder();
    if (this.nearBottom()) {
      this.unseen = 0;
      this.jump.hidden = true;
    } else if (this.jump.hidden) {
      this.showJump();
    }
  }

  /** Replies to message `id`: the quote bar shows it above the composer. */
  replyTo(id) {
    const message = this.messages.message(id);
    if (message && !message.deleted && this.writable) this.reply.set(message);
  }

  /** Says what went wrong with a change to a message, under the composer. */
  showError(text) {
    delete this.error.dataset.kind;
    this.error.textContent = text;
    this.error.hidden = false;
  }

  /**
   * Scrolls to message `id` (a quote was pressed) and highlights it briefly, loading older
   * pages (by real ids) until it is shown; false when it is not in this chat's history.
   */
  async reveal(id) {
    while (!this.messages.has(id)) {
      if (!this.hasMore || !this.loaded) return false;
      if (this.loadingOlder) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (!(await this.loadOlder()) && !this.messages.has(id)) return false;
    }
    const node = this.messages.nodeOf(id);
    node.scrollIntoView({ block: 'center', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    node.classList.remove('flash');
    // Restarts the animation when the same message is shown twice in a row.
    void node.offsetWidth;
    node.classList.add('flash');
    clearTimeout(node.flashTimer);
    node.flashTimer = setTimeout(() => node.classList.remove('flash'), HIGHLIGHT_MS);
    node.tabIndex = -1;
    node.focus({ preventScroll: true });
    return true;
  }
}

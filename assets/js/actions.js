// What can be done to a message after it is sent, from its actions menu and its chips: reply,
// edit in place, delete for everyone (after a confirm dialog), react, and "Message info". The
// menu offers only what applies (PROTOCOL.md, Replies, edits, deletes, reactions): reply and
// react to any text message while I may write here; edit my own; delete my own, or anyone's
// as a group's owner or admin; info for my own. The server decides the rest (an edit window
// that has passed, say) and its refusal is shown in words from the table below.
//
// Requests go over HTTP; their answers go to the model (`store.js`) as they come, so the page
// changes at once, and the events of the same changes change nothing more when they arrive.
// One reaction request per message at a time, so their answers come back in order.

import { api } from './api.js';
import { previewText } from './attachments.js';
import { Dialog } from './dialogs.js';
import { byId } from './dom.js';
import { InlineEditor } from './editor.js';
import { MessageMenu } from './menu.js';
import { COMMON_EMOJI, emojiName, reactionOf } from './reactions.js';

/** The server's refusals of a change to a message, in people's words (PROTOCOL.md, Errors). */
const REFUSALS = Object.freeze({
  edit_window_passed: 'This message can no longer be edited: messages can only be edited for a short while after they are sent.',
  delete_window_passed: 'This message can no longer be deleted: it was sent too long ago.',
  not_sender: 'Only the person who sent this message can change it.',
  not_editable: 'This message can’t be changed.',
  not_reactable: 'You can’t react to this message.',
  message_deleted: 'This message has been deleted.',
  message_not_found: 'This message is no longer available.',
  not_a_member: 'You are no longer a member of this group.',
  invalid_emoji: 'That emoji can’t be used as a reaction.',
  invalid_body: 'That text can’t be sent as a message.',
  rate_limited: 'Too many changes at once. Please wait a moment and try again.',
  network: 'Can’t reach the server. Check your connection and try again.',
});

/** What to tell the person when the server refused `error` while they tried `what`. */
export function refusal(error, what) {
  return REFUSALS[error.code] ?? `Could not ${what} (${error.message}).`;
}

const ICONS = Object.freeze({
  reply: 'M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z',
  edit: 'M3 17.2V21h3.8l11-11.1-3.7-3.7L3 17.2zM20.7 7a1 1 0 0 0 0-1.4l-2.3-2.3a1 1 0 0 0-1.4 0l-1.8 1.8 3.7 3.7L20.7 7z',
  delete: 'M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12zM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4z',
  info: 'M11 7h2v2h-2zm0 4h2v6h-2zm1-9a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z',
  report: 'M14.4 6 14 4H5v17h2v-7h5.6l.4 2h7V6z',
});

export class MessageActions {
  /**
   * @param {object} options
   * @param {import('./chat.js').ChatView} options.chat  the open chat
   * @param {import('./store.js').ConversationStore} options.store
   * @param {(id: number) => void} [options.onInfo]  opens "Message info" for one of mine
   */
  constructor({ chat, store, onInfo }) {
    this.chat = chat;
    this.store = store;
    this.me = store.me;
    this.onInfo = onInfo;
    this.menu = new MessageMenu();
    /** Ids of messages with a reaction request on its way. */
    this.reacting = new Set();
    this.confirm = new Dialog(byId('delete-dialog'), { onClose: () => (this.deleting = null) });
    this.deleting = null;
    this.confirmText = byId('delete-text');
    this.confirmQuote = byId('delete-quote');
    byId('delete-confirm').addEventListener('click', () => this.confirmDelete());
    this.reports = new ReportDialog(this);
  }

  get messages() {
    return this.chat.messages;
  }

  /** Whether I may delete others' messages here: a group's owner or admin. */
  moderator() {
    const role = this.chat.group ? this.store.details.get(this.chat.target.conversation_id)?.group.role : null;
    return role === 'owner' || role === 'admin';
  }

  /** Opens the actions menu of message `id` from `button`. */
  openMenu(id, button) {
    const message = this.messages.message(id);
    if (!message || message.deleted || message.kind === 'system') return;
    const mine = message.sender === this.me;
    const writable = this.chat.writable;
    const mineNow = reactionOf(message.reactions ?? [], this.me);
    const emoji = writable
      ? COMMON_EMOJI.map(([glyph, name]) => ({
          emoji: glyph,
          label: `React with ${name}`,
          checked: glyph === mineNow,
          run: () => this.react(id, glyph),
        }))
      : [];
    const actions = [];
    if (writable) actions.push({ key: 'reply', label: 'Reply', icon: ICONS.reply, run: () => this.chat.replyTo(id) });
    if (writable && mine) actions.push({ key: 'edit', label: 'Edit', icon: ICONS.edit, run: () => this.edit(id) });
    if (writable && (mine || (this.chat.group && this.moderator()))) {
      actions.push({ key: 'delete', label: 'Delete', icon: ICONS.delete, danger: true, run: () => this.askDelete(id, button) });
    }
    if (mine && this.onInfo) actions.push({ key: 'info', label: 'Message info', icon: ICONS.info, run: () => this.onInfo(id) });
    if (!mine) actions.push({ key: 'report', label: 'Report', icon: ICONS.report, danger: true, run: () => this.askReport(id, button) });
    if (emoji.length === 0 && actions.length === 0) return;
    this.menu.open(button, { emoji, actions });
  }

  /** A message changed: its menu, editor or confirm dialog go if it was deleted. */
  follow(message) {
    if (!message.deleted) return;
    if (this.menu.button?.closest('[data-message-id]')?.dataset.messageId === String(message.id)) this.menu.close(false);
    if (this.deleting === message.id) this.confirm.close();
  }

  /** Sets my reaction on message `id` to `emoji`, or removes it when it is already mine. */
  async react(id, emoji) {
    const message = this.messages.message(id);
    if (!message || message.deleted || this.reacting.has(id) || !this.chat.writable) return;
    const next = reactionOf(message.reactions ?? [], this.me) === emoji ? null : emoji;
    const path = `/api/messages/${id}/reaction`;
    this.reacting.add(id);
    try {
      const answer = next ? await api(path, { method: 'PUT', body: { emoji: next } }) : await api(path, { method: 'DELETE' });
      const conversationId = answer?.conversation_id ?? message.conversation_id;
      this.store.applyReaction({ conversation_id: conversationId, message_id: id, user: this.me, emoji: next });
    } catch (error) {
      const what = next ? `react with ${emojiName(next)}` : 'remove your reaction';
      this.chat.showError(refusal(error, what));
    } finally {
      this.reacting.delete(id);
    }
  }

  /** Edits my message `id` in place. */
  edit(id) {
    const message = this.messages.message(id);
    if (!message || message.deleted) return;
    const close = () => {
      this.messages.setEditor(id, null);
      this.messages.nodeOf(id)?.querySelector('.menu-button')?.focus({ preventScroll: true });
    };
    const editor = new InlineEditor({
      id,
      body: message.body,
      maxBody: this.chat.maxBody,
      mayBeEmpty: (message.attachments ?? []).length > 0,
      save: (body) => this.saveEdit(id, body),
      close,
    });
    this.messages.setEditor(id, editor.element);
    editor.focus();
  }

  /** PATCHes the body; an error to show, or null when it is saved. */
  async saveEdit(id, body) {
    try {
      const answer = await api(`/api/messages/${id}`, { method: 'PATCH', body: { body } });
      this.store.applyUpdate(answer, { fromEvent: false });
      return null;
    } catch (error) {
      return refusal(error, 'save the edit');
    }
  }

  /** Asks why message `id` is reported, then reports it. */
  askReport(id, button) {
    const message = this.messages.message(id);
    if (!message || message.deleted) return;
    button.focus({ preventScroll: true });
    this.reports.open(message);
  }

  /** Asks whether to delete message `id` for everyone. */
  askDelete(id, button) {
    const message = this.messages.message(id);
    if (!message || message.deleted) return;
    this.deleting = id;
    const mine = message.sender === this.me;
    this.confirmText.textContent = mine
      ? 'It will be deleted for everyone in this chat. This can’t be undone.'
      : `You are deleting ${this.store.nameOf(message.sender)}’s message as a group admin. It will be deleted for everyone in this group. This can’t be undone.`;
    this.confirmQuote.textContent = message.body || previewText(message);
    // The dialog gives the focus back to the message's actions button when it closes.
    button.focus({ preventScroll: true });
    this.confirm.open(byId('delete-cancel'));
  }

  async confirmDelete() {
    const id = this.deleting;
    this.confirm.close();
    if (id === null) return;
    try {
      const answer = await api(`/api/messages/${id}`, { method: 'DELETE' });
      this.store.applyUpdate(answer, { fromEvent: false });
      // Its buttons are gone with it: the focus stays on the message.
      const node = this.messages.nodeOf(id);
      if (node && !node.contains(document.activeElement)) {
        node.tabIndex = -1;
        node.focus({ preventScroll: true });
      }
    } catch (error) {
      this.chat.showError(refusal(error, 'delete the message'));
    }
  }
}

/** Words for a report's refusals (PROTOCOL.md, Safety and privacy: Reports). */
const REPORT_REFUSALS = Object.freeze({
  invalid_reason: 'Say in a few words why you report this message (at most 1000 characters).',
  invalid_report: 'You can’t report your own message.',
  message_deleted: 'This message has been deleted.',
  message_not_found: 'This message is no longer available.',
  rate_limited: 'Too many reports at once. Please wait a moment and try again.',
  network: 'Can’t reach the server. Check your connection and try again.',
});

/** The "Report this message?" dialog: a reason, then POST /api/messages/{id}/report. */
class ReportDialog {
  constructor(actions) {
    this.actions = actions;
    this.id = null;
    this.dialog = new Dialog(byId('report-dialog'), { onClose: () => (this.id = null) });
    this.reason = byId('report-reason');
    this.error = byId('report-error');
    this.toast = byId('toast');
    byId('report-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
  }

  open(message) {
    this.id = message.id;
    this.reason.value = '';
    this.reason.removeAttribute('aria-invalid');
    this.error.hidden = true;
    byId('report-quote').textContent = message.body || previewText(message);
    this.dialog.open(this.reason);
  }

  fail(text) {
    this.error.textContent = text;
    this.error.hidden = false;
    this.reason.setAttribute('aria-invalid', 'true');
    this.reason.focus();
  }

  async send() {
    const id = this.id;
    if (id === null) return;
    const reason = this.reason.value.trim();
    if (!reason) return this.fail(REPORT_REFUSALS.invalid_reason);
    const button = byId('report-confirm');
    button.disabled = true;
    try {
      await api(`/api/messages/${id}/report`, { method: 'POST', body: { reason } });
      this.dialog.close();
      this.notify('Thanks. The message was reported.');
    } catch (error) {
      this.fail(REPORT_REFUSALS[error.code] ?? `Could not report the message (${error.message}).`);
    } finally {
      button.disabled = false;
    }
  }

  notify(text) {
    this.toast.textContent = text;
    this.toast.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.toast.hidden = true), 4000);
  }
}

// The quote bar above the composer while replying: whom and what the next send replies to
// (the sender's name and the first line of the body, or what it attaches), with a button — or Escape in the message
// box — that cancels the reply. The message box is described by it, so a screen reader says
// what is being replied to. The bar follows the quoted message: an edit changes its text, a
// delete cancels the reply (the server would refuse it).

import { previewText } from './attachments.js';
import { el, icon } from './dom.js';
import { quoteOf } from './versions.js';

const CLOSE_ICON =
  'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z';

export class ReplyBar {
  /**
   * @param {object} options
   * @param {HTMLFormElement} options.form  the composer; the bar goes just above it
   * @param {HTMLTextAreaElement} options.input  the message box
   * @param {{ callName: (u: string) => string }} options.names
   */
  constructor({ form, input, names }) {
    this.input = input;
    this.names = names;
    /** The quote of the message replied to (`reply_to`'s shape), or null. */
    this.quote = null;
    /** The line the bar shows for it. */
    this.summary = '';
    this.bar = el('div', 'reply-bar');
    this.bar.id = 'reply-bar';
    this.bar.hidden = true;
    this.text = el('div', 'reply-quote');
    this.text.id = 'reply-bar-text';
    this.sender = el('span', 'reply-sender');
    this.body = el('span', 'reply-body');
    const label = el('span', 'reply-label');
    label.append('Replying to ', this.sender);
    this.text.append(label, this.body);
    const cancel = el('button', 'icon-button reply-cancel');
    cancel.type = 'button';
    cancel.id = 'reply-cancel';
    cancel.setAttribute('aria-label', 'Cancel reply');
    cancel.title = 'Cancel reply';
    cancel.append(icon(CLOSE_ICON, 20));
    cancel.addEventListener('click', () => {
      this.clear();
      this.input.focus();
    });
    this.bar.append(this.text, cancel);
    form.before(this.bar);
  }

  /** The quote of the message the next send replies to, or null. */
  get current() {
    return this.quote;
  }

  /** Replies to `message` (a stored text message): the bar shows it, the box gets the focus. */
  set(message) {
    this.quote = quoteOf(message);
    this.summary = previewText(message);
    this.paint();
    this.bar.hidden = false;
    this.input.setAttribute('aria-describedby', this.text.id);
    this.input.focus();
  }

  clear() {
    this.quote = null;
    this.bar.hidden = true;
    this.input.removeAttribute('aria-describedby');
  }

  paint() {
    this.bar.dataset.replyTo = String(this.quote.id);
    this.sender.textContent = this.names.callName(this.quote.sender);
    this.body.textContent = this.summary;
  }

  /** A new version of a message: the bar follows it if it is the one replied to. */
  follow(message) {
    if (!this.quote || message.id !== this.quote.id) return;
    if (message.deleted) this.clear();
    else {
      this.quote = quoteOf(message);
      this.summary = previewText(message);
      this.paint();
    }
  }
}

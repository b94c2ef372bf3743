// Editing one of my messages in place: its bubble shows a text box with the body instead of
// the body, Enter saves (Shift+Enter breaks the line), Escape cancels, and Save and Cancel
// buttons do the same for a pointer or a phone. Saving is the caller's (`actions.js`): it
// answers with an error to show here — politely, the box stays open with the text — or null
// when the edit is done. The focus goes back to the message's actions button afterwards.

import { el } from './dom.js';

export class InlineEditor {
  /**
   * @param {object} options
   * @param {number} options.id  the message's id
   * @param {string} options.body  its body now
   * @param {number} options.maxBody  the longest body the server takes, in characters
   * @param {boolean} options.mayBeEmpty  the message has attachments, so an empty body is fine
   * @param {(body: string) => Promise<string|null>} options.save  saves; an error, or null
   * @param {() => void} options.close  takes the editor away (after saving or cancelling)
   */
  constructor({ id, body, maxBody, mayBeEmpty, save, close }) {
    this.original = body;
    this.maxBody = maxBody;
    this.mayBeEmpty = mayBeEmpty;
    this.save = save;
    this.close = close;
    this.saving = false;
    this.element = el('div', 'editor');
    const label = el('label', 'visually-hidden', 'Edit message');
    label.htmlFor = `edit-${id}`;
    this.input = el('textarea', 'editor-input');
    this.input.id = `edit-${id}`;
    this.input.rows = 1;
    this.input.value = body;
    this.input.dataset.key = 'editor';
    this.input.setAttribute('enterkeyhint', 'done');
    this.input.setAttribute('aria-describedby', `edit-hint-${id}`);
    this.error = el('p', 'editor-error');
    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    const hint = el('span', 'editor-hint', 'Enter to save · Esc to cancel');
    hint.id = `edit-hint-${id}`;
    const cancel = this.button('Cancel', 'secondary small', 'edit-cancel', () => this.cancel());
    const saveButton = this.button('Save', 'primary small', 'edit-save', () => this.submit());
    const actions = el('div', 'editor-actions');
    actions.append(hint, cancel, saveButton);
    this.element.append(label, this.input, this.error, actions);
    this.input.addEventListener('keydown', (event) => this.onKey(event));
    this.input.addEventListener('input', () => {
      this.error.hidden = true;
      this.autosize();
    });
  }

  button(text, className, key, onClick) {
    const button = el('button', className, text);
    button.type = 'button';
    button.dataset.key = key;
    button.addEventListener('click', onClick);
    return button;
  }

  /** Puts the caret at the end of the text and the focus in the box (once it is shown). */
  focus() {
    this.autosize();
    this.input.focus();
    const end = this.input.value.length;
    this.input.setSelectionRange(end, end);
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 200)}px`;
  }

  onKey(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.cancel();
    }
  }

  cancel() {
    if (!this.saving) this.close();
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  async submit() {
    if (this.saving) return;
    const body = this.input.value.trim();
    if (body === this.original.trim()) {
      this.close();
      return;
    }
    if (!body && !this.mayBeEmpty) {
      this.showError('A message can’t be empty. To remove it, delete it instead.');
      return;
    }
    const length = [...body].length;
    if (length > this.maxBody) {
      this.showError(`This message is ${length} characters long; the limit is ${this.maxBody}.`);
      return;
    }
    this.saving = true;
    this.input.readOnly = true;
    this.element.setAttribute('aria-busy', 'true');
    let error = null;
    try {
      error = await this.save(body);
    } finally {
      this.saving = false;
      this.input.readOnly = false;
      this.element.removeAttribute('aria-busy');
    }
    if (error) {
      this.showError(error);
      this.input.focus();
    } else {
      this.close();
    }
  }
}

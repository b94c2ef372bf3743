// The files of the message being written: the attach button beside the composer (it opens the
// file picker), files dropped on the chat and files pasted into the message box. Each file
// uploads at once (POST /api/uploads?filename=…, the raw file as the body, the CSRF header),
// with XMLHttpRequest for its upload progress events, and shows in a tray above the composer:
// its name, a progress bar, then its size (or the server's refusal in words), and a button
// that cancels the upload or takes the file out of the message. The chat sends the finished
// ones' ids as the message's `attachments` (PROTOCOL.md, Attachments) and empties the tray.
//
// The tray announces what happens to each file in a status line, for screen readers.

import { csrfToken, goToLogin, refreshCsrfToken } from './api.js';
import { formatSize, isPicture, thumbnailUrl } from './attachments.js';
import { el, icon } from './dom.js';

/** The most files one message carries (the server's limit). */
export const MAX_FILES = 10;

const FILE_ICON = 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z';
const CLOSE_ICON =
  'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z';

/** The server's refusals of an upload, in people's words (PROTOCOL.md, Attachments). */
const REFUSALS = Object.freeze({
  empty_upload: 'This file is empty.',
  upload_too_large: 'This file is too large to send.',
  upload_quota_exceeded: 'You have uploaded too much in the last 24 hours.',
  rate_limited: 'Too many uploads at once. Try again in a moment.',
  network: 'The upload failed: can’t reach the server. Check your connection and try again.',
});

/** "in about 3 hours", from a Retry-After header's seconds; "" when there is none. */
function whenAgain(retryAfter) {
  const seconds = Number.parseInt(retryAfter ?? '', 10);
  if (!Number.isFinite(seconds) || seconds <= 0) return '';
  if (seconds < 90) return 'in a minute';
  if (seconds < 90 * 60) return `in about ${Math.round(seconds / 60)} minutes`;
  return `in about ${Math.round(seconds / 3600)} hours`;
}

/** What to tell the person when the server refused an upload with `code`. */
function refusal(code, message, retryAfter) {
  const words = REFUSALS[code] ?? `The upload failed (${message || code}).`;
  const again = code === 'upload_quota_exceeded' ? whenAgain(retryAfter) : '';
  return again ? `${words} Try again ${again}.` : words;
}

/**
 * @typedef {object} Item  one file of the draft
 * @property {File} file
 * @property {'uploading'|'done'|'failed'} state
 * @property {number} loaded  bytes sent so far
 * @property {XMLHttpRequest|null} xhr  while uploading
 * @property {object|null} upload  the server's upload object, once done
 * @property {string} error  why it failed
 * @property {boolean} retried  sent again once after a stale CSRF token
 * @property {HTMLLIElement} node
 */

export class UploadTray {
  /**
   * @param {object} options
   * @param {HTMLFormElement} options.form  the composer; the tray goes just above it
   * @param {HTMLTextAreaElement} options.input  the message box (files may be pasted into it)
   * @param {HTMLButtonElement} options.button  the attach button
   * @param {HTMLInputElement} options.picker  the file input the button opens
   * @param {HTMLElement} options.zone  where files may be dropped (the chat)
   * @param {() => void} options.onChange  the files or their states changed
   */
  constructor({ form, input, button, picker, zone, onChange }) {
    this.input = input;
    this.button = button;
    this.picker = picker;
    this.zone = zone;
    this.onChange = onChange;
    /** @type {Item[]} in the order chosen */
    this.items = [];
    this.enabled = true;
    this.tray = el('div', 'upload-tray');
    this.tray.id = 'upload-tray';
    this.tray.hidden = true;
    this.list = el('ul', 'upload-list');
    this.list.setAttribute('aria-label', 'Files to send');
    this.tray.append(this.list);
    this.status = el('p', 'visually-hidden');
    this.status.setAttribute('role', 'status');
    this.status.id = 'upload-status';
    form.before(this.tray);
    form.after(this.status);
    this.hint = el('div', 'drop-hint', 'Drop files to send them');
    this.hint.setAttribute('aria-hidden', 'true');
    this.hint.hidden = true;
    zone.append(this.hint);
    this.bind();
  }

  bind() {
    this.button.addEventListener('click', () => {
      if (this.enabled) this.picker.click();
    });
    this.picker.addEventListener('change', () => {
      this.add([...this.picker.files]);
      // The same file may be chosen again later.
      this.picker.value = '';
    });
    this.input.addEventListener('paste', (event) => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length === 0 || !this.enabled) return;
      event.preventDefault();
      this.add(files);
    });
    this.list.addEventListener('click', (event) => {
      const button = event.target.closest('.upload-remove');
      const item = button && this.items.find((i) => i.node.contains(button));
      if (item) this.remove(item, true);
    });
    this.bindDrop();
  }

  /** Drag and drop onto the chat; files dropped anywhere else on the page are not opened. */
  bindDrop() {
    let depth = 0;
    const files = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
    const showHint = (shown) => {
      this.hint.hidden = !shown;
      this.zone.classList.toggle('dropping', shown);
    };
    this.zone.addEventListener('dragenter', (event) => {
      if (!files(event) || !this.enabled) return;
      event.preventDefault();
      depth += 1;
      showHint(true);
    });
    this.zone.addEventListener('dragleave', (event) => {
      if (!files(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) showHint(false);
    });
    this.zone.addEventListener('drop', (event) => {
      if (!files(event)) return;
      event.preventDefault();
      depth = 0;
      showHint(false);
      if (this.enabled) this.add([...event.dataTransfer.files]);
    });
    window.addEventListener('dragover', (event) => {
      if (!files(event)) return;
      event.preventDefault();
      const here = this.enabled && this.zone.contains(event.target);
      event.dataTransfer.dropEffect = here ? 'copy' : 'none';
    });
    window.addEventListener('drop', (event) => {
      if (files(event)) event.preventDefault();
    });
  }

  /** The finished uploads, in order, as a message's attachments. */
  get files() {
    return this.items
      .filter((item) => item.state === 'done')
      .map(({ upload: u }) => ({
        id: u.id,
        filename: u.filename,
        content_type: u.content_type,
        size: u.size,
        width: u.width ?? null,
        height: u.height ?? null,
        thumbnail: Boolean(u.thumbnail),
      }));
  }

  /** Whether a file is still uploading (the message waits for it). */
  get busy() {
    return this.items.some((item) => item.state === 'uploading');
  }

  /** Lets the person attach files, or not (a chat they may not write in); off empties it. */
  setEnabled(enabled) {
    this.enabled = enabled;
    this.button.disabled = !enabled;
    if (!enabled) this.clear();
  }

  /** Adds `files` to the draft (up to the limit) and starts uploading them. */
  add(files) {
    const room = MAX_FILES - this.items.filter((item) => item.state !== 'failed').length;
    const taken = files.slice(0, Math.max(0, room));
    for (const file of taken) {
      const item = { file, state: 'uploading', loaded: 0, xhr: null, upload: null, error: '', retried: false, node: null };
      item.node = this.renderItem(item);
      this.items.push(item);
      this.list.append(item.node);
      this.start(item);
    }
    if (taken.length < files.length) {
      const left = files.length - taken.length;
      this.announce(`A message can carry at most ${MAX_FILES} files: ${left === 1 ? '1 file was' : `${left} files were`} left out.`);
    } else if (taken.length > 0) {
      this.announce(taken.length === 1 ? `Uploading ${taken[0].name}…` : `Uploading ${taken.length} files…`);
    }
    this.changed();
  }

  /** Sends `item`'s file to the server. */
  start(item) {
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    item.state = 'uploading';
    item.loaded = 0;
    xhr.open('POST', `/api/uploads?filename=${encodeURIComponent(item.file.name || 'file')}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (event) => {
      if (item.xhr !== xhr) return;
      item.loaded = event.loaded;
      this.paintItem(item);
    });
    xhr.addEventListener('load', () => {
      if (item.xhr === xhr) this.answered(item, xhr);
    });
    xhr.addEventListener('error', () => {
      if (item.xhr === xhr) this.fail(item, refusal('network'));
    });
    xhr.send(item.file);
    this.paintItem(item);
  }

  /** The server answered `item`'s upload. */
  async answered(item, xhr) {
    item.xhr = null;
    if (xhr.status === 201 && xhr.response?.id) {
      item.state = 'done';
      item.upload = xhr.response;
      this.paintItem(item);
      this.announce(`${item.file.name} is ready to send.`);
      this.changed();
      return;
    }
    const { code = 'http_error', message = '' } = xhr.response?.error ?? {};
    if (xhr.status === 401) {
      goToLogin();
      return;
    }
    if (xhr.status === 403 && code.startsWith('csrf_') && !item.retried) {
      item.retried = true;
      if (await refreshCsrfToken()) {
        if (this.items.includes(item)) this.start(item);
        return;
      }
    }
    this.fail(item, refusal(code, message, xhr.getResponseHeader('Retry-After')));
  }

  fail(item, words) {
    item.xhr = null;
    item.state = 'failed';
    item.error = words;
    this.paintItem(item);
    this.announce(`${item.file.name} was not uploaded. ${words}`);
    this.changed();
  }

  /** Takes `item` out of the draft, cancelling its upload; `byPerson` moves the focus on. */
  remove(item, byPerson = false) {
    const at = this.items.indexOf(item);
    if (at < 0) return;
    const xhr = item.xhr;
    item.xhr = null;
    xhr?.abort();
    this.items.splice(at, 1);
    item.node.remove();
    if (byPerson) {
      const next = this.items[Math.min(at, this.items.length - 1)];
      (next ? next.node.querySelector('.upload-remove') : this.input).focus();
      this.announce(xhr ? `Upload of ${item.file.name} cancelled.` : `${item.file.name} removed.`);
    }
    this.changed();
  }

  /** Empties the draft (after its message was sent), cancelling what is still uploading. */
  clear() {
    for (const item of [...this.items]) this.remove(item);
  }

  changed() {
    this.tray.hidden = this.items.length === 0;
    this.onChange();
  }

  announce(text) {
    this.status.textContent = text;
  }

  renderItem(item) {
    const node = el('li', 'upload');
    const preview = el('span', 'upload-preview');
    preview.append(icon(FILE_ICON, 22));
    const main = el('span', 'upload-main');
    const name = el('span', 'upload-name', item.file.name || 'file');
    name.title = item.file.name;
    const progress = el('progress', 'upload-progress');
    progress.max = 100;
    progress.setAttribute('aria-label', `Uploading ${item.file.name}`);
    const detail = el('span', 'upload-detail');
    main.append(name, progress, detail);
    const remove = el('button', 'icon-button upload-remove');
    remove.type = 'button';
    remove.append(icon(CLOSE_ICON, 20));
    node.append(preview, main, remove);
    return node;
  }

  /** Paints `item`'s state: progress while uploading, then its size, or why it failed. */
  paintItem(item) {
    const { node, file } = item;
    node.dataset.state = item.state;
    if (item.upload) node.dataset.uploadId = item.upload.id;
    const progress = node.querySelector('.upload-progress');
    const detail = node.querySelector('.upload-detail');
    const remove = node.querySelector('.upload-remove');
    const uploading = item.state === 'uploading';
    progress.hidden = !uploading;
    const percent = file.size > 0 ? Math.min(100, Math.floor((item.loaded / file.size) * 100)) : 0;
    if (uploading) progress.value = percent;
    detail.classList.toggle('upload-error', item.state === 'failed');
    if (uploading) detail.textContent = `${percent}% of ${formatSize(file.size)}`;
    else if (item.state === 'done') detail.textContent = formatSize(item.upload.size);
    else detail.textContent = item.error;
    const label = uploading ? `Cancel upload of ${file.name}` : `Remove ${file.name}`;
    remove.setAttribute('aria-label', label);
    remove.title = label;
    if (item.state === 'done' && isPicture(item.upload) && !node.querySelector('.upload-preview img')) {
      const image = el('img');
      image.src = thumbnailUrl(item.upload.id);
      image.alt = '';
      image.width = 40;
      image.height = 40;
      node.querySelector('.upload-preview').replaceChildren(image);
    }
  }
}

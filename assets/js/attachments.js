// A message's attachments as the pages show them, from the message object's `attachments`
// (PROTOCOL.md, The message object): a picture — an image the server made a thumbnail of — is
// its thumbnail, sized from the message's width and height before it loads, inside a link to
// the full image (the chat opens it in a lightbox; a middle click, a new tab); any other file
// is a card with an icon, its name, its size and a link that downloads it. The words for
// attachments in one-line previews (the conversation list, the reply bar, dialogs) are here
// too, written once.
//
// Files are fetched from /api/uploads/{id}[/thumbnail] with the session cookie; the server
// decides who may (PROTOCOL.md, Attachments). Nothing here parses HTML.

import { el, icon } from './dom.js';
import { firstLine } from './versions.js';

/** The largest box a thumbnail is drawn in, in CSS pixels (it is never drawn larger). */
const THUMB_BOX = Object.freeze({ width: 280, height: 320 });
/** The side of each picture when a message has several (two a row), and the gap between. */
const SEVERAL_SIDE = 140;
const PICTURE_GAP = 3;
/** The width of a file card (attachments.css). */
const FILE_CARD_WIDTH = 280;

const FILE_ICON = 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z';
const DOWNLOAD_ICON = 'M19 9h-4V3H9v6H5l7 7 7-7zM5 18v2h14v-2H5z';

/** The URL of upload `id`'s bytes. */
export function fileUrl(id) {
  return `/api/uploads/${encodeURIComponent(id)}`;
}

/** The URL of upload `id`'s thumbnail. */
export function thumbnailUrl(id) {
  return `${fileUrl(id)}/thumbnail`;
}

/** "512 bytes", "1.5 KB", "12 KB", "3.4 MB": sizes as people read them (1 KB = 1024 bytes). */
export function formatSize(bytes) {
  const size = Number(bytes) || 0;
  if (size < 1024) return size === 1 ? '1 byte' : `${size} bytes`;
  const units = ['KB', 'MB', 'GB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${rounded} ${units[unit]}`;
}

/** Whether `attachment` is shown as a picture: an image with a thumbnail served. */
export function isPicture(attachment) {
  return Boolean(attachment.thumbnail) && String(attachment.content_type ?? '').startsWith('image/');
}

/** "📷 Photo", "📎 cv.pdf", "📷 3 photos", "📎 3 files": what a message's attachments are. */
export function attachmentSummary(attachments) {
  if (attachments.length === 0) return '';
  const pictures = attachments.filter(isPicture).length;
  if (attachments.length === 1) return pictures === 1 ? '📷 Photo' : `📎 ${attachments[0].filename}`;
  return pictures === attachments.length ? `📷 ${pictures} photos` : `📎 ${attachments.length} files`;
}

/**
 * One line that stands for `message` in a preview: the first line of its body, after an icon
 * when it carries attachments; or, with no body, what its attachments are.
 */
export function previewText(message) {
  const attachments = message.deleted ? [] : (message.attachments ?? []);
  const line = firstLine(message.body);
  if (attachments.length === 0) return line;
  if (!line.trim()) return attachmentSummary(attachments);
  return `${attachments.every(isPicture) ? '📷' : '📎'} ${line}`;
}

/** What a reply's quote says of the message it quotes (a quote carries no attachments). */
export function quoteText(quote) {
  const line = firstLine(quote.body);
  return line.trim() ? line : '📎 Attachment';
}

/** The size to draw a picture at: its own proportions, inside the thumbnail box. */
function drawnSize(attachment) {
  const width = Number(attachment.width) || THUMB_BOX.width;
  const height = Number(attachment.height) || THUMB_BOX.width;
  const scale = Math.min(1, THUMB_BOX.width / width, THUMB_BOX.height / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** How wide `attachments` are drawn, in CSS pixels: a bubble carrying them is as wide. */
export function mediaWidth(attachments) {
  const pictures = attachments.filter(isPicture);
  let width = 0;
  if (pictures.length > 1) width = 2 * SEVERAL_SIDE + PICTURE_GAP;
  else if (pictures.length === 1) width = drawnSize(pictures[0]).width;
  if (pictures.length < attachments.length) width = Math.max(width, FILE_CARD_WIDTH);
  return width;
}

/** A picture: its thumbnail in a link to the full image. */
function picture(attachment) {
  const link = el('a', 'attachment-picture');
  link.href = fileUrl(attachment.id);
  link.target = '_blank';
  link.rel = 'noopener';
  link.dataset.uploadId = attachment.id;
  link.dataset.filename = attachment.filename;
  link.dataset.width = String(attachment.width ?? '');
  link.dataset.height = String(attachment.height ?? '');
  link.dataset.key = `attachment ${attachment.id}`;
  link.title = `Open ${attachment.filename}`;
  const image = el('img');
  const { width, height } = drawnSize(attachment);
  image.width = width;
  image.height = height;
  image.alt = attachment.filename;
  image.decoding = 'async';
  image.loading = 'lazy';
  image.src = thumbnailUrl(attachment.id);
  link.append(image);
  return link;
}

/** A file card: icon, name and size, the whole card a link that downloads the file. */
function fileCard(attachment) {
  const link = el('a', 'file-card');
  link.href = fileUrl(attachment.id);
  link.download = attachment.filename;
  link.dataset.uploadId = attachment.id;
  link.dataset.key = `attachment ${attachment.id}`;
  const size = formatSize(attachment.size);
  link.title = `Download ${attachment.filename} (${size})`;
  const badge = el('span', 'file-icon');
  badge.setAttribute('aria-hidden', 'true');
  const kind = extensionOf(attachment.filename);
  badge.append(kind ? el('span', 'file-ext', kind) : icon(FILE_ICON, 22));
  const text = el('span', 'file-text');
  text.append(el('span', 'file-name', attachment.filename), el('span', 'file-size', size));
  const action = el('span', 'file-action');
  action.append(icon(DOWNLOAD_ICON, 20), el('span', 'visually-hidden', 'Download'));
  link.append(badge, text, action);
  return link;
}

/** "PDF" for "cv.pdf": up to four letters of the extension, or "". */
function extensionOf(filename) {
  const dot = filename.lastIndexOf('.');
  if (dot <= 0) return '';
  const ext = filename.slice(dot + 1);
  return /^[a-z0-9]{1,4}$/i.test(ext) ? ext.toUpperCase() : '';
}

/** The attachments of a message, as one element (pictures first in a grid, then file cards). */
export function renderAttachments(attachments) {
  const box = el('div', 'attachments');
  const pictures = attachments.filter(isPicture);
  const files = attachments.filter((a) => !isPicture(a));
  if (pictures.length > 0) {
    const grid = el('div', `pictures${pictures.length > 1 ? ' several' : ''}`);
    grid.append(...pictures.map(picture));
    box.append(grid);
  }
  box.append(...files.map(fileCard));
  return box;
}

// How one text message looks, painted from the message object alone: its sender's name (in a
// group), the quote of the message it replies to, the body with clickable links — or, once it
// is deleted, the "This message was deleted" placeholder and nothing else — the "edited" label,
// time and ticks, the reaction chips under it, and the buttons beside it ("Message actions",
// and "Message info" for my own). An edit, a delete or a reaction repaints a message the way
// its first render painted it; the keyboard focus stays on the control it was on.
//
// A message with attachments shows them (`attachments.js`) above its body, which is then a
// caption and may be empty; a deleted one shows none of them.
//
// Data attributes name what the tests and the other views read: data-reply-to on a quote,
// data-emoji and data-users (usernames, in order) on a chip, data-action on the buttons,
// data-upload-id on an attachment's link.

import { mediaWidth, quoteText, renderAttachments } from './attachments.js';
import { el, icon } from './dom.js';
import { appendLinkified, formatFull, formatTime, nameColour } from './format.js';
import { emojiName } from './reactions.js';
import { joinNames } from './system.js';

const INFO_ICON =
  'M11 7h2v2h-2zm0 4h2v6h-2zm1-9a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z';
const MORE_ICON = 'M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z';
const DELETED_ICON =
  'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM4 12a8 8 0 0 1 12.9-6.3L5.7 16.9A8 8 0 0 1 4 12zm8 8a8 8 0 0 1-4.9-1.7L18.3 7.1A8 8 0 0 1 12 20z';

/** The padding either side of a bubble's attachments (`.bubble.media` in attachments.css). */
const MEDIA_PADDING = 8;

/** What the placeholder of a deleted message says, here and in the list's preview. */
export const DELETED_TEXT = 'This message was deleted';

function iconButton(className, label, d, key) {
  const button = el('button', className);
  button.type = 'button';
  button.setAttribute('aria-label', label);
  button.title = label;
  button.dataset.key = key;
  button.append(icon(d));
  return button;
}

/**
 * @typedef {object} Look  what a message's look depends on besides the message itself
 * @property {string} me
 * @property {boolean} group  a group chat: others' names on their bubbles
 * @property {{ nameOf: (u: string) => string, callName: (u: string) => string }} names
 * @property {boolean} stored  the message has an id (not a send waiting for its ack)
 * @property {boolean} info  "Message info" is offered for my stored messages
 * @property {HTMLElement|null} editor  the inline editor, while this message is being edited
 */

/** The <li> of a text message (stored or pending), painted. */
export function renderText(message, look) {
  const created = new Date(message.created_at);
  const node = el('li', 'msg');
  node.dataset.time = String(created.getTime());
  node.dataset.sender = message.sender;
  paintText(node, message, look);
  return node;
}

/** Paints `node` (a text message's <li>) for `message` as it is now. */
export function paintText(node, message, look) {
  const focusKey = node.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  const mine = message.sender === look.me;
  const deleted = Boolean(message.deleted);
  node.classList.toggle('out', mine);
  node.classList.toggle('in', !mine);
  node.classList.toggle('deleted', deleted);
  node.classList.toggle('edited', Boolean(message.edited_at) && !deleted);
  node.classList.toggle('editing', Boolean(look.editor) && !deleted);

  const bubble = el('div', 'bubble');
  if (look.group && !mine) {
    const sender = el('span', `sender ${nameColour(message.sender)}`, look.names.nameOf(message.sender));
    sender.title = `@${message.sender}`;
    bubble.append(sender);
  }
  if (deleted) {
    const tombstone = el('div', 'tombstone');
    tombstone.append(icon(DELETED_ICON, 16), el('span', '', DELETED_TEXT));
    bubble.append(tombstone);
  } else {
    if (message.reply_to) bubble.append(quote(message.reply_to, look));
    const attachments = message.attachments ?? [];
    if (attachments.length > 0) {
      // As wide as its pictures and cards (and no wider than the chat allows): the caption
      // wraps under them.
      bubble.classList.add('media');
      bubble.style.width = `${mediaWidth(attachments) + MEDIA_PADDING}px`;
      bubble.append(attachmentsOf(node, attachments));
    }
    if (look.editor) {
      bubble.append(look.editor);
    } else if (message.body || attachments.length === 0) {
      const body = el('div', 'body');
      appendLinkified(body, message.body);
      bubble.append(body);
    } else {
      // No caption: the time and ticks go on a line of their own under the attachments.
      bubble.classList.add('no-caption');
    }
  }
  bubble.append(meta(message, mine, deleted));
  const stack = el('div', 'stack');
  stack.append(bubble);
  const reactions = deleted ? [] : (message.reactions ?? []);
  if (reactions.length > 0) stack.append(chips(reactions, look));

  // The buttons beside the bubble are kept from one paint to the next: a dialog or the menu
  // they opened gives the focus back to them.
  const kept = new Map([...node.children].filter((c) => c.dataset.key).map((c) => [c.dataset.key, c]));
  const buttons = [];
  if (look.stored && !deleted) {
    if (mine && look.info) buttons.push(kept.get('info') ?? iconButton('info-button', 'Message info', INFO_ICON, 'info'));
    buttons.push(kept.get('menu') ?? menuButton());
  }
  // Beside the bubble, on the side facing the middle of the chat, in reading order.
  node.replaceChildren(...(mine ? [...buttons, stack] : [stack, ...buttons]));
  if (focusKey && !node.contains(document.activeElement)) {
    node.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
  }
}

/** A message's attachments never change (a delete removes them all): drawn once per node. */
const drawnAttachments = new WeakMap();

/** The element of `attachments` for the message `node`, kept from the last paint if the same. */
function attachmentsOf(node, attachments) {
  const key = attachments.map((a) => a.id).join(' ');
  const kept = drawnAttachments.get(node);
  if (kept?.key === key) return kept.element;
  const element = renderAttachments(attachments);
  drawnAttachments.set(node, { key, element });
  return element;
}

function menuButton() {
  const button = iconButton('menu-button', 'Message actions', MORE_ICON, 'menu');
  button.setAttribute('aria-haspopup', 'menu');
  button.setAttribute('aria-expanded', 'false');
  return button;
}

function meta(message, mine, deleted) {
  const created = new Date(message.created_at);
  const meta = el('span', 'meta');
  if (message.edited_at && !deleted) {
    const edited = el('span', 'edited-label', 'edited');
    edited.title = `Edited ${formatFull(new Date(message.edited_at))}`;
    meta.append(edited);
  }
  const time = el('time', '', formatTime(created));
  time.dateTime = created.toISOString();
  time.title = formatFull(created);
  meta.append(time);
  if (mine && !deleted) {
    const ticks = el('span', 'ticks');
    ticks.setAttribute('role', 'img');
    meta.append(ticks);
  }
  return meta;
}

/** The quote of the replied-to message: a button that shows the original. */
function quote(replyTo, look) {
  const button = el('button', 'quote');
  button.type = 'button';
  button.dataset.replyTo = String(replyTo.id);
  button.dataset.sender = replyTo.sender;
  button.dataset.key = 'quote';
  button.title = 'Show the original message';
  button.append(el('span', 'visually-hidden', 'In reply to '), el('span', 'quote-sender', look.names.callName(replyTo.sender)));
  const text = replyTo.deleted ? DELETED_TEXT : quoteText(replyTo);
  button.append(el('span', `quote-body${replyTo.deleted ? ' quote-deleted' : ''}`, text));
  return button;
}

/** The reaction chips: emoji and count, pressed when I am among those who chose it. */
function chips(reactions, look) {
  const group = el('div', 'reactions');
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', 'Reactions');
  for (const { emoji, users } of reactions) {
    const names = users.map((u) => look.names.callName(u));
    const chip = el('button', 'reaction');
    chip.type = 'button';
    chip.dataset.emoji = emoji;
    chip.dataset.users = users.join(',');
    chip.dataset.key = `reaction ${emoji}`;
    chip.setAttribute('aria-pressed', String(users.includes(look.me)));
    chip.setAttribute('aria-label', `${emojiName(emoji)}, ${users.length}: ${joinNames(names)}`);
    chip.title = names.join(', ');
    chip.disabled = !look.stored;
    const glyph = el('span', 'reaction-emoji', emoji);
    glyph.setAttribute('aria-hidden', 'true');
    const count = el('span', 'reaction-count', String(users.length));
    count.setAttribute('aria-hidden', 'true');
    chip.append(glyph, count);
    group.append(chip);
  }
  return group;
}

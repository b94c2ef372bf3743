// Formatting for people: times and days in the reader's locale, safe links, avatars.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short' });
const relativeDays = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const DAY_MS = 86_400_000;

/** Midnight (local) of `date`, as a number, to compare days. */
export function dayKey(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

function daysAgo(date, now = new Date()) {
  return Math.round((dayKey(now) - dayKey(date)) / DAY_MS);
}

function capitalize(text) {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

/** Whether the reader's locale writes times with AM/PM (longer, so bubbles leave more room). */
export function usesTwelveHourClock() {
  const { hourCycle, hour12 } = timeFormat.resolvedOptions();
  return hour12 === true || hourCycle === 'h11' || hourCycle === 'h12';
}

/** "10:41" or "10:41 AM", as the reader's locale writes it. */
export function formatTime(date) {
  return timeFormat.format(date);
}

/** The label of a day separator: "Today", "Yesterday", a weekday, or a date. */
export function formatDay(date) {
  const ago = daysAgo(date);
  if (ago === 0 || ago === 1) return capitalize(relativeDays.format(-ago, 'day'));
  if (ago > 1 && ago < 7) return weekdayFormat.format(date);
  return dateFormat.format(date);
}

/** The time in the conversation list: the time today, "Yesterday", a weekday, or a date. */
export function formatListTime(date) {
  const ago = daysAgo(date);
  if (ago === 0) return formatTime(date);
  if (ago === 1) return capitalize(relativeDays.format(-1, 'day'));
  if (ago > 1 && ago < 7) return weekdayFormat.format(date);
  return shortDateFormat.format(date);
}

/** "last seen today at 10:41" and the like. */
export function formatLastSeen(date) {
  const ago = daysAgo(date);
  const time = formatTime(date);
  if (ago === 0 || ago === 1) return `last seen ${relativeDays.format(-ago, 'day')} at ${time}`;
  return `last seen ${dateFormat.format(date)} at ${time}`;
}

/** The full date and time, for a tooltip. */
export function formatFull(date) {
  return `${dateFormat.format(date)} ${formatTime(date)}`;
}

/** "Today, 10:41", "Yesterday, 09:02", "Monday, 18:30", "Mar 3, 2026, 08:15". */
export function formatWhen(date) {
  return `${formatDay(date)}, ${formatTime(date)}`;
}

// A link is http(s)://… up to white space; trailing punctuation is left out of it.
const LINK = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'")\]}]+$/;

/**
 * Appends `text` to `parent` as text nodes, with http(s) URLs as anchors that open in a new
 * tab without a referrer or a handle on this page. Nothing is parsed as HTML.
 */
export function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    let raw = match[0];
    const trailing = raw.match(TRAILING);
    if (trailing) raw = raw.slice(0, -trailing[0].length);
    const url = safeUrl(raw);
    if (!url) continue;
    if (match.index > last) parent.append(text.slice(last, match.index));
    const link = document.createElement('a');
    link.href = url;
    link.textContent = raw;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    parent.append(link);
    last = match.index + raw.length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** `raw` as an absolute http(s) URL, or null. */
export function safeUrl(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function hashOf(text) {
  let hash = 0;
  for (const ch of text || '') hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash;
}

function setColour(node, text) {
  for (let i = 0; i < 8; i += 1) node.classList.remove(`c${i}`);
  node.classList.add(`c${hashOf(text) % 8}`);
}

/** Fills an avatar element with the initials of `name` on a colour derived from it. */
export function paintAvatar(node, name) {
  const words = (name || '?').trim().split(/\s+/).filter(Boolean);
  const initials = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
  node.textContent = [...initials].slice(0, 2).join('').toLocaleUpperCase();
  setColour(node, name);
}

const GROUP_ICON =
  'M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0c-.3 0-.6 0-1 .1 1.2.8 2 2 2 3.4V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z';

/** Fills an avatar element with a group's icon on a colour derived from its `id`. */
export function paintGroupAvatar(node, id) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '60%');
  svg.setAttribute('height', '60%');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', GROUP_ICON);
  svg.append(path);
  node.replaceChildren(svg);
  node.classList.add('group-avatar');
  setColour(node, `group ${id}`);
}

/** The colour class of a sender's name in a group (`n0`…`n5`), the same for them everywhere. */
export function nameColour(username) {
  return `n${hashOf(username) % 6}`;
}

/** "3 unread messages". */
export function unreadLabel(count) {
  return count === 1 ? '1 unread message' : `${count} unread messages`;
}

/** The tick characters and the accessible label of an own message's status. */
export function ticksFor(status) {
  switch (status) {
    case 'read':
      return { text: '✓✓', label: 'Read' };
    case 'delivered':
      return { text: '✓✓', label: 'Delivered' };
    case 'sent':
      return { text: '✓', label: 'Sent' };
    case 'failed':
      return { text: '!', label: 'Not sent' };
    default:
      return { text: '◷', label: 'Sending' };
  }
}

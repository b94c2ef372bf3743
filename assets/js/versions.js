// A message changes after it is sent (edited, deleted for everyone, reacted to): which version
// the page keeps when another one arrives, and the quote a reply shows of it — written once for
// the model (`store.js`) and the open chat (`messages.js`).
//
// Two sources bring a new version. A `message_updated` event carries the message as it is now
// and arrives in cursor order (live or replayed), so it replaces what the page has. The answer
// to this page's own edit or delete may reach the page after events that are newer than it,
// so it only brings what it changed (body and edit time, or the deletion), never older
// reactions. Either way a deletion is final, and a status never moves back.

import { isAfter } from './statuses.js';

/** How many Unicode scalar values of a body a quote keeps (as the server cuts `reply_to`). */
const QUOTE_CHARS = 200;

/** The `reply_to` quote of `message`, as the server would give it now. */
export function quoteOf(message) {
  return {
    id: message.id,
    sender: message.sender,
    body: message.deleted ? '' : [...message.body].slice(0, QUOTE_CHARS).join(''),
    deleted: Boolean(message.deleted),
  };
}

/** The first line of a body, for one-line previews (the reply bar, the list, a quote). */
export function firstLine(body) {
  return (body ?? '').split('\n', 1)[0];
}

function editedLater(a, b) {
  if (!a.edited_at) return false;
  return !b.edited_at || Date.parse(a.edited_at) >= Date.parse(b.edited_at);
}

/**
 * The version to keep when `incoming` arrives for a message the page has as `current`
 * (which may be null): `fromEvent` for a stored event, false for the answer to a request.
 */
export function replacement(current, incoming, fromEvent) {
  if (!current) return { ...incoming };
  if (current.deleted) return current;
  let next;
  if (fromEvent || incoming.deleted) {
    next = { ...incoming };
  } else {
    next = { ...current };
    if (editedLater(incoming, current)) Object.assign(next, { body: incoming.body, edited_at: incoming.edited_at });
  }
  if (isAfter(current.status, next.status)) next.status = current.status;
  for (const count of ['delivered_count', 'read_count']) {
    if (current[count] > (next[count] ?? -1)) next[count] = current[count];
  }
  return next;
}

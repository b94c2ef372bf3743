// Message statuses and their order, written once: a stored message only moves forward,
// sent < delivered < read (PROTOCOL.md). Two statuses exist only in this page, for a send
// with no ack yet (`pending`) or refused (`failed`); they come before `sent`.

/** The stored statuses, in the order a message moves through them. */
export const STATUSES = Object.freeze(['sent', 'delivered', 'read']);

const LOCAL = ['pending', 'failed'];

/** `status`'s place in the order (0 for the page's own statuses), or undefined if unknown. */
function rank(status) {
  if (LOCAL.includes(status)) return 0;
  const at = STATUSES.indexOf(status);
  return at < 0 ? undefined : at + 1;
}

/** Whether a message at `current` may move to `next`: `next` is known and further along. */
export function isAfter(next, current) {
  const to = rank(next);
  return to !== undefined && to > (rank(current) ?? 0);
}

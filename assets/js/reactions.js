// Reactions, written once: the emoji the picker offers, and the contract's rule for how one
// person's change moves a message's `reactions` (PROTOCOL.md, The message object): emoji in the
// order each was first set among its current users — one whose last user removes it drops out,
// and goes last if set again — and users in the order they set it. Each person has at most one
// reaction on a message; setting another replaces it, as one change.
//
// Pure functions on plain data: the model (`store.js`) applies `reaction` events and this
// page's own changes with them, live and on replay alike.

/** The picker's emoji, fully qualified (as the server stores them), with their names. */
export const COMMON_EMOJI = Object.freeze([
  ['👍', 'thumbs up'],
  ['❤️', 'red heart'],
  ['😂', 'face with tears of joy'],
  ['😮', 'face with open mouth'],
  ['😢', 'crying face'],
  ['🙏', 'folded hands'],
]);

/** The name of `emoji` for a label ("thumbs up"), or the emoji itself when not a common one. */
export function emojiName(emoji) {
  return COMMON_EMOJI.find(([e]) => e === emoji)?.[1] ?? emoji;
}

/**
 * `reactions` after `user` set `emoji` (a string) or removed theirs (`null`): a new array;
 * the input is not changed. Setting the emoji one has already, or removing none, changes
 * nothing (so an event applied twice, or on top of a state that already has it, is harmless).
 *
 * @param {Array<{ emoji: string, users: string[] }>} reactions
 * @param {string} user
 * @param {string|null} emoji
 */
export function withReaction(reactions, user, emoji) {
  const current = reactions.find((r) => r.users.includes(user))?.emoji ?? null;
  if (current === emoji) return reactions.map((r) => ({ emoji: r.emoji, users: [...r.users] }));
  const next = [];
  for (const reaction of reactions) {
    const users = reaction.users.filter((u) => u !== user);
    if (reaction.emoji === emoji) users.push(user);
    if (users.length > 0) next.push({ emoji: reaction.emoji, users });
  }
  if (emoji !== null && !next.some((r) => r.emoji === emoji)) next.push({ emoji, users: [user] });
  return next;
}

/** The emoji `user` has on a message with `reactions`, or null. */
export function reactionOf(reactions, user) {
  return reactions.find((r) => r.users.includes(user))?.emoji ?? null;
}

// The words for a group's system messages ("Alice added Bob and Carol"), from the message's
// `system` record and the names the page knows (the plain-English `body` the server writes
// only when there is no record, or an event this page does not know), and for roles and
// settings, written once for the chat and the members panel.

/** The people's names as a sentence: "Bob", "Bob and Carol", "Bob, Carol and Dan". */
export function joinNames(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** What each setting means, on and off. */
export const SETTING_WORDS = Object.freeze({
  only_admins_send: ['only admins can send messages', 'everyone can send messages'],
  only_admins_edit_info: ['only admins can edit the group info', 'everyone can edit the group info'],
  only_admins_add: ['only admins can add people', 'everyone can add people'],
});

const HISTORY_WORDS = Object.freeze({
  shared: 'new members see earlier messages',
  joined: 'new members see only messages sent after they join',
});

/** A role, for people: "Owner", "Admin", "Member". */
export function roleLabel(role) {
  return { owner: 'Owner', admin: 'Admin' }[role] ?? 'Member';
}

function settingsWords(settings) {
  const words = [];
  for (const [key, value] of Object.entries(settings ?? {})) {
    if (key === 'history') words.push(HISTORY_WORDS[value] ?? `history: ${value}`);
    else if (SETTING_WORDS[key]) words.push(SETTING_WORDS[key][value ? 0 : 1]);
  }
  return words;
}

/**
 * The line a system message shows to `me`. `name(username)` gives how to call someone ("You"
 * for the reader, else their display name when known, else the username).
 */
export function systemText(message, me, name) {
  const record = message.system;
  if (!record) return message.body;
  const actor = name(record.actor);
  // Mid-sentence, the reader is "you".
  const object = (username) => (username === me ? 'you' : name(username));
  const targets = joinNames((record.targets ?? []).map(object));
  switch (record.event) {
    case 'created':
      return `${actor} created the group “${record.title}”${targets ? ` with ${targets}` : ''}`;
    case 'members_added':
      return `${actor} added ${targets}`;
    case 'member_removed':
      return `${actor} removed ${targets}`;
    case 'member_left':
      if (!record.new_owner) return `${actor} left`;
      return record.new_owner === me
        ? `${actor} left; you are now the owner`
        : `${actor} left; ${name(record.new_owner)} is now the owner`;
    case 'renamed':
      return `${actor} renamed the group to “${record.title}”`;
    case 'description_changed':
      return record.description ? `${actor} changed the group description` : `${actor} removed the group description`;
    case 'role_changed':
      return record.role === 'admin' ? `${actor} made ${targets} an admin` : `${actor} made ${targets} a member, no longer an admin`;
    case 'settings_changed': {
      const words = settingsWords(record.settings);
      return words.length ? `${actor} changed the settings: ${words.join('; ')}` : message.body;
    }
    default:
      return message.body;
  }
}

/**
 * What a system message means for the reader `me`: 'removed' or 'left' (their membership
 * ended, by `by`), 'joined' (they were added), or null.
 */
export function membershipChange(message, me) {
  const record = message.system;
  if (!record) return null;
  const targets = record.targets ?? [];
  if (record.event === 'member_removed' && targets.includes(me)) return { change: 'removed', by: record.actor };
  if (record.event === 'member_left' && record.actor === me) return { change: 'left', by: me };
  if ((record.event === 'created' || record.event === 'members_added') && targets.includes(me)) {
    return { change: 'joined', by: record.actor };
  }
  return null;
}

//! Statement text both backends run as it is: written with `$1`, `$2`, … placeholders, which
//! PostgreSQL numbers and SQLite binds in order of first appearance, so one text serves both
//! as long as each `$N` first appears after `$N-1` (the arguments are bound in that order).
//! A statement whose SQL differs between the two stays with its backend, and so does every
//! statement of SQLite's send and status paths and of PostgreSQL's batches, whose text is kept
//! as it is measured.

/// Whether `$2` (a user id) is a member of conversation `$1`: the one membership check every
/// read or write of a conversation's messages makes before it touches them.
pub const IS_MEMBER: &str = "SELECT EXISTS (SELECT 1 FROM conversation_members \
     WHERE conversation_id = $1 AND user_id = $2)";

/// The user named `$1` with their password hash, for login.
pub const CREDENTIALS: &str =
    "SELECT id, username, display_name, password_hash FROM users WHERE username = $1";

/// The other party of direct conversation `$1` when user `$2` is one of its two. (`$1` comes
/// first in the text: SQLite numbers the placeholders in the order they first appear.)
pub const DIRECT_PARTY: &str = "SELECT u.id, u.username, u.display_name FROM direct_conversations d \
     JOIN users u ON d.conversation_id = $1 \
       AND u.id = CASE WHEN d.user_low = $2 THEN d.user_high ELSE d.user_low END \
     WHERE d.user_low = $2 OR d.user_high = $2";

/// The user named `$1`.
pub const USER_BY_USERNAME: &str =
    "SELECT id, username, display_name FROM users WHERE username = $1";

/// A new session: id hash, user, CSRF token, created, expires.
pub const INSERT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";

/// The user, CSRF token and expiry of the session with id hash `$1`, if it expires after `$2`.
pub const LIVE_SESSION: &str = "SELECT u.id, u.username, u.display_name, s.csrf_token, s.expires_at FROM sessions s \
     JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2";

/// Ends the session with id hash `$1`.
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

/// A new bearer token: its hash, user, created.
pub const INSERT_TOKEN: &str =
    "INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3)";

/// The user of the bearer token with hash `$1`.
pub const TOKEN_USER: &str = "SELECT u.id, u.username, u.display_name FROM api_tokens t \
     JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1";

/// Revokes the bearer token with hash `$1`.
pub const DELETE_TOKEN: &str = "DELETE FROM api_tokens WHERE token_hash = $1";

/// Records `$1` as when user `$2`'s last socket closed.
pub const SET_LAST_SEEN: &str = "UPDATE users SET last_seen_at = $1 WHERE id = $2";

/// Everyone sharing a direct conversation that has a message with user `$1`, neither blocking
/// the other, with their last-seen time and both request states (`mine`, `theirs`) (groups do
/// not count: presence is between people who talk one to one).
pub const CONTACTS: &str = "SELECT DISTINCT o.id, o.username, o.display_name, o.last_seen_at, \
       me.request AS mine, om.request AS theirs \
     FROM conversation_members me \
     JOIN direct_conversations d ON d.conversation_id = me.conversation_id \
     JOIN conversation_members om ON om.conversation_id = me.conversation_id AND om.user_id != me.user_id \
     JOIN users o ON o.id = om.user_id WHERE me.user_id = $1 \
       AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = me.conversation_id) \
       AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = $1 AND b.blocked_id = o.id) \
         OR (b.blocker_id = o.id AND b.blocked_id = $1))";

/// User `$1`'s newest cursor (0 before any event).
pub const LAST_CURSOR: &str = "SELECT COALESCE(MAX(cursor), 0) FROM events WHERE user_id = $1";

/// Sets the body of message `$3` to `$1`, edited at `$2`.
pub const EDIT_MESSAGE: &str = "UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3";

/// Deletes message `$2` for everyone, by user `$1`: its body erased, its quote dropped.
pub const DELETE_MESSAGE: &str = "UPDATE messages SET body = '', deleted = TRUE, deleted_by = $1, \
     reply_to_id = NULL WHERE id = $2";

/// Drops every reaction on message `$1` (it was deleted).
pub const CLEAR_REACTIONS: &str = "DELETE FROM reactions WHERE message_id = $1";

/// Sets user `$2`'s reaction on message `$1` to emoji `$3` at `$4`, as the last of the message's
/// reactions to be set (`rank`, a replaced one too), and with that emoji's place among the
/// message's emoji (`emoji_rank`): where it stands while someone else has it, else last.
/// (`WHERE TRUE`: without it SQLite reads the upsert's `ON` as a join's.)
pub const SET_REACTION: &str = "INSERT INTO reactions (message_id, user_id, emoji, rank, emoji_rank, at) \
     SELECT $1, $2, $3, n.next, COALESCE((SELECT MIN(emoji_rank) FROM reactions \
     WHERE message_id = $1 AND emoji = $3 AND user_id <> $2), n.next), $4 \
     FROM (SELECT COALESCE(MAX(rank), 0) + 1 AS next FROM reactions WHERE message_id = $1) n WHERE TRUE \
     ON CONFLICT (message_id, user_id) DO UPDATE SET emoji = excluded.emoji, rank = excluded.rank, \
     emoji_rank = excluded.emoji_rank, at = excluded.at";

/// Removes user `$2`'s reaction on message `$1`.
pub const REMOVE_REACTION: &str = "DELETE FROM reactions WHERE message_id = $1 AND user_id = $2";

/// A new upload: id, uploader, filename, content type, size, sha256, width, height, whether it
/// has a thumbnail, created.
pub const INSERT_UPLOAD: &str = "INSERT INTO uploads (id, uploader_id, filename, content_type, size, sha256, \
     width, height, thumbnail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The bytes user `$1` uploaded after `$2`, and when the oldest of those uploads was made.
pub const UPLOAD_USAGE: &str = "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT), MIN(created_at) FROM uploads \
     WHERE uploader_id = $1 AND created_at > $2";

/// Whether upload `$1` is user `$2`'s and a message may still carry it: never attached and made
/// after `$3`, or carried by a message now.
pub const ATTACHABLE: &str = "SELECT COUNT(*) FROM uploads WHERE id = $1 AND uploader_id = $2 \
     AND gone_at IS NULL AND ((NOT attached AND created_at > $3) \
     OR EXISTS (SELECT 1 FROM message_attachments a WHERE a.upload_id = uploads.id))";

/// Message `$1` carries upload `$3` at position `$2`.
pub const ATTACH: &str =
    "INSERT INTO message_attachments (message_id, position, upload_id) VALUES ($1, $2, $3)";

/// Upload `$1` has been carried by a message: from now on it lives only while one carries it.
pub const MARK_ATTACHED: &str = "UPDATE uploads SET attached = TRUE WHERE id = $1";

/// Message `$1` carries nothing any more (it was deleted).
pub const DETACH_ALL: &str = "DELETE FROM message_attachments WHERE message_id = $1";

/// Marks gone at `$1` every upload no message may carry any more: never attached and made at
/// or before `$2`, or attached once and carried by none now.
pub const MARK_GONE: &str = "UPDATE uploads SET gone_at = $1 WHERE gone_at IS NULL \
     AND ((NOT attached AND created_at <= $2) OR (attached AND NOT EXISTS \
     (SELECT 1 FROM message_attachments a WHERE a.upload_id = uploads.id)))";

/// Up to `$1` gone uploads whose bytes are still stored.
pub const GONE_NOT_REMOVED: &str =
    "SELECT id FROM uploads WHERE gone_at IS NOT NULL AND NOT removed ORDER BY gone_at LIMIT $1";

/// Upload `$1`'s bytes are removed from storage.
pub const MARK_REMOVED: &str = "UPDATE uploads SET removed = TRUE WHERE id = $1";

/// Forgets the rows of removed uploads made at or before `$1` (past every quota window).
pub const PURGE_REMOVED: &str = "DELETE FROM uploads WHERE removed AND created_at <= $1 \
     AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.upload_id = uploads.id)";

// Safety (blocks and message requests; `store::safety` says what the request states mean).

/// User `$1` blocks user `$2` (from `$3`); blocking again changes nothing.
pub const BLOCK: &str = "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT DO NOTHING";

/// User `$1` stops blocking user `$2`.
pub const UNBLOCK: &str = "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2";

/// The users `$1` blocks, in the order blocked.
pub const BLOCKED_BY: &str = "SELECT u.id, u.username, u.display_name FROM blocks b \
     JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 ORDER BY b.created_at, u.username";

/// Whether users `$1` and `$2` block each other, either way.
pub const BLOCKED_EITHER_WAY: &str = "SELECT EXISTS (SELECT 1 FROM blocks \
     WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1))";

/// Everyone user `$1` blocks or is blocked by.
pub const BLOCK_PEERS: &str = "SELECT blocked_id FROM blocks WHERE blocker_id = $1 \
     UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1";

/// Whether users `$1` and `$2` are both current members of a group that is a request for
/// neither.
pub const SHARED_GROUP: &str = "SELECT EXISTS (SELECT 1 FROM conversation_members a \
     JOIN conversation_members b ON b.conversation_id = a.conversation_id \
     JOIN conversations c ON c.id = a.conversation_id \
     WHERE a.user_id = $1 AND b.user_id = $2 AND c.kind = 'group' \
       AND a.left_id IS NULL AND b.left_id IS NULL AND a.request = 0 AND b.request = 0)";

/// Whether user `$2` may message user `$1` without a request: `$1` is not waiting on a
/// request from `$2` in a direct conversation that has a message, or they share an accepted
/// group.
pub const TRUSTS: &str = "SELECT EXISTS (SELECT 1 FROM direct_conversations d \
     JOIN conversation_members me ON me.conversation_id = d.conversation_id AND me.user_id = $1 \
     WHERE ((d.user_low = $1 AND d.user_high = $2) OR (d.user_low = $2 AND d.user_high = $1)) \
       AND me.request = 0 \
       AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = d.conversation_id)) \
     OR EXISTS (SELECT 1 FROM conversation_members a \
     JOIN conversation_members b ON b.conversation_id = a.conversation_id \
     JOIN conversations c ON c.id = a.conversation_id \
     WHERE a.user_id = $1 AND b.user_id = $2 AND c.kind = 'group' \
       AND a.left_id IS NULL AND b.left_id IS NULL AND a.request = 0 AND b.request = 0)";

/// The direct conversation of users `$1` and `$2` with each one's request state and whether it
/// has a message: `(conversation_id, request of $1, request of $2, has a message)`.
pub const DIRECT_STATES: &str = "SELECT d.conversation_id, a.request, b.request, \
       EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = d.conversation_id) \
     FROM direct_conversations d \
     JOIN conversation_members a ON a.conversation_id = d.conversation_id AND a.user_id = $1 \
     JOIN conversation_members b ON b.conversation_id = d.conversation_id AND b.user_id = $2 \
     WHERE (d.user_low = $1 AND d.user_high = $2) OR (d.user_low = $2 AND d.user_high = $1)";

/// Sets member `$3`'s request state in conversation `$2` to `$1`.
pub const SET_REQUEST: &str =
    "UPDATE conversation_members SET request = $1 WHERE conversation_id = $2 AND user_id = $3";

/// How many messages user `$2` stored in conversation `$1`.
pub const SENT_IN: &str =
    "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND sender_id = $2";

/// Ends for good every pending direct request between user `$2`, now an accepted current member
/// of group `$1`, and the group's other accepted current members.
pub const LIFT_REQUESTS: &str = "UPDATE conversation_members SET request = 0 \
     WHERE request = 1 AND conversation_id IN (SELECT d.conversation_id FROM \
       (SELECT user_id FROM conversation_members WHERE conversation_id = $1 \
          AND left_id IS NULL AND request = 0 AND user_id != $2) g \
       JOIN direct_conversations d ON (d.user_low = g.user_id AND d.user_high = $2) \
         OR (d.user_low = $2 AND d.user_high = g.user_id))";

/// The condition on a list row (`me`, the user `$1`'s member row; `o`, a direct conversation's
/// other party) that hides declined requests and pending requests from someone the user blocks.
pub const SHOWN_IN_LIST: &str = "me.request NOT IN (2, 4) AND NOT (me.request = 1 AND EXISTS \
     (SELECT 1 FROM blocks b WHERE b.blocker_id = me.user_id AND b.blocked_id = o.id))";

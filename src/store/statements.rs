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

/// The user, CSRF token and expiry of the session with id hash `$1`, if it expires after `$2`
/// and its account is active (not suspended or deleted).
pub const LIVE_SESSION: &str = "SELECT u.id, u.username, u.display_name, s.csrf_token, s.expires_at FROM sessions s \
     JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.status = 0";

/// Ends the session with id hash `$1`.
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

/// A new bearer token: its hash, user, created, public id, expiry (null: never).
pub const INSERT_TOKEN: &str = "INSERT INTO api_tokens (token_hash, user_id, created_at, id, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";

/// The user, public id, expiry and last use of the bearer token with hash `$1`, if it has not
/// expired at `$2` and the account is active.
pub const TOKEN_USER: &str = "SELECT u.id, u.username, u.display_name, t.id AS token_id, t.expires_at, \
     t.last_used_at FROM api_tokens t \
     JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 \
     AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.status = 0";

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

/// Up to `$1` gone uploads whose bytes are still stored and held by no report.
pub const GONE_NOT_REMOVED: &str = "SELECT id FROM uploads WHERE gone_at IS NOT NULL AND NOT removed \
     AND NOT EXISTS (SELECT 1 FROM report_uploads h WHERE h.upload_id = uploads.id) ORDER BY gone_at LIMIT $1";

/// Upload `$1`'s bytes are removed from storage.
pub const MARK_REMOVED: &str = "UPDATE uploads SET removed = TRUE WHERE id = $1";

/// Forgets the rows of removed uploads made at or before `$1` (past every quota window).
pub const PURGE_REMOVED: &str = "DELETE FROM uploads WHERE removed AND created_at <= $1 \
     AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.upload_id = uploads.id)";

// -- Authentication (auth) --

/// User `$1`'s bearer tokens not expired at `$2`, oldest first.
pub const LIST_TOKENS: &str = "SELECT id, created_at, last_used_at FROM api_tokens \
     WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at, id";

/// Revokes user `$1`'s bearer token with public id `$2`, returning its hash.
pub const REVOKE_TOKEN: &str =
    "DELETE FROM api_tokens WHERE user_id = $1 AND id = $2 RETURNING token_hash";

/// Records `$1` as the last use of the bearer token with hash `$2`, unless a use after `$3`
/// is already recorded.
pub const TOUCH_TOKEN: &str = "UPDATE api_tokens SET last_used_at = $1 \
     WHERE token_hash = $2 AND (last_used_at IS NULL OR last_used_at < $3)";

/// Sets user `$2`'s password hash to `$1`.
pub const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE id = $2";

/// Ends user `$1`'s sessions but the one with id hash `$2`, returning their id hashes.
pub const END_OTHER_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 RETURNING id_hash";

/// Revokes user `$1`'s bearer tokens but the one with hash `$2`, returning their hashes.
pub const END_OTHER_TOKENS: &str =
    "DELETE FROM api_tokens WHERE user_id = $1 AND token_hash <> $2 RETURNING token_hash";

/// Purges the sessions expired at `$1`.
pub const PURGE_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";

/// Purges the bearer tokens expired at `$1`.
pub const PURGE_TOKENS: &str = "DELETE FROM api_tokens WHERE expires_at <= $1";

// Accounts, reports and operators (v2 safety).

/// Sets user `$2`'s status to `$1` (`standing::AccountStatus`).
pub const SET_ACCOUNT_STATUS: &str = "UPDATE users SET status = $1 WHERE id = $2";

/// Ends every session of user `$1`.
pub const END_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";

/// Revokes every bearer token of user `$1`.
pub const END_TOKENS: &str = "DELETE FROM api_tokens WHERE user_id = $1";

/// User `$1`'s status.
pub const ACCOUNT_STATUS: &str = "SELECT status FROM users WHERE id = $1";

/// User `$1`'s status, whether their password is still the one a reset set, until when that
/// one logs in, and whether it did.
pub const LOGIN_STANDING: &str = "SELECT status, COALESCE(reset_hash = password_hash, FALSE), \
     COALESCE(reset_until, 0), reset_used FROM users WHERE id = $1";

/// The reset password of user `$1` has logged in once.
pub const SPEND_RESET: &str = "UPDATE users SET reset_used = 1 WHERE id = $1";

/// Sets password hash `$1` as a reset's, logging in once until `$2`, for user `$3`.
pub const RESET_PASSWORD: &str = "UPDATE users SET password_hash = $1, reset_hash = $1, \
     reset_until = $2, reset_used = 0 WHERE id = $3";

/// Whether user `$1` reported message `$2` already.
pub const REPORTED: &str =
    "SELECT EXISTS (SELECT 1 FROM reports WHERE reporter_id = $1 AND message_id = $2)";

/// A report by `$1` of message `$2` with reason `$3` at `$4`, keeping the message as `$5`.
pub const INSERT_REPORT: &str = "INSERT INTO reports (reporter_id, message_id, reason, at, message) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (reporter_id, message_id) DO NOTHING RETURNING id";

/// Report `$1` holds the bytes of upload `$2`.
pub const HOLD_UPLOAD: &str =
    "INSERT INTO report_uploads (report_id, upload_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Reports with id > `$1`, oldest first, at most `$2`, with their reporter's name.
pub const REPORTS: &str = "SELECT r.id, r.at, u.username, r.reason, r.message FROM reports r \
     JOIN users u ON u.id = r.reporter_id WHERE r.id > $1 ORDER BY r.id LIMIT $2";

/// The reports user `$1` made, oldest first.
pub const REPORTS_BY: &str =
    "SELECT message_id, reason, at FROM reports WHERE reporter_id = $1 ORDER BY id";

/// The messages user `$1` has a reaction on.
pub const REACTED_BY: &str =
    "SELECT message_id FROM reactions WHERE user_id = $1 ORDER BY message_id";

/// User `$1`'s text messages not deleted.
pub const UNDELETED_BY: &str =
    "SELECT id FROM messages WHERE sender_id = $1 AND kind = 0 AND NOT deleted ORDER BY id";

/// The groups user `$1` is a current member of.
pub const CURRENT_GROUPS: &str = "SELECT m.conversation_id FROM conversation_members m \
     JOIN conversations c ON c.id = m.conversation_id \
     WHERE m.user_id = $1 AND m.left_id IS NULL AND c.kind = 'group' ORDER BY m.conversation_id";

/// Renames user `$3` to `$1` with display name `$2`, with no password, deleted.
pub const RETIRE_USER: &str = "UPDATE users SET username = $1, display_name = $2, \
     password_hash = '', reset_hash = NULL, status = 2 WHERE id = $3";

/// The system messages of the groups user `$1` is or was a member of: id and record.
pub const SYSTEM_MESSAGES_OF_MEMBER: &str = "SELECT m.id, m.system FROM messages m \
     JOIN conversation_members cm ON cm.conversation_id = m.conversation_id \
     WHERE cm.user_id = $1 AND m.kind = 1 AND m.system IS NOT NULL ORDER BY m.id";

/// Rewrites system message `$3` with body `$1` and record `$2`.
pub const REWRITE_SYSTEM_MESSAGE: &str = "UPDATE messages SET body = $1, system = $2 WHERE id = $3";

/// Holds username `$1` from sign-up until `$2`.
pub const HOLD_USERNAME: &str = "INSERT INTO retired_usernames (username, until) VALUES ($1, $2) \
     ON CONFLICT (username) DO UPDATE SET until = excluded.until";

/// Every upload of user `$2` not gone yet is gone at `$1`.
pub const UPLOADS_GONE: &str =
    "UPDATE uploads SET gone_at = $1 WHERE uploader_id = $2 AND gone_at IS NULL";

/// Whether username `$1` is held after `$2`.
pub const USERNAME_RETIRED: &str =
    "SELECT EXISTS (SELECT 1 FROM retired_usernames WHERE username = $1 AND until > $2)";

/// Records an export at `$1` by user `$2` unless one was made after `$3`.
pub const CLAIM_EXPORT: &str = "UPDATE users SET exported_at = $1 WHERE id = $2 \
     AND (exported_at IS NULL OR exported_at <= $3)";

/// When user `$1` last exported.
pub const LAST_EXPORT: &str = "SELECT exported_at FROM users WHERE id = $1";

/// Releases the bytes held by reports made before `$1`.
pub const RELEASE_REPORTED: &str =
    "DELETE FROM report_uploads WHERE report_id IN (SELECT id FROM reports WHERE at < $1)";

/// Forgets reports made before `$1`.
pub const PURGE_REPORTS: &str = "DELETE FROM reports WHERE at < $1";

/// Frees usernames held until `$1`.
pub const PURGE_RETIRED: &str = "DELETE FROM retired_usernames WHERE until <= $1";
// Safety (blocks and message requests; `store::safety` says what the request states mean).

/// User `$1` blocks user `$2` (from `$3`); blocking again changes nothing.
pub const BLOCK: &str = "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT DO NOTHING";

/// User `$1` stops blocking user `$2`.
pub const UNBLOCK: &str = "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2";

/// The users `$1` blocks, in the order blocked.
pub const BLOCKED_BY: &str = "SELECT u.id, u.username, u.display_name FROM blocks b \
     JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 ORDER BY b.created_at, u.username";

/// Whether users `$1` and `$2` block each other, either way: two primary-key lookups (one
/// `OR` inside a single `EXISTS` made SQLite build a row set for every direct send).
pub const BLOCKED_EITHER_WAY: &str = "SELECT EXISTS (SELECT 1 FROM blocks \
     WHERE blocker_id = $1 AND blocked_id = $2) \
     OR EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $2 AND blocked_id = $1)";

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

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

/// The other party of direct conversation `$1` when user `$2` is one of its two.
pub const DIRECT_PARTY: &str = "SELECT u.id, u.username, u.display_name FROM direct_conversations d \
     JOIN users u ON u.id = CASE WHEN d.user_low = $2 THEN d.user_high ELSE d.user_low END \
     WHERE d.conversation_id = $1 AND (d.user_low = $2 OR d.user_high = $2)";

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

/// Everyone sharing a direct conversation with user `$1`, with their last-seen time (groups do
/// not count: presence is between people who talk one to one).
pub const CONTACTS: &str = "SELECT DISTINCT o.id, o.username, o.display_name, o.last_seen_at \
     FROM conversation_members me \
     JOIN direct_conversations d ON d.conversation_id = me.conversation_id \
     JOIN conversation_members om ON om.conversation_id = me.conversation_id AND om.user_id != me.user_id \
     JOIN users o ON o.id = om.user_id WHERE me.user_id = $1";

/// User `$1`'s newest cursor (0 before any event).
pub const LAST_CURSOR: &str = "SELECT COALESCE(MAX(cursor), 0) FROM events WHERE user_id = $1";

/// Sets the body of message `$3` to `$1`, edited at `$2`.
pub const EDIT_MESSAGE: &str = "UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3";

/// Deletes message `$2` for everyone, by user `$1`: its body erased, its quote dropped.
pub const DELETE_MESSAGE: &str = "UPDATE messages SET body = '', deleted = TRUE, deleted_by = $1, \
     reply_to_id = NULL WHERE id = $2";

/// Drops every reaction on message `$1` (it was deleted).
pub const CLEAR_REACTIONS: &str = "DELETE FROM reactions WHERE message_id = $1";

/// Sets user `$2`'s reaction on message `$1` to emoji `$3` at `$4`, ranked after every
/// reaction the message has now (a replaced one moves to the end, as a new one).
pub const SET_REACTION: &str = "INSERT INTO reactions (message_id, user_id, emoji, rank, at) \
     VALUES ($1, $2, $3, (SELECT COALESCE(MAX(rank), 0) + 1 FROM reactions WHERE message_id = $1), $4) \
     ON CONFLICT (message_id, user_id) DO UPDATE SET emoji = excluded.emoji, rank = excluded.rank, \
     at = excluded.at";

/// Removes user `$2`'s reaction on message `$1`.
pub const REMOVE_REACTION: &str = "DELETE FROM reactions WHERE message_id = $1 AND user_id = $2";

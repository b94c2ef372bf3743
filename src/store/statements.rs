//! Statement text both backends run as it is: written with `$1`, `$2`, … placeholders, which
//! PostgreSQL numbers and SQLite binds in order of first appearance, so one text serves both.
//! A statement whose SQL differs between the two stays with its backend.

/// Whether `$2` (a user id) is a member of conversation `$1`: the one membership check every
/// read or write of a conversation's messages makes before it touches them.
pub const IS_MEMBER: &str = "SELECT EXISTS (SELECT 1 FROM conversation_members \
     WHERE conversation_id = $1 AND user_id = $2)";

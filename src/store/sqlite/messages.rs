//! Messages on SQLite as they are read back: the columns and joins that make a `Message` (the
//! sender's and recipient's usernames joined in), a message by id (as stored, before a
//! viewer's status), and the message a sender stored under a `client_id` (as the sender sees
//! it). Storing one is `sends`; reading a conversation's pages is `conversations`; the event
//! stream joins messages with these same columns (`events`).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::marks::show;
use super::other;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind};
use crate::store::{StoreError, records};

/// The columns `message_from_row` expects, for a `messages m` joined with its users.
pub const MESSAGE_COLUMNS: &str = "m.id, m.seq, m.conversation_id, m.kind, s.username, \
     r.username, m.client_id, m.body, m.created_at, m.edited_at, m.deleted, m.system, \
     d.username, m.reply_to_id";
/// `messages m` with the users `MESSAGE_COLUMNS` names: the sender `s`, the recipient `r`
/// (none in a group) and who deleted it, `d`.
pub const MESSAGE_JOINS: &str = "messages m JOIN users s ON s.id = m.sender_id \
     LEFT JOIN users r ON r.id = m.recipient_id LEFT JOIN users d ON d.id = m.deleted_by";

/// Builds a message from `MESSAGE_COLUMNS` starting at column `at`, without a status: what a
/// viewer sees of it is theirs (`marks::show`).
pub fn message_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Message> {
    let system: Option<String> = row.get(at + 11)?;
    Ok(records::stored_message(records::StoredMessage {
        id: MessageId(row.get(at)?),
        seq: row.get(at + 1)?,
        conversation_id: ConversationId(row.get(at + 2)?),
        kind: MessageKind::from_i64(row.get(at + 3)?),
        sender: row.get(at + 4)?,
        recipient: row.get(at + 5)?,
        client_id: row.get(at + 6)?,
        body: row.get(at + 7)?,
        created_at: Timestamp(row.get(at + 8)?),
        edited_at: row.get::<_, Option<i64>>(at + 9)?.map(Timestamp),
        deleted: row.get(at + 10)?,
        deleted_by: row.get(at + 12)?,
        reply_to: row.get::<_, Option<i64>>(at + 13)?.map(MessageId),
        system: system.as_deref(),
    }))
}

pub fn message_by_id(conn: &Connection, id: MessageId) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOINS} WHERE m.id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    stmt.query_row([id.0], |r| message_from_row(r, 0))
        .optional()
        .map_err(other)
}

/// The message `sender` stored under `client_id`, if any, as the sender sees it.
pub fn sent_message(
    conn: &Connection,
    sender: UserId,
    client_id: &str,
) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOINS} WHERE m.sender_id = ?1 AND m.client_id = ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    let mut message = stmt
        .query_row(params![sender.0, client_id], |r| message_from_row(r, 0))
        .optional()
        .map_err(other)?;
    show(conn, sender, message.as_mut())?;
    Ok(message)
}

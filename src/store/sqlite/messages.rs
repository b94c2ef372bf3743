//! Messages on SQLite as they are read back: the columns and joins that make a `Message` (the
//! sender's and recipient's usernames joined in), a message by id, and the message a sender
//! stored under a `client_id`. Storing one is `sends`; reading a conversation's pages is
//! `conversations`; the event stream joins messages with these same columns (`events`).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::other;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageStatus};
use crate::store::StoreError;

/// The columns `message_from_row` expects, for a `messages m` joined with its two users.
pub const MESSAGE_COLUMNS: &str = "m.id, m.seq, m.conversation_id, s.username, r.username, \
     m.client_id, m.body, m.created_at, m.status, m.edited_at, m.deleted";
pub const MESSAGE_JOINS: &str =
    "messages m JOIN users s ON s.id = m.sender_id JOIN users r ON r.id = m.recipient_id";

/// Builds a message from `MESSAGE_COLUMNS` starting at column `at`.
pub fn message_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Message> {
    Ok(Message {
        id: MessageId(row.get(at)?),
        seq: row.get(at + 1)?,
        conversation_id: ConversationId(row.get(at + 2)?),
        sender: row.get(at + 3)?,
        recipient: row.get(at + 4)?,
        client_id: row.get(at + 5)?,
        body: row.get(at + 6)?,
        created_at: Timestamp(row.get(at + 7)?),
        status: MessageStatus::from_i64(row.get(at + 8)?),
        edited_at: row.get::<_, Option<i64>>(at + 9)?.map(Timestamp),
        deleted: row.get(at + 10)?,
    })
}

pub fn message_by_id(conn: &Connection, id: MessageId) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOINS} WHERE m.id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    stmt.query_row([id.0], |r| message_from_row(r, 0))
        .optional()
        .map_err(other)
}

/// The message `sender` stored under `client_id`, if any.
pub fn sent_message(
    conn: &Connection,
    sender: UserId,
    client_id: &str,
) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOINS} WHERE m.sender_id = ?1 AND m.client_id = ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    stmt.query_row(params![sender.0, client_id], |r| message_from_row(r, 0))
        .optional()
        .map_err(other)
}

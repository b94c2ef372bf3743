//! Messages on PostgreSQL as they are read back: the columns and joins that make a `Message`
//! (the sender's and recipient's usernames joined in), messages by id, and the message a sender
//! stored under a `client_id` (as the sender sees it; the others as stored, before a viewer's
//! statuses: `marks::show`). Storing them is `batch::sends`; reading a conversation's pages
//! is `conversations`; the event stream joins messages with these same columns (`events`).
//! Each query takes a connection, so it serves the pool and an open transaction alike.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::failure;
use super::marks::show;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind};
use crate::store::{StoreError, records};

/// The columns `message_from_row` reads, for `messages m` joined with its users.
pub const MESSAGE_COLUMNS: &str = "m.id, m.seq, m.conversation_id, m.kind, s.username AS sender, \
     r.username AS recipient, m.client_id, m.body, m.created_at, m.edited_at, m.deleted, m.system, \
     d.username AS deleted_by, m.reply_to_id";
/// The joins that follow `messages m` (or a subquery named `m`) for `MESSAGE_COLUMNS`: the
/// sender `s`, the recipient `r` (none in a group) and who deleted it, `d`.
pub const PARTIES_JOINS: &str = "JOIN users s ON s.id = m.sender_id \
     LEFT JOIN users r ON r.id = m.recipient_id LEFT JOIN users d ON d.id = m.deleted_by";

/// A message from a `MESSAGE_COLUMNS` row, without a status: what a viewer sees of it is
/// theirs (`marks::show`).
pub fn message_from_row(row: &PgRow) -> Result<Message, sqlx::Error> {
    let system: Option<String> = row.try_get("system")?;
    Ok(records::stored_message(records::StoredMessage {
        id: MessageId(row.try_get("id")?),
        seq: row.try_get("seq")?,
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        kind: MessageKind::from_i64(i64::from(row.try_get::<i16, _>("kind")?)),
        sender: row.try_get("sender")?,
        recipient: row.try_get("recipient")?,
        client_id: row.try_get("client_id")?,
        body: row.try_get("body")?,
        created_at: Timestamp(row.try_get("created_at")?),
        edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp),
        deleted: row.try_get("deleted")?,
        deleted_by: row.try_get("deleted_by")?,
        reply_to: row.try_get::<Option<i64>, _>("reply_to_id")?.map(MessageId),
        system: system.as_deref(),
    }))
}

/// Every row of a `MESSAGE_COLUMNS` query as a message.
pub fn messages_from_rows(rows: &[PgRow]) -> Result<Vec<Message>, StoreError> {
    rows.iter()
        .map(message_from_row)
        .collect::<Result<_, _>>()
        .map_err(failure)
}

/// The messages with these ids, ascending.
pub async fn messages_by_ids(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {PARTIES_JOINS} WHERE m.id = ANY($1) ORDER BY m.id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(ids)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    messages_from_rows(&rows)
}

/// The message `sender` stored under `client_id`, if any, as the sender sees it.
pub async fn sent_message(
    conn: &mut PgConnection,
    sender: UserId,
    client_id: &str,
) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {PARTIES_JOINS} WHERE m.sender_id = $1 AND m.client_id = $2"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(sender.0)
        .bind(client_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(failure)?;
    let mut message = row
        .as_ref()
        .map(message_from_row)
        .transpose()
        .map_err(failure)?;
    show(conn, sender, message.as_mut()).await?;
    Ok(message)
}

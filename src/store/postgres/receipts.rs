//! Read-up-to on PostgreSQL, a transaction of its own: the reader's unread messages of one
//! conversation, up to an id of it, move to read (never back), and their events are recorded
//! exactly as a batch records a status change (`batch::record_moved`: the users' rows locked in
//! ascending id order, cursors counted on from their newest events). Status changes by ids go
//! through the writer's batches instead (`batch::statuses`).

use sqlx::{PgConnection, Row};

use super::batch::record_moved;
use super::conversations::require_member;
use super::failure;
use crate::domain::MessageStatus;
use crate::domain::User;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::records::status_groups;
use crate::store::{ReadUpTo, StatusOutcome, StoreError};

/// Records status events for messages already moved forward, as a batch records them: one
/// event per conversation, in the sender's and the reader's streams.
async fn record_status(
    conn: &mut PgConnection,
    reader: &User,
    changed: Vec<(MessageId, ConversationId, UserId)>,
    status: MessageStatus,
    at: Timestamp,
) -> Result<StatusOutcome, StoreError> {
    let mut updated: Vec<MessageId> = changed.iter().map(|(id, _, _)| *id).collect();
    updated.sort();
    let groups = status_groups(reader, changed, status, at);
    record_moved(conn, updated, groups, at).await
}

/// Moves the reader's messages of `conversation` up to `up_to` to read (never back); returns
/// what changed.
async fn read_forward(
    conn: &mut PgConnection,
    reader: &User,
    conversation: ConversationId,
    up_to: MessageId,
    at: Timestamp,
) -> Result<Vec<(MessageId, ConversationId, UserId)>, StoreError> {
    let rows = sqlx::query(
        "UPDATE messages SET status = $1, delivered_at = COALESCE(delivered_at, $2), \
         read_at = COALESCE(read_at, $2) \
         WHERE recipient_id = $3 AND read_at IS NULL AND conversation_id = $4 AND id <= $5 \
         RETURNING id, conversation_id, sender_id",
    )
    .bind(MessageStatus::Read.as_i64() as i16)
    .bind(at.millis())
    .bind(reader.id.0)
    .bind(conversation.0)
    .bind(up_to.0)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    rows.iter()
        .map(|r| {
            Ok((
                MessageId(r.try_get("id")?),
                ConversationId(r.try_get("conversation_id")?),
                UserId(r.try_get("sender_id")?),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

/// Marks read every unread message to the reader in the conversation up to `up_to`, an id of
/// that conversation; `NotFound` if the reader is not a member or the id is not one of its messages.
pub async fn read_up_to(
    conn: &mut PgConnection,
    req: &ReadUpTo,
) -> Result<StatusOutcome, StoreError> {
    let conversation = req.conversation;
    require_member(conn, conversation, req.reader.id).await?;
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
            .bind(req.up_to.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(failure)?;
    if owner != Some(conversation.0) {
        return Err(StoreError::NotFound);
    }
    let changed = read_forward(conn, &req.reader, conversation, req.up_to, req.at).await?;
    record_status(conn, &req.reader, changed, MessageStatus::Read, req.at).await
}

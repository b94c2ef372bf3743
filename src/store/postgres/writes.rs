//! Write transactions on PostgreSQL that run on their own (accounts, read-up-to), and the
//! pieces the batched writes share with them; safe with several nodes writing at once.
//!
//! Gap-free counters come from row locks, never from sequences: a user's cursors are taken
//! after locking their `users` row (users in ascending id order, so two transactions never
//! wait on each other in a cycle), counting on from the newest event; sends (in `batch`) lock
//! their conversations' rows the same way and count on from the newest seq. Idempotency is
//! decided by the unique index on `(sender_id, client_id)`.

use sqlx::{PgConnection, Row};

use super::{failure, reads};
use crate::domain::User;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageStatus};
use crate::store::records::status_groups;
use crate::store::{NewUser, ReadUpTo, SendRequest, Sent, StatusOutcome, StoreError};

pub async fn create_user(conn: &mut PgConnection, new: &NewUser) -> Result<User, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(new.username.as_str())
    .bind(&new.display_name)
    .bind(&new.password_hash)
    .bind(new.at.millis())
    .fetch_optional(conn)
    .await
    .map_err(failure)?;
    let id =
        id.ok_or_else(|| StoreError::Conflict(format!("username {} is taken", new.username)))?;
    Ok(User {
        id: UserId(id),
        username: new.username.as_str().to_owned(),
        display_name: new.display_name.clone(),
    })
}

/// An event row to insert.
pub(super) struct EventRow {
    pub user: UserId,
    pub cursor: Cursor,
    pub kind: i64,
    pub message: Option<MessageId>,
    pub data: Option<String>,
    pub at: Timestamp,
}

/// Inserts all event rows in one statement.
pub(super) async fn insert_events(
    conn: &mut PgConnection,
    rows: &[EventRow],
) -> Result<(), StoreError> {
    let users: Vec<i64> = rows.iter().map(|r| r.user.0).collect();
    let cursors: Vec<i64> = rows.iter().map(|r| r.cursor.0).collect();
    let kinds: Vec<i16> = rows.iter().map(|r| r.kind as i16).collect();
    let messages: Vec<Option<i64>> = rows.iter().map(|r| r.message.map(|m| m.0)).collect();
    let data: Vec<Option<&str>> = rows.iter().map(|r| r.data.as_deref()).collect();
    let at: Vec<i64> = rows.iter().map(|r| r.at.millis()).collect();
    sqlx::query(
        "INSERT INTO events (user_id, cursor, kind, message_id, data, created_at) \
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::SMALLINT[], $4::BIGINT[], $5::TEXT[], $6::BIGINT[])",
    )
    .bind(users)
    .bind(cursors)
    .bind(kinds)
    .bind(messages)
    .bind(data)
    .bind(at)
    .execute(conn)
    .await
    .map_err(failure)?;
    Ok(())
}

/// The 1:1 conversation of two users, created if needed (a concurrent creator wins cleanly).
pub(super) async fn open_direct_conversation(
    conn: &mut PgConnection,
    a: UserId,
    b: UserId,
    at: Timestamp,
) -> Result<ConversationId, StoreError> {
    if let Some(id) = reads::direct_conversation(conn, a, b).await? {
        return Ok(id);
    }
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let created: i64 = sqlx::query_scalar(
        "INSERT INTO conversations (kind, created_at) VALUES ('direct', $1) RETURNING id",
    )
    .bind(at.millis())
    .fetch_one(&mut *conn)
    .await
    .map_err(failure)?;
    let won: Option<i64> = sqlx::query_scalar(
        "INSERT INTO direct_conversations (user_low, user_high, conversation_id) VALUES ($1, $2, $3) \
         ON CONFLICT (user_low, user_high) DO NOTHING RETURNING conversation_id",
    )
    .bind(low.0)
    .bind(high.0)
    .bind(created)
    .fetch_optional(&mut *conn)
    .await
    .map_err(failure)?;
    if won.is_none() {
        // Another transaction created it first and has committed: use theirs.
        sqlx::query("DELETE FROM conversations WHERE id = $1")
            .bind(created)
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
        return reads::direct_conversation(conn, a, b)
            .await?
            .ok_or(StoreError::NotFound);
    }
    sqlx::query("INSERT INTO conversation_members (user_id, conversation_id) SELECT UNNEST($1::BIGINT[]), $2")
        .bind(vec![low.0, high.0])
        .bind(created)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    Ok(ConversationId(created))
}

/// Answers a send whose `(sender, client_id)` is already stored: the same message, or conflict.
pub(super) fn existing_answer(req: &SendRequest, message: Message) -> Result<Sent, StoreError> {
    if message.recipient != req.recipient().username || message.body != req.body.as_str() {
        return Err(StoreError::Conflict(req.client_id.as_str().to_owned()));
    }
    Ok(Sent {
        message,
        created: false,
        events: Vec::new(),
    })
}

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
    super::batch::record_moved(conn, updated, groups, at).await
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

pub async fn read_up_to(
    conn: &mut PgConnection,
    req: &ReadUpTo,
) -> Result<StatusOutcome, StoreError> {
    let conversation = req.conversation;
    reads::require_member(conn, conversation, req.reader.id).await?;
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

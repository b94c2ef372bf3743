//! Conversations on PostgreSQL: the direct conversation of two users (found, or opened by their
//! first message), the membership check every read or write of a conversation's messages
//! makes first, history pages and a chat view's re-sync (the list is `list`).
//!
//! Opening is safe with several nodes at once: the unique `(user_low, user_high)` index decides
//! which conversation of a pair survives; seqs are taken later, with the conversation's row
//! locked (`batch::sends`).

use sqlx::{AssertSqlSafe, PgConnection};

use super::failure;
use super::marks::{show, viewpoint};
use super::messages::{MESSAGE_COLUMNS, PARTIES_JOINS, messages_from_rows};
use super::ranges::visible_to;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind};
use crate::store::statements::IS_MEMBER;
use crate::store::{ConversationSync, HistoryPage, StoreError};

/// The 1:1 conversation between two users, if they have exchanged a message.
pub async fn direct_conversation(
    conn: &mut PgConnection,
    a: UserId,
    b: UserId,
) -> Result<Option<ConversationId>, StoreError> {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    sqlx::query_scalar(
        "SELECT conversation_id FROM direct_conversations WHERE user_low = $1 AND user_high = $2",
    )
    .bind(low.0)
    .bind(high.0)
    .fetch_optional(conn)
    .await
    .map(|c| c.map(ConversationId))
    .map_err(failure)
}

/// The 1:1 conversation of two users, created if needed (a concurrent creator wins cleanly).
pub(super) async fn open_direct_conversation(
    conn: &mut PgConnection,
    a: UserId,
    b: UserId,
    at: Timestamp,
) -> Result<ConversationId, StoreError> {
    if let Some(id) = direct_conversation(conn, a, b).await? {
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
        return direct_conversation(conn, a, b)
            .await?
            .ok_or(StoreError::NotFound);
    }
    sqlx::query(
        "INSERT INTO conversation_members (user_id, conversation_id, joined_at) \
         SELECT UNNEST($1::BIGINT[]), $2, $3",
    )
    .bind(vec![low.0, high.0])
    .bind(created)
    .bind(at.millis())
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    sqlx::query(
        "INSERT INTO member_ranges (conversation_id, user_id, from_id) \
         SELECT $1, UNNEST($2::BIGINT[]), 0",
    )
    .bind(created)
    .bind(vec![low.0, high.0])
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    Ok(ConversationId(created))
}

/// `NotFound` unless `member` belongs to `conversation`.
pub async fn require_member(
    conn: &mut PgConnection,
    conversation: ConversationId,
    member: UserId,
) -> Result<(), StoreError> {
    let is_member: bool = sqlx::query_scalar(IS_MEMBER)
        .bind(conversation.0)
        .bind(member.0)
        .fetch_one(conn)
        .await
        .map_err(failure)?;
    if is_member {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// Runs a query over a conversation's messages, bound as `$1` conversation, `$2` bound, `$3`
/// the member (for `visible_to("$3")`), `$4` limit.
async fn query_messages(
    conn: &mut PgConnection,
    sql: String,
    conversation: i64,
    bound: i64,
    member: UserId,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(conversation)
        .bind(bound)
        .bind(member.0)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    messages_from_rows(&rows)
}

/// Up to `limit` messages with id < `before` (or the newest), ascending.
pub async fn history(
    conn: &mut PgConnection,
    member: UserId,
    conversation: ConversationId,
    before: Option<MessageId>,
    limit: u32,
) -> Result<HistoryPage, StoreError> {
    require_member(conn, conversation, member).await?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {PARTIES_JOINS} \
         WHERE m.conversation_id = $1 AND m.id < $2 AND {} ORDER BY m.id DESC LIMIT $4",
        visible_to("$3")
    );
    let before = before.map_or(i64::MAX, |b| b.0);
    let mut messages = query_messages(
        conn,
        sql,
        conversation.0,
        before,
        member,
        i64::from(limit) + 1,
    )
    .await?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    messages.reverse();
    show(conn, member, &mut messages).await?;
    Ok(HistoryPage { messages, has_more })
}

/// How many recent statuses a conversation sync reports (the same window as SQLite).
const SYNC_STATUS_WINDOW: i64 = 500;

/// Messages after `after` (ascending) and the statuses of the latest ones up to `after`.
pub async fn conversation_sync(
    conn: &mut PgConnection,
    member: UserId,
    conversation: ConversationId,
    after: MessageId,
    limit: u32,
) -> Result<ConversationSync, StoreError> {
    require_member(conn, conversation, member).await?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {PARTIES_JOINS} \
         WHERE m.conversation_id = $1 AND m.id > $2 AND {} ORDER BY m.id ASC LIMIT $4",
        visible_to("$3")
    );
    let mut messages = query_messages(
        &mut *conn,
        sql,
        conversation.0,
        after.0,
        member,
        i64::from(limit) + 1,
    )
    .await?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    show(&mut *conn, member, &mut messages).await?;
    let sql = format!(
        "SELECT m.id, m.kind, s.username FROM messages m JOIN users s ON s.id = m.sender_id \
         WHERE m.conversation_id = $1 AND m.id <= $2 AND {} ORDER BY m.id DESC LIMIT $4",
        visible_to("$3")
    );
    let recent: Vec<(i64, i16, String)> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(conversation.0)
        .bind(after.0)
        .bind(member.0)
        .bind(SYNC_STATUS_WINDOW)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    let point = viewpoint(conn, conversation, member, |name| {
        recent.iter().any(|(_, _, sender)| sender == name)
    })
    .await?;
    let statuses = recent
        .into_iter()
        .rev()
        .filter_map(|(id, kind, sender)| {
            let id = MessageId(id);
            point
                .status(id, MessageKind::from_i64(i64::from(kind)), &sender)
                .map(|status| (id, status))
        })
        .collect();
    Ok(ConversationSync {
        messages,
        has_more,
        statuses,
    })
}

//! Read queries on PostgreSQL. Each takes a connection, so the same query serves the pool and
//! an open transaction.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::failure;
use crate::domain::event::Event;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageStatus};
use crate::store::records::{KIND_MESSAGE, StatusData};
use crate::store::statements::IS_MEMBER;
use crate::store::{
    Contact, ConversationSummary, ConversationSync, EventPage, HistoryPage, StoreError, User,
};

/// The columns `message_from_row` reads, for `messages m` joined with its two users.
pub const MESSAGE_COLUMNS: &str = "m.id, m.seq, m.conversation_id, s.username AS sender, r.username AS recipient, \
     m.client_id, m.body, m.created_at, m.status, m.edited_at, m.deleted";
/// The joins that follow `messages m` (or a subquery named `m`) for `MESSAGE_COLUMNS`: the
/// sender `s` and the recipient `r`.
pub const PARTIES_JOINS: &str =
    "JOIN users s ON s.id = m.sender_id JOIN users r ON r.id = m.recipient_id";

pub fn message_from_row(row: &PgRow) -> Result<Message, sqlx::Error> {
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        seq: row.try_get("seq")?,
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        sender: row.try_get("sender")?,
        recipient: row.try_get("recipient")?,
        client_id: row.try_get("client_id")?,
        body: row.try_get("body")?,
        created_at: Timestamp(row.try_get("created_at")?),
        status: MessageStatus::from_i64(i64::from(row.try_get::<i16, _>("status")?)),
        edited_at: row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp),
        deleted: row.try_get("deleted")?,
    })
}

/// Every row of a `MESSAGE_COLUMNS` query as a message.
fn messages_from_rows(rows: &[PgRow]) -> Result<Vec<Message>, StoreError> {
    rows.iter()
        .map(message_from_row)
        .collect::<Result<_, _>>()
        .map_err(failure)
}

pub fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
    })
}

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
        .fetch_optional(conn)
        .await
        .map_err(failure)?;
    row.as_ref()
        .map(message_from_row)
        .transpose()
        .map_err(failure)
}

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

async fn query_messages(
    conn: &mut PgConnection,
    sql: String,
    conversation: i64,
    bound: i64,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(conversation)
        .bind(bound)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    messages_from_rows(&rows)
}

pub async fn history(
    conn: &mut PgConnection,
    member: UserId,
    conversation: ConversationId,
    before: Option<MessageId>,
    limit: u32,
) -> Result<HistoryPage, StoreError> {
    require_member(conn, conversation, member).await?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {PARTIES_JOINS} WHERE m.conversation_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3"
    );
    let before = before.map_or(i64::MAX, |b| b.0);
    let mut messages =
        query_messages(conn, sql, conversation.0, before, i64::from(limit) + 1).await?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    messages.reverse();
    Ok(HistoryPage { messages, has_more })
}

/// How many recent statuses a conversation sync reports (the same window as SQLite).
const SYNC_STATUS_WINDOW: i64 = 500;

pub async fn conversation_sync(
    conn: &mut PgConnection,
    member: UserId,
    conversation: ConversationId,
    after: MessageId,
    limit: u32,
) -> Result<ConversationSync, StoreError> {
    require_member(conn, conversation, member).await?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {PARTIES_JOINS} WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id ASC LIMIT $3"
    );
    let mut messages =
        query_messages(conn, sql, conversation.0, after.0, i64::from(limit) + 1).await?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    let rows: Vec<(i64, i16)> = sqlx::query_as(
        "SELECT id, status FROM messages WHERE conversation_id = $1 AND id <= $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(conversation.0)
    .bind(after.0)
    .bind(SYNC_STATUS_WINDOW)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    let statuses = rows
        .into_iter()
        .rev()
        .map(|(id, s)| (MessageId(id), MessageStatus::from_i64(i64::from(s))))
        .collect();
    Ok(ConversationSync {
        messages,
        has_more,
        statuses,
    })
}

pub async fn conversations(
    conn: &mut PgConnection,
    user: UserId,
    limit: u32,
) -> Result<Vec<ConversationSummary>, StoreError> {
    let rows = sqlx::query(
        "SELECT (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = c.id) AS last_message_id, \
           o.id, o.username, o.display_name, \
           (SELECT COUNT(*) FROM messages m \
             WHERE m.recipient_id = $1 AND m.conversation_id = c.id AND m.read_at IS NULL) AS unread, \
           c.id AS conversation_id \
         FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id \
         JOIN direct_conversations d ON d.conversation_id = c.id \
         JOIN users o ON o.id = CASE d.user_low WHEN $1 THEN d.user_high ELSE d.user_low END \
         WHERE me.user_id = $1 ORDER BY last_message_id DESC NULLS LAST, c.id DESC LIMIT $2",
    )
    .bind(user.0)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    let last_ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| {
            r.try_get::<Option<i64>, _>("last_message_id")
                .ok()
                .flatten()
        })
        .collect();
    let last_messages = messages_by_ids(conn, &last_ids).await?;
    rows.iter()
        .map(|row| {
            let last: Option<i64> = row.try_get("last_message_id").map_err(failure)?;
            Ok(ConversationSummary {
                id: ConversationId(row.try_get("conversation_id").map_err(failure)?),
                with: user_from_row(row).map_err(failure)?,
                last_message: last
                    .and_then(|id| last_messages.iter().find(|m| m.id.0 == id).cloned()),
                unread: row.try_get("unread").map_err(failure)?,
            })
        })
        .collect()
}

pub async fn events_since(
    conn: &mut PgConnection,
    user: UserId,
    since: Cursor,
    limit: u32,
) -> Result<EventPage, StoreError> {
    let sql = format!(
        "SELECT e.cursor AS ev_cursor, e.kind AS ev_kind, e.data AS ev_data, {MESSAGE_COLUMNS} FROM events e \
         LEFT JOIN messages m ON m.id = e.message_id \
         LEFT JOIN users s ON s.id = m.sender_id LEFT JOIN users r ON r.id = m.recipient_id \
         WHERE e.user_id = $1 AND e.cursor > $2 ORDER BY e.cursor ASC LIMIT $3"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(user.0)
        .bind(since.0)
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let cursor = Cursor(row.try_get("ev_cursor").map_err(failure)?);
        let kind: i16 = row.try_get("ev_kind").map_err(failure)?;
        let event = if i64::from(kind) == KIND_MESSAGE {
            Event::Message {
                cursor,
                message: message_from_row(row).map_err(failure)?,
            }
        } else {
            let data: String = row.try_get("ev_data").map_err(failure)?;
            StatusData::decode(&data)?.event(cursor)
        };
        events.push(event);
    }
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    Ok(EventPage { events, has_more })
}

pub async fn contacts(conn: &mut PgConnection, user: UserId) -> Result<Vec<Contact>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT o.id, o.username, o.display_name, o.last_seen_at FROM conversation_members me \
         JOIN conversation_members om ON om.conversation_id = me.conversation_id AND om.user_id != me.user_id \
         JOIN users o ON o.id = om.user_id WHERE me.user_id = $1",
    )
    .bind(user.0)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    rows.iter()
        .map(|row| {
            Ok(Contact {
                user: user_from_row(row)?,
                last_seen: row
                    .try_get::<Option<i64>, _>("last_seen_at")?
                    .map(Timestamp),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

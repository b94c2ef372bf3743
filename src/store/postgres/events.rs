//! Users' event streams on PostgreSQL: inserting event rows, reading a stream after a cursor,
//! and a user's newest cursor.
//!
//! Cursors are never drawn from a sequence: whoever writes events first locks the users' rows
//! in ascending id order and counts on from each one's newest event (`batch`, which also
//! records read-up-to's events), then inserts the rows here before the transaction ends.

use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};

use super::marks::show;
use super::messages::{MESSAGE_COLUMNS, message_from_row};
use super::{failure, single};
use crate::domain::ids::{Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::records::{KIND_MESSAGE, KIND_UPDATED, event_messages, stored_event};
use crate::store::statements::LAST_CURSOR;
use crate::store::{EventPage, StoreError};

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

/// The user's events with cursor > `since`, in order; a message event carries its message.
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
         LEFT JOIN users d ON d.id = m.deleted_by \
         WHERE e.user_id = $1 AND e.cursor > $2 ORDER BY e.cursor ASC LIMIT $3"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(user.0)
        .bind(since.0)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let cursor = Cursor(row.try_get("ev_cursor").map_err(failure)?);
        let kind = i64::from(row.try_get::<i16, _>("ev_kind").map_err(failure)?);
        let data: Option<String> = row.try_get("ev_data").map_err(failure)?;
        let message = if matches!(kind, KIND_MESSAGE | KIND_UPDATED) {
            Some(message_from_row(row).map_err(failure)?)
        } else {
            None
        };
        events.push(stored_event(cursor, kind, message, data.as_deref())?);
    }
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    show(conn, user, event_messages(&mut events)).await?;
    Ok(EventPage { events, has_more })
}

/// The user's newest cursor (0 before any event).
pub async fn last_cursor(pool: &PgPool, user: UserId) -> Result<Cursor, StoreError> {
    let cursor: i64 = single(sqlx::query_scalar(LAST_CURSOR).bind(user.0).fetch_one(pool)).await?;
    Ok(Cursor(cursor))
}

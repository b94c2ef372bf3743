//! Users' event streams on SQLite: appending an event with the user's next cursor, reading a
//! stream after a cursor, and a user's newest cursor.
//!
//! The writer serialises all writes, so "read the last cursor, then write it + 1" is safe:
//! cursors come out gap-free and in commit order. No counter column holds them: the next one
//! is read from the end of the user's events, the index page the append dirties anyway, where
//! a counter row would cost a page of its own in every commit.

use rusqlite::{Connection, params};

use super::marks::show;
use super::messages::{MESSAGE_COLUMNS, message_from_row};
use super::other;
use crate::domain::ids::{Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::records::{KIND_MESSAGE, KIND_UPDATED, event_messages, stored_event};
use crate::store::statements::LAST_CURSOR;
use crate::store::{EventPage, StoreError};

/// The cursor `user`'s next event gets.
fn next_cursor(conn: &Connection, user: UserId) -> Result<Cursor, StoreError> {
    conn.prepare_cached("SELECT COALESCE(MAX(cursor), 0) + 1 FROM events WHERE user_id = ?1")
        .and_then(|mut s| s.query_row([user.0], |r| r.get(0)))
        .map(Cursor)
        .map_err(other)
}

/// Appends an event to `user`'s stream with the next cursor (on the writer thread only).
pub fn append_event(
    conn: &Connection,
    user: UserId,
    kind: i64,
    message: Option<MessageId>,
    data: Option<&str>,
    at: Timestamp,
) -> Result<Cursor, StoreError> {
    let cursor = next_cursor(conn, user)?;
    conn.prepare_cached(
        "INSERT INTO events (user_id, cursor, kind, message_id, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![user.0, cursor.0, kind, message.map(|m| m.0), data, at.millis()]))
    .map_err(other)?;
    Ok(cursor)
}

/// The user's events with cursor > `since`, in order; a message event carries its message.
pub fn events_since(
    conn: &Connection,
    user: UserId,
    since: Cursor,
    limit: u32,
) -> Result<EventPage, StoreError> {
    let sql = format!(
        "SELECT e.cursor, e.kind, e.data, {MESSAGE_COLUMNS} FROM events e \
         LEFT JOIN messages m ON m.id = e.message_id \
         LEFT JOIN users s ON s.id = m.sender_id LEFT JOIN users r ON r.id = m.recipient_id \
         LEFT JOIN users d ON d.id = m.deleted_by \
         WHERE e.user_id = ?1 AND e.cursor > ?2 ORDER BY e.cursor ASC LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    let mut rows = stmt
        .query(params![user.0, since.0, i64::from(limit) + 1])
        .map_err(other)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(other)? {
        let cursor = Cursor(row.get(0).map_err(other)?);
        let kind: i64 = row.get(1).map_err(other)?;
        let data: Option<String> = row.get(2).map_err(other)?;
        let message = if matches!(kind, KIND_MESSAGE | KIND_UPDATED) {
            Some(message_from_row(row, 3).map_err(other)?)
        } else {
            None
        };
        events.push(stored_event(cursor, kind, message, data.as_deref())?);
    }
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    show(conn, user, event_messages(&mut events))?;
    Ok(EventPage { events, has_more })
}

/// The user's newest cursor (0 before any event).
pub fn last_cursor(conn: &Connection, user: UserId) -> Result<Cursor, StoreError> {
    conn.prepare_cached(LAST_CURSOR)
        .and_then(|mut s| s.query_row([user.0], |r| r.get(0)))
        .map(Cursor)
        .map_err(other)
}

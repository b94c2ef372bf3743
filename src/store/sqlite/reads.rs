//! Read queries, run on pooled read-only connections (and by the writer where it needs them).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::other;
use crate::domain::event::Event;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageStatus};
use crate::store::records::{KIND_MESSAGE, StatusData};
use crate::store::statements::IS_MEMBER;
use crate::store::{
    Contact, ConversationSummary, ConversationSync, EventPage, HistoryPage, StoreError, User,
};

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

pub fn user_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(row.get(at)?),
        username: row.get(at + 1)?,
        display_name: row.get(at + 2)?,
    })
}

pub fn message_by_id(conn: &Connection, id: MessageId) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOINS} WHERE m.id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    stmt.query_row([id.0], |r| message_from_row(r, 0))
        .optional()
        .map_err(other)
}

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

/// The 1:1 conversation between two users, if they have exchanged a message.
pub fn direct_conversation(
    conn: &Connection,
    a: UserId,
    b: UserId,
) -> Result<Option<ConversationId>, StoreError> {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut stmt = conn
        .prepare_cached("SELECT conversation_id FROM direct_conversations WHERE user_low = ?1 AND user_high = ?2")
        .map_err(other)?;
    stmt.query_row([low.0, high.0], |r| r.get(0))
        .optional()
        .map(|c| c.map(ConversationId))
        .map_err(other)
}

/// `NotFound` unless `member` belongs to `conversation`.
pub fn require_member(
    conn: &Connection,
    conversation: ConversationId,
    member: UserId,
) -> Result<(), StoreError> {
    let is_member: bool = conn
        .prepare_cached(IS_MEMBER)
        .and_then(|mut s| s.query_row([conversation.0, member.0], |r| r.get(0)))
        .map_err(other)?;
    if is_member {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

fn query_messages(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(other)?;
    let rows = stmt
        .query_map(args, |r| message_from_row(r, 0))
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

pub fn history(
    conn: &Connection,
    member: UserId,
    conversation: ConversationId,
    before: Option<MessageId>,
    limit: u32,
) -> Result<HistoryPage, StoreError> {
    require_member(conn, conversation, member)?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOINS} \
         WHERE m.conversation_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3"
    );
    let before = before.map_or(i64::MAX, |b| b.0);
    let mut messages = query_messages(
        conn,
        &sql,
        params![conversation.0, before, i64::from(limit) + 1],
    )?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    messages.reverse();
    Ok(HistoryPage { messages, has_more })
}

/// How many recent statuses a conversation sync reports for messages the client already has.
const SYNC_STATUS_WINDOW: i64 = 500;

pub fn conversation_sync(
    conn: &Connection,
    member: UserId,
    conversation: ConversationId,
    after: MessageId,
    limit: u32,
) -> Result<ConversationSync, StoreError> {
    require_member(conn, conversation, member)?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOINS} \
         WHERE m.conversation_id = ?1 AND m.id > ?2 ORDER BY m.id ASC LIMIT ?3"
    );
    let mut messages = query_messages(
        conn,
        &sql,
        params![conversation.0, after.0, i64::from(limit) + 1],
    )?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, status FROM messages WHERE conversation_id = ?1 AND id <= ?2 \
             ORDER BY id DESC LIMIT ?3",
        )
        .map_err(other)?;
    let mut statuses = stmt
        .query_map(params![conversation.0, after.0, SYNC_STATUS_WINDOW], |r| {
            Ok((MessageId(r.get(0)?), MessageStatus::from_i64(r.get(1)?)))
        })
        .map_err(other)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    statuses.reverse();
    Ok(ConversationSync {
        messages,
        has_more,
        statuses,
    })
}

pub fn conversations(
    conn: &Connection,
    user: UserId,
    limit: u32,
) -> Result<Vec<ConversationSummary>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = c.id) AS last, \
               o.id, o.username, o.display_name, \
               (SELECT COUNT(*) FROM messages m \
                 WHERE m.recipient_id = ?1 AND m.conversation_id = c.id AND m.read_at IS NULL), \
               c.id \
             FROM conversation_members me \
             JOIN conversations c ON c.id = me.conversation_id \
             JOIN direct_conversations d ON d.conversation_id = c.id \
             JOIN users o ON o.id = CASE d.user_low WHEN ?1 THEN d.user_high ELSE d.user_low END \
             WHERE me.user_id = ?1 ORDER BY last DESC, c.id DESC LIMIT ?2",
        )
        .map_err(other)?;
    let rows = stmt
        .query_map(params![user.0, limit], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                user_from_row(r, 1)?,
                r.get::<_, i64>(4)?,
                ConversationId(r.get(5)?),
            ))
        })
        .map_err(other)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    rows.into_iter()
        .map(|(last, with, unread, id)| {
            let last_message = match last {
                Some(id) => message_by_id(conn, MessageId(id))?,
                None => None,
            };
            Ok(ConversationSummary {
                id,
                with,
                last_message,
                unread,
            })
        })
        .collect()
}

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
        let event = if kind == KIND_MESSAGE {
            Event::Message {
                cursor,
                message: message_from_row(row, 3).map_err(other)?,
            }
        } else {
            let data: String = row.get(2).map_err(other)?;
            StatusData::decode(&data)?.event(cursor)
        };
        events.push(event);
    }
    let has_more = events.len() > limit as usize;
    events.truncate(limit as usize);
    Ok(EventPage { events, has_more })
}

/// Everyone sharing a conversation with `user`, with their last-seen time.
pub fn contacts(conn: &Connection, user: UserId) -> Result<Vec<Contact>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT o.id, o.username, o.display_name, o.last_seen_at \
             FROM conversation_members me \
             JOIN conversation_members om ON om.conversation_id = me.conversation_id AND om.user_id != me.user_id \
             JOIN users o ON o.id = om.user_id WHERE me.user_id = ?1",
        )
        .map_err(other)?;
    let rows = stmt
        .query_map([user.0], |r| {
            Ok(Contact {
                user: user_from_row(r, 0)?,
                last_seen: r.get::<_, Option<i64>>(3)?.map(Timestamp),
            })
        })
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

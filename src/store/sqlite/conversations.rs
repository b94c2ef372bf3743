//! Conversations on SQLite: the direct conversation of two users (found, or opened by their
//! first message), the membership check every read or write of a conversation's messages
//! makes first, history pages and a chat view's re-sync (the list is `list`).
//!
//! A conversation keeps no counter of its own: its last seq and last message are the end of
//! its messages, read through the `(conversation_id, id, seq)` index (ids and seqs grow
//! together in a conversation).

use rusqlite::{Connection, OptionalExtension, params};

use super::marks::{show, viewpoint};
use super::messages::{MESSAGE_COLUMNS, MESSAGE_JOINS, message_from_row};
use super::other;
use super::ranges::visible_to;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind, MessageStatus};
use crate::store::statements::IS_MEMBER;
use crate::store::{ConversationSync, HistoryPage, StoreError};

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

/// The conversation between sender and recipient and its last `seq`, created on first use
/// (on the writer thread only).
pub fn open_direct_conversation(
    conn: &Connection,
    a: UserId,
    b: UserId,
    at: Timestamp,
) -> Result<(ConversationId, i64), StoreError> {
    if let Some(id) = direct_conversation(conn, a, b)? {
        return Ok((id, last_seq(conn, id)?));
    }
    conn.prepare_cached("INSERT INTO conversations (kind, created_at) VALUES ('direct', ?1)")
        .and_then(|mut s| s.execute([at.millis()]))
        .map_err(other)?;
    let id = ConversationId(conn.last_insert_rowid());
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut member = conn
        .prepare_cached(
            "INSERT INTO conversation_members (user_id, conversation_id, joined_at) VALUES (?1, ?2, ?3)",
        )
        .map_err(other)?;
    let mut range = conn
        .prepare_cached(
            "INSERT INTO member_ranges (conversation_id, user_id, from_id) VALUES (?1, ?2, 0)",
        )
        .map_err(other)?;
    for user in if low == high {
        vec![low]
    } else {
        vec![low, high]
    } {
        member.execute([user.0, id.0, at.millis()]).map_err(other)?;
        range.execute([id.0, user.0]).map_err(other)?;
    }
    conn.prepare_cached("INSERT INTO direct_conversations (user_low, user_high, conversation_id) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute([low.0, high.0, id.0]))
        .map_err(other)?;
    Ok((id, 0))
}

/// A conversation's last seq (0 before any message): its newest message's, since ids and seqs
/// grow together in a conversation.
pub fn last_seq(conn: &Connection, conversation: ConversationId) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "SELECT seq FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 1",
    )
    .and_then(|mut s| s.query_row([conversation.0], |r| r.get(0)).optional())
    .map(|seq| seq.unwrap_or(0))
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

/// Up to `limit` messages with id < `before` (or the newest), ascending.
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
         WHERE m.conversation_id = ?1 AND m.id < ?2 AND {} ORDER BY m.id DESC LIMIT ?4",
        visible_to(3)
    );
    let before = before.map_or(i64::MAX, |b| b.0);
    let mut messages = query_messages(
        conn,
        &sql,
        params![conversation.0, before, member.0, i64::from(limit) + 1],
    )?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    messages.reverse();
    show(conn, member, &mut messages)?;
    Ok(HistoryPage { messages, has_more })
}

/// How many recent statuses a conversation sync reports for messages the client already has.
const SYNC_STATUS_WINDOW: i64 = 500;

/// Messages after `after` (ascending) and the statuses of the latest ones up to `after`.
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
         WHERE m.conversation_id = ?1 AND m.id > ?2 AND {} ORDER BY m.id ASC LIMIT ?4",
        visible_to(3)
    );
    let mut messages = query_messages(
        conn,
        &sql,
        params![conversation.0, after.0, member.0, i64::from(limit) + 1],
    )?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    show(conn, member, &mut messages)?;
    let sql = format!(
        "SELECT m.id, m.kind, s.username FROM messages m JOIN users s ON s.id = m.sender_id \
         WHERE m.conversation_id = ?1 AND m.id <= ?2 AND {} ORDER BY m.id DESC LIMIT ?4",
        visible_to(3)
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    let recent = stmt
        .query_map(
            params![conversation.0, after.0, member.0, SYNC_STATUS_WINDOW],
            |r| {
                Ok((
                    MessageId(r.get(0)?),
                    MessageKind::from_i64(r.get(1)?),
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .map_err(other)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    let point = viewpoint(conn, conversation, member, |name| {
        recent.iter().any(|(_, _, sender)| sender == name)
    })?;
    let mut statuses: Vec<(MessageId, MessageStatus)> = recent
        .into_iter()
        .filter_map(|(id, kind, sender)| point.status(id, kind, &sender).map(|status| (id, status)))
        .collect();
    statuses.reverse();
    Ok(ConversationSync {
        messages,
        has_more,
        statuses,
    })
}

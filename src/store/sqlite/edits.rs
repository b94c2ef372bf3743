//! Changes to a sent message on SQLite, as one job of the writer: the message and the member
//! asking are read and judged (`store::changes`), the change is written, and every current
//! member who can see the message gets its event with their next cursor, in the same
//! transaction. The writer serialises all writes, so the judgement, the change and the
//! audience are of one moment.

use rusqlite::{Connection, OptionalExtension, params};

use super::events::append_event;
use super::marks::show;
use super::messages::message_by_id;
use super::ranges::visible_to;
use super::{other, reactions, replies, uploads};
use crate::domain::MessageKind;
use crate::domain::event::UserEvent;
use crate::domain::group::Role;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::message_rules::Verdict;
use crate::domain::receipt::{Marks, MemberMarks};
use crate::domain::time::Timestamp;
use crate::store::changes::{self, Target, Watcher};
use crate::store::records::{KIND_REACTION, KIND_UPDATED};
use crate::store::statements::{
    CLEAR_REACTIONS, DELETE_MESSAGE, DETACH_ALL, EDIT_MESSAGE, REMOVE_REACTION, SET_REACTION,
};
use crate::store::{Changed, MessageChange, MessageEdit, StoreError};

/// Applies one change (or answers that it changes nothing); runs inside the writer's open
/// transaction.
pub fn change_message(conn: &Connection, change: &MessageChange) -> Result<Changed, StoreError> {
    let actor = change.actor.id;
    let target = target(conn, change.message, actor)?.ok_or(StoreError::NotFound)?;
    if target.judge(change)? == Verdict::Unchanged {
        return Ok(Changed {
            message: seen_by(conn, change.message, actor)?,
            events: Vec::new(),
        });
    }
    let id = change.message.0;
    let written = match &change.edit {
        MessageEdit::Body(body) => conn
            .prepare_cached(EDIT_MESSAGE)
            .and_then(|mut s| s.execute(params![body.as_str(), change.at.millis(), id])),
        MessageEdit::Delete => conn
            .prepare_cached(DELETE_MESSAGE)
            .and_then(|mut s| s.execute(params![actor.0, id]))
            .and_then(|_| conn.prepare_cached(CLEAR_REACTIONS))
            .and_then(|mut s| s.execute([id]))
            .and_then(|_| conn.prepare_cached(DETACH_ALL))
            .and_then(|mut s| s.execute([id])),
        MessageEdit::React(Some(emoji)) => conn
            .prepare_cached(SET_REACTION)
            .and_then(|mut s| s.execute(params![id, actor.0, emoji.as_str(), change.at.millis()])),
        MessageEdit::React(None) => conn
            .prepare_cached(REMOVE_REACTION)
            .and_then(|mut s| s.execute(params![id, actor.0])),
    };
    written.map_err(other)?;

    let mut message = message_by_id(conn, change.message)?.ok_or(StoreError::NotFound)?;
    replies::quote(conn, None, &mut [&mut message])?;
    reactions::attach(conn, &mut [&mut message])?;
    uploads::attach(conn, &mut [&mut message])?;
    let reaction = changes::reaction_data(change, target.conversation);
    let (kind, data, linked) = match &reaction {
        Some(data) => (KIND_REACTION, Some(data.encode()?), None),
        None => (KIND_UPDATED, None, Some(change.message)),
    };
    let watchers = watchers(
        conn,
        target.conversation,
        change.message,
        message.reply_to_id,
    )?;
    let mut events = Vec::with_capacity(watchers.len());
    let mut answer = None;
    for (user, seen) in changes::views(&message, target.group, &watchers) {
        let cursor = append_event(conn, user, kind, linked, data.as_deref(), change.at)?;
        if user == actor {
            answer = Some(seen.clone());
        }
        events.push(UserEvent {
            user,
            event: changes::event(reaction.as_ref(), seen, cursor),
        });
    }
    let message = match answer {
        Some(message) => message,
        None => seen_by(conn, change.message, actor)?,
    };
    Ok(Changed { message, events })
}

/// Message `id` as `viewer` sees it now.
fn seen_by(
    conn: &Connection,
    id: MessageId,
    viewer: UserId,
) -> Result<crate::domain::Message, StoreError> {
    let mut message = message_by_id(conn, id)?.ok_or(StoreError::NotFound)?;
    show(conn, viewer, [&mut message])?;
    Ok(message)
}

/// Message `id` and `actor`'s standing in its conversation, if it lies in their visible range.
fn target(conn: &Connection, id: MessageId, actor: UserId) -> Result<Option<Target>, StoreError> {
    let sql = format!(
        "SELECT m.conversation_id, m.kind, m.sender_id = ?2, m.created_at, m.deleted, m.body, \
         c.kind = 'group', me.role, me.left_id IS NULL, \
         (SELECT emoji FROM reactions WHERE message_id = m.id AND user_id = ?2), \
         EXISTS (SELECT 1 FROM message_attachments a WHERE a.message_id = m.id) \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         JOIN conversation_members me ON me.conversation_id = m.conversation_id AND me.user_id = ?2 \
         WHERE m.id = ?1 AND {}",
        visible_to(2)
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![id.0, actor.0], |r| {
                Ok(Target {
                    conversation: ConversationId(r.get(0)?),
                    kind: MessageKind::from_i64(r.get(1)?),
                    mine: r.get(2)?,
                    created_at: Timestamp(r.get(3)?),
                    deleted: r.get(4)?,
                    body: r.get(5)?,
                    group: r.get(6)?,
                    role: Role::from_stored(&r.get::<_, String>(7)?),
                    current: r.get(8)?,
                    my_reaction: r.get(9)?,
                    has_attachments: r.get(10)?,
                })
            })
            .optional()
        })
        .map_err(other)
}

/// The current members who can see message `id`, with their marks and whether they can see
/// the message it replies to.
fn watchers(
    conn: &Connection,
    conversation: ConversationId,
    id: MessageId,
    quoted: Option<MessageId>,
) -> Result<Vec<Watcher>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT cm.user_id, u.username, cm.joined_id, cm.delivered_id, cm.read_id, \
             EXISTS (SELECT 1 FROM member_ranges q WHERE q.conversation_id = ?1 \
               AND q.user_id = cm.user_id AND q.from_id <= ?3 AND (q.to_id IS NULL OR ?3 <= q.to_id)) \
             FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
             WHERE cm.conversation_id = ?1 AND cm.left_id IS NULL \
             AND EXISTS (SELECT 1 FROM member_ranges v WHERE v.conversation_id = ?1 \
               AND v.user_id = cm.user_id AND v.from_id <= ?2 AND (v.to_id IS NULL OR ?2 <= v.to_id)) \
             ORDER BY cm.user_id",
        )
        .map_err(other)?;
    stmt.query_map(params![conversation.0, id.0, quoted.map(|q| q.0)], |r| {
        Ok(Watcher {
            user: UserId(r.get(0)?),
            name: r.get(1)?,
            marks: MemberMarks {
                joined: r.get(2)?,
                marks: Marks {
                    delivered: r.get(3)?,
                    read: r.get(4)?,
                },
            },
            sees_quote: r.get(5)?,
        })
    })
    .map_err(other)?
    .collect::<Result<_, _>>()
    .map_err(other)
}

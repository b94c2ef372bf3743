//! Receipts on SQLite: recipients moving their messages forward (delivered, read), by ids or
//! read-up-to, never back, each as one job of the writer.
//!
//! Every named message must be the reader's, or the job is `NotFound` and changes nothing.
//! What moved is recorded as one status event per conversation, in the sender's and the
//! reader's streams, with their next cursors (`events::append_event`).

use rusqlite::{Connection, OptionalExtension, params};

use super::conversations::require_member;
use super::events::append_event;
use super::other;
use crate::domain::MessageStatus;
use crate::domain::event::UserEvent;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::records::{KIND_STATUS, status_groups};
use crate::store::{ReadUpTo, StatusChange, StatusOutcome, StoreError, User};

/// A message as a status change needs it.
struct Target {
    id: MessageId,
    conversation: ConversationId,
    sender: UserId,
    recipient: UserId,
    status: MessageStatus,
}

fn target(conn: &Connection, id: MessageId) -> Result<Option<Target>, StoreError> {
    conn.prepare_cached(
        "SELECT sender_id, recipient_id, status, conversation_id FROM messages WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id.0], |r| {
            Ok(Target {
                id,
                conversation: ConversationId(r.get(3)?),
                sender: UserId(r.get(0)?),
                recipient: UserId(r.get(1)?),
                status: MessageStatus::from_i64(r.get(2)?),
            })
        })
        .optional()
    })
    .map_err(other)
}

/// Moves the given messages (all addressed to `reader`) forward and records one status event per
/// conversation, in both the sender's and the reader's streams.
fn advance(
    conn: &Connection,
    reader: &User,
    targets: Vec<Target>,
    status: MessageStatus,
    at: Timestamp,
) -> Result<StatusOutcome, StoreError> {
    // Only a move to `read` names `read_at`: an UPDATE that assigns no column of the unread
    // index's condition leaves that index alone.
    let sql = if status >= MessageStatus::Read {
        "UPDATE messages SET status = ?1, delivered_at = COALESCE(delivered_at, ?2), \
         read_at = COALESCE(read_at, ?2) WHERE id = ?3"
    } else {
        "UPDATE messages SET status = ?1, delivered_at = COALESCE(delivered_at, ?2) WHERE id = ?3"
    };
    let mut update = conn.prepare_cached(sql).map_err(other)?;
    let mut changed = Vec::new();
    for t in targets.into_iter().filter(|t| t.status < status) {
        update
            .execute(params![status.as_i64(), at.millis(), t.id.0])
            .map_err(other)?;
        changed.push((t.id, t.conversation, t.sender));
    }
    let mut outcome = StatusOutcome::default();
    for group in status_groups(reader, changed, status, at) {
        let data = group.data.encode()?;
        for user in group.users {
            let cursor = append_event(conn, user, KIND_STATUS, None, Some(&data), at)?;
            outcome.events.push(UserEvent {
                user,
                event: group.data.event(cursor),
            });
        }
        outcome.updated.extend(group.data.message_ids);
    }
    outcome.updated.sort();
    Ok(outcome)
}

/// Moves the reader's messages forward; `NotFound` if any id is not a message to the reader.
pub fn set_status(conn: &Connection, change: &StatusChange) -> Result<StatusOutcome, StoreError> {
    let mut ids = change.message_ids.clone();
    ids.sort();
    ids.dedup();
    let mut targets = Vec::with_capacity(ids.len());
    for id in ids {
        match target(conn, id)? {
            Some(t) if t.recipient == change.reader.id => targets.push(t),
            _ => return Err(StoreError::NotFound),
        }
    }
    advance(conn, &change.reader, targets, change.status, change.at)
}

/// Marks read every unread message to the reader in the conversation up to `up_to`, an id of
/// that conversation.
pub fn read_up_to(conn: &Connection, req: &ReadUpTo) -> Result<StatusOutcome, StoreError> {
    let conversation = req.conversation;
    require_member(conn, conversation, req.reader.id)?;
    let in_conversation: Option<i64> = conn
        .prepare_cached("SELECT conversation_id FROM messages WHERE id = ?1")
        .and_then(|mut s| s.query_row([req.up_to.0], |r| r.get(0)).optional())
        .map_err(other)?;
    if in_conversation != Some(conversation.0) {
        return Err(StoreError::NotFound);
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, sender_id, status FROM messages \
             WHERE recipient_id = ?1 AND conversation_id = ?2 AND read_at IS NULL AND id <= ?3",
        )
        .map_err(other)?;
    let targets = stmt
        .query_map(params![req.reader.id.0, conversation.0, req.up_to.0], |r| {
            Ok(Target {
                id: MessageId(r.get(0)?),
                conversation,
                sender: UserId(r.get(1)?),
                recipient: req.reader.id,
                status: MessageStatus::from_i64(r.get(2)?),
            })
        })
        .map_err(other)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    advance(conn, &req.reader, targets, MessageStatus::Read, req.at)
}

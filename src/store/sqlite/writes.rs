//! Write transactions' bodies. Each runs on the writer thread inside its own savepoint, so a
//! function here may fail at any step and leave nothing behind.
//!
//! The writer serialises all writes, so "read the last value, then write it + 1" is safe:
//! message `seq` and user cursors come out gap-free and in commit order. Neither is kept in a
//! counter column: each is read from the end of the index the write then appends to (a user's
//! events, a conversation's messages), a page the write dirties anyway, where a counter row
//! would cost a page of its own in every commit.

use rusqlite::{Connection, OptionalExtension, params};

use super::other;
use super::reads;
use crate::domain::MessageStatus;
use crate::domain::event::{Event, UserEvent};
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::records::{KIND_MESSAGE, KIND_STATUS, new_message, status_groups};
use crate::store::{
    NewUser, ReadUpTo, SendRequest, Sent, StatusChange, StatusOutcome, StoreError, User,
};

pub fn create_user(conn: &Connection, new: &NewUser) -> Result<User, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (username) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![new.username.as_str(), new.display_name, new.password_hash, new.at.millis()]))
        .map_err(other)?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "username {} is taken",
            new.username
        )));
    }
    Ok(User {
        id: UserId(conn.last_insert_rowid()),
        username: new.username.as_str().to_owned(),
        display_name: new.display_name.clone(),
    })
}

/// The cursor `user`'s next event gets.
fn next_cursor(conn: &Connection, user: UserId) -> Result<Cursor, StoreError> {
    conn.prepare_cached("SELECT COALESCE(MAX(cursor), 0) + 1 FROM events WHERE user_id = ?1")
        .and_then(|mut s| s.query_row([user.0], |r| r.get(0)))
        .map(Cursor)
        .map_err(other)
}

/// Appends an event to `user`'s stream with the next cursor.
fn append_event(
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

/// The conversation between sender and recipient and its last `seq`, created on first use.
fn open_direct_conversation(
    conn: &Connection,
    a: UserId,
    b: UserId,
    at: Timestamp,
) -> Result<(ConversationId, i64), StoreError> {
    if let Some(id) = reads::direct_conversation(conn, a, b)? {
        // Ids and seqs grow together in a conversation: its newest message has the last seq.
        let last_seq = conn
            .prepare_cached(
                "SELECT seq FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut s| s.query_row([id.0], |r| r.get(0)).optional())
            .map_err(other)?;
        return Ok((id, last_seq.unwrap_or(0)));
    }
    conn.prepare_cached("INSERT INTO conversations (kind, created_at) VALUES ('direct', ?1)")
        .and_then(|mut s| s.execute([at.millis()]))
        .map_err(other)?;
    let id = ConversationId(conn.last_insert_rowid());
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut member = conn
        .prepare_cached(
            "INSERT INTO conversation_members (user_id, conversation_id) VALUES (?1, ?2)",
        )
        .map_err(other)?;
    for user in if low == high {
        vec![low]
    } else {
        vec![low, high]
    } {
        member.execute([user.0, id.0]).map_err(other)?;
    }
    conn.prepare_cached("INSERT INTO direct_conversations (user_low, user_high, conversation_id) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute([low.0, high.0, id.0]))
        .map_err(other)?;
    Ok((id, 0))
}

pub fn send_message(conn: &Connection, req: &SendRequest) -> Result<Sent, StoreError> {
    let existing: Option<(i64, i64, String)> = conn
        .prepare_cached(
            "SELECT id, recipient_id, body FROM messages WHERE sender_id = ?1 AND client_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![req.sender.id.0, req.client_id.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(other)?;
    if let Some((id, recipient, body)) = existing {
        if recipient != req.recipient().id.0 || body != req.body.as_str() {
            return Err(StoreError::Conflict(req.client_id.as_str().to_owned()));
        }
        let message = reads::message_by_id(conn, MessageId(id))?.ok_or(StoreError::NotFound)?;
        return Ok(Sent {
            message,
            created: false,
            events: Vec::new(),
        });
    }

    let (conversation, last_seq) =
        open_direct_conversation(conn, req.sender.id, req.recipient().id, req.at)?;
    let seq = last_seq + 1;
    conn.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, sender_id, recipient_id, client_id, body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            conversation.0,
            seq,
            req.sender.id.0,
            req.recipient().id.0,
            req.client_id.as_str(),
            req.body.as_str(),
            req.at.millis()
        ])
    })
    .map_err(other)?;
    let id = MessageId(conn.last_insert_rowid());

    let message = new_message(req, id, seq, conversation);
    let mut concerned = vec![req.sender.id];
    if req.recipient().id != req.sender.id {
        concerned.push(req.recipient().id);
    }
    let mut events = Vec::with_capacity(concerned.len());
    for user in concerned {
        let cursor = append_event(conn, user, KIND_MESSAGE, Some(id), None, req.at)?;
        events.push(UserEvent {
            user,
            event: Event::Message {
                cursor,
                message: message.clone(),
            },
        });
    }
    Ok(Sent {
        message,
        created: true,
        events,
    })
}

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

pub fn read_up_to(conn: &Connection, req: &ReadUpTo) -> Result<StatusOutcome, StoreError> {
    let conversation = req.conversation;
    reads::require_member(conn, conversation, req.reader.id)?;
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

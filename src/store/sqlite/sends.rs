//! Storing a message on SQLite, as one job of the writer: idempotency on `(sender, client_id)`,
//! the direct conversation (opened by the first message), the next seq, and an event for each
//! party with their next cursor.
//!
//! The writer serialises all writes, so "read the last seq, then write it + 1" is safe: seqs
//! come out gap-free and in commit order, read from the end of the conversation's messages
//! (`conversations::open_direct_conversation`). A retry of a stored send is answered with the
//! stored message and writes nothing; the same `client_id` with another body or recipient is
//! `Conflict`.

use rusqlite::{Connection, OptionalExtension, params};

use super::conversations::open_direct_conversation;
use super::events::append_event;
use super::marks::show;
use super::messages::message_by_id;
use super::other;
use crate::domain::event::{Event, UserEvent};
use crate::domain::ids::MessageId;
use crate::store::records::{KIND_MESSAGE, new_message};
use crate::store::{SendRequest, Sent, StoreError};

/// Stores one message (or answers its retry); runs inside the writer's open transaction.
pub fn send_message(conn: &Connection, req: &SendRequest) -> Result<Sent, StoreError> {
    let existing: Option<(i64, Option<i64>, String)> = conn
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
        if recipient != Some(req.recipient().id.0) || body != req.body.as_str() {
            return Err(StoreError::Conflict(req.client_id.as_str().to_owned()));
        }
        let mut message = message_by_id(conn, MessageId(id))?.ok_or(StoreError::NotFound)?;
        show(conn, req.sender.id, [&mut message])?;
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

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

use super::conversations::{last_seq, open_direct_conversation};
use super::events::append_event;
use super::groups::{current_members, group_row, standing};
use super::marks::show;
use super::messages::message_by_id;
use super::other;
use super::replies::{blind_to, reply_target};
use super::safety;
use super::uploads::{self, attach_all, carried};
use crate::domain::event::{Event, UserEvent};
use crate::domain::group_rules;
use crate::domain::ids::MessageId;
use crate::store::records::{KIND_MESSAGE, Stored, for_sender, new_message};
use crate::store::{Destination, SendRequest, Sent, StoreError};

/// Stores one message (or answers its retry); runs inside the writer's open transaction.
pub fn send_message(conn: &Connection, req: &SendRequest) -> Result<Sent, StoreError> {
    let existing: Option<(i64, i64, Option<i64>, Stored)> = conn
        .prepare_cached(
            "SELECT id, conversation_id, recipient_id, body, reply_to_id, deleted FROM messages \
             WHERE sender_id = ?1 AND client_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![req.sender.id.0, req.client_id.as_str()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    Stored {
                        body: r.get(3)?,
                        reply_to: r.get::<_, Option<i64>>(4)?.map(MessageId),
                        attachments: Vec::new(),
                        deleted: r.get(5)?,
                    },
                ))
            })
            .optional()
        })
        .map_err(other)?;
    if let Some((id, conversation, recipient, mut stored)) = existing {
        stored.attachments = carried(conn, MessageId(id))?
            .into_iter()
            .map(|u| u.as_str().to_owned())
            .collect();
        let same_place = match &req.to {
            Destination::Direct(to) => recipient == Some(to.id.0),
            Destination::Group(group) => conversation == group.0,
        };
        if !same_place || !stored.same_as(req) {
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

    let mut plan = None;
    let (conversation, last_seq, audience) = match &req.to {
        Destination::Direct(to) => {
            let (conversation, last_seq) =
                open_direct_conversation(conn, req.sender.id, to.id, req.at)?;
            plan = Some(safety::judge_direct(
                conn,
                req.sender.id,
                to.id,
                conversation,
                last_seq,
                req.requests,
            )?);
            let mut audience = vec![req.sender.id];
            if to.id != req.sender.id {
                audience.push(to.id);
            }
            (conversation, last_seq, audience)
        }
        Destination::Group(group) => {
            let row = group_row(conn, *group)?.ok_or(StoreError::NotFound)?;
            let sender = standing(conn, *group, req.sender.id)?;
            sender.require_current()?;
            group_rules::may_send(sender.role, &row.settings)?;
            // Sending in a group that is a request for the sender accepts it.
            safety::accept_group(conn, *group, req.sender.id)?;
            (
                *group,
                last_seq(conn, *group)?,
                current_members(conn, *group)?,
            )
        }
    };
    // Checked once the sender may send here (a failed job's writes are undone with it).
    let quote = match req.reply_to {
        Some(reply_to) => Some(reply_target(conn, reply_to, conversation, req.sender.id)?),
        None => None,
    };
    let seq = last_seq + 1;
    conn.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, sender_id, recipient_id, client_id, body, created_at, \
         reply_to_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            conversation.0,
            seq,
            req.sender.id.0,
            req.recipient().map(|u| u.id.0),
            req.client_id.as_str(),
            req.body.as_str(),
            req.at.millis(),
            req.reply_to.map(|r| r.0)
        ])
    })
    .map_err(other)?;
    let id = MessageId(conn.last_insert_rowid());
    if let (Some(plan), Some(to)) = (plan, req.recipient()) {
        safety::apply_direct(conn, plan, conversation, req.sender.id, to.id)?;
    }
    attach_all(conn, id, req.sender.id, &req.attachments, req.at)?;

    let blind = match (&req.to, req.reply_to) {
        (Destination::Group(group), Some(quoted)) => blind_to(conn, *group, quoted)?,
        _ => Vec::new(),
    };
    let mut message = new_message(req, id, seq, conversation, quote);
    if !req.attachments.is_empty() {
        uploads::attach(conn, &mut [&mut message])?;
    }
    let own = for_sender(&message, &req.to, audience.len());
    let mut events = Vec::with_capacity(audience.len());
    for user in audience {
        let cursor = append_event(conn, user, KIND_MESSAGE, Some(id), None, req.at)?;
        let mut message = if user == req.sender.id {
            own.clone()
        } else {
            message.clone()
        };
        if blind.contains(&user) {
            message.reply_to = None;
        }
        events.push(UserEvent {
            user,
            event: Event::Message { cursor, message },
        });
    }
    Ok(Sent {
        message: own,
        created: true,
        events,
    })
}

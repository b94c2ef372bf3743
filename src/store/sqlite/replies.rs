//! Replies on SQLite: the quote each message of a page shows of the message it replies to (as
//! that message is now, and only if the viewer can see it), and the check a send with
//! `reply_to` makes before it stores anything.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::other;
use super::ranges::visible_to;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::message::Quote;
use crate::domain::{Message, MessageKind};
use crate::store::StoreError;
use crate::store::carried::{quoted_ids, set_quotes};
use crate::store::records::invalid_reply_to;

/// Fills in `reply_to` on the messages that reply to another: as `viewer` sees it (nothing if
/// the quoted message lies outside their visible range), or as it is when `viewer` is `None`.
pub fn quote(
    conn: &Connection,
    viewer: Option<UserId>,
    messages: &mut [&mut Message],
) -> Result<(), StoreError> {
    let ids = quoted_ids(messages);
    if ids.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(&ids).map_err(|e| StoreError::Other(e.to_string()))?;
    let seen = match viewer {
        Some(_) => visible_to(2),
        None => "?2 IS NULL".to_owned(),
    };
    let sql = format!(
        "SELECT m.id, s.username, m.body, m.deleted FROM messages m JOIN users s ON s.id = m.sender_id \
         WHERE m.id IN (SELECT value FROM json_each(?1)) AND {seen}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    let quotes: HashMap<MessageId, Quote> = stmt
        .query_map(params![list, viewer.map(|v| v.0)], |r| {
            let id = MessageId(r.get(0)?);
            let body: String = r.get(2)?;
            Ok((id, Quote::of(id, r.get(1)?, &body, r.get(3)?)))
        })
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)?;
    set_quotes(messages, &quotes);
    Ok(())
}

/// The quote of `reply_to` for a send by `sender` into `conversation`: a text message of that
/// conversation, in the sender's visible range, not deleted; else `invalid_reply_to`.
pub fn reply_target(
    conn: &Connection,
    reply_to: MessageId,
    conversation: ConversationId,
    sender: UserId,
) -> Result<Quote, StoreError> {
    let sql = format!(
        "SELECT m.conversation_id, m.kind, m.deleted, s.username, m.body FROM messages m \
         JOIN users s ON s.id = m.sender_id WHERE m.id = ?1 AND {}",
        visible_to(2)
    );
    let found: Option<(i64, i64, bool, String, String)> = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![reply_to.0, sender.0], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(other)?;
    match found {
        Some((in_conversation, kind, false, sender, body))
            if ConversationId(in_conversation) == conversation
                && MessageKind::from_i64(kind) == MessageKind::Text =>
        {
            Ok(Quote::of(reply_to, sender, &body, false))
        }
        _ => Err(invalid_reply_to(reply_to)),
    }
}

/// The current members of `conversation` who cannot see message `quoted` (they joined after
/// it, with the history hidden), so whose copy of a reply to it carries no quote.
pub fn blind_to(
    conn: &Connection,
    conversation: ConversationId,
    quoted: MessageId,
) -> Result<Vec<UserId>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT cm.user_id FROM conversation_members cm WHERE cm.conversation_id = ?1 \
             AND cm.left_id IS NULL AND NOT EXISTS (SELECT 1 FROM member_ranges v \
             WHERE v.conversation_id = ?1 AND v.user_id = cm.user_id AND v.from_id <= ?2 \
             AND (v.to_id IS NULL OR ?2 <= v.to_id))",
        )
        .map_err(other)?;
    stmt.query_map(params![conversation.0, quoted.0], |r| r.get(0).map(UserId))
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)
}

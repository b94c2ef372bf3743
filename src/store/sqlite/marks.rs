//! Members' receipt marks on SQLite, and what a viewer sees through them: the viewpoint of a
//! member in a conversation (`store::viewpoint`) and the statuses it gives the messages a read
//! returns, with the quote and reactions each message carries.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use rusqlite::{Connection, OptionalExtension, params};

use super::{other, reactions, replies, uploads};
use crate::domain::Message;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::receipt::{Marks, MemberMarks};
use crate::store::StoreError;
use crate::store::viewpoint::Viewpoint;

/// A member's standing: their username, whether the conversation is a group, and their marks;
/// `None` for someone who was never a member.
pub fn standing(
    conn: &Connection,
    conversation: ConversationId,
    user: UserId,
) -> Result<Option<(String, bool, Marks)>, StoreError> {
    conn.prepare_cached(
        "SELECT u.username, c.kind = 'group', me.delivered_id, me.read_id \
         FROM conversation_members me JOIN users u ON u.id = me.user_id \
         JOIN conversations c ON c.id = me.conversation_id \
         WHERE me.conversation_id = ?1 AND me.user_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![conversation.0, user.0], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                Marks {
                    delivered: r.get(2)?,
                    read: r.get(3)?,
                },
            ))
        })
        .optional()
    })
    .map_err(other)
}

/// The current members of `conversation` other than `user`, with their marks.
pub fn others(
    conn: &Connection,
    conversation: ConversationId,
    user: UserId,
) -> Result<Vec<(UserId, MemberMarks)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT user_id, joined_id, delivered_id, CASE WHEN request IN (1, 2) THEN 0 ELSE read_id END FROM conversation_members \
             WHERE conversation_id = ?1 AND user_id != ?2 AND left_id IS NULL",
        )
        .map_err(other)?;
    stmt.query_map(params![conversation.0, user.0], |r| {
        Ok((
            UserId(r.get(0)?),
            MemberMarks {
                joined: r.get(1)?,
                marks: Marks {
                    delivered: r.get(2)?,
                    read: r.get(3)?,
                },
            },
        ))
    })
    .map_err(other)?
    .collect::<Result<_, _>>()
    .map_err(other)
}

/// `viewer`'s viewpoint in `conversation`, with the other members' marks when `own` (the
/// viewer sent some of the messages to be shown).
pub fn viewpoint(
    conn: &Connection,
    conversation: ConversationId,
    viewer: UserId,
    own: impl Fn(&str) -> bool,
) -> Result<Viewpoint, StoreError> {
    let (name, group, me) = standing(conn, conversation, viewer)?.ok_or(StoreError::NotFound)?;
    let others = if own(&name) {
        others(conn, conversation, viewer)?
            .into_iter()
            .map(|(_, marks)| marks)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Viewpoint {
        viewer: name,
        group,
        me,
        others,
    })
}

/// Fills in every message as `viewer` sees it: its status (one viewpoint per conversation),
/// the quote of the message it replies to, its reactions and its attachments.
pub fn show<'a>(
    conn: &Connection,
    viewer: UserId,
    messages: impl IntoIterator<Item = &'a mut Message>,
) -> Result<(), StoreError> {
    let mut messages: Vec<&mut Message> = messages.into_iter().collect();
    let mut points: BTreeMap<ConversationId, Viewpoint> = BTreeMap::new();
    for i in 0..messages.len() {
        let conversation = messages[i].conversation_id;
        if let Entry::Vacant(slot) = points.entry(conversation) {
            slot.insert(viewpoint(conn, conversation, viewer, |name| {
                messages
                    .iter()
                    .any(|m| m.conversation_id == conversation && m.sender == name)
            })?);
        }
        if let Some(point) = points.get(&conversation) {
            point.show(messages[i]);
        }
    }
    replies::quote(conn, Some(viewer), &mut messages)?;
    reactions::attach(conn, &mut messages)?;
    uploads::attach(conn, &mut messages)
}

//! Members' receipt marks on PostgreSQL, and what a viewer sees through them: the viewpoint of
//! a member in a conversation (`store::viewpoint`) and the statuses it gives the messages a
//! read returns, with the quote and reactions each message carries.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use sqlx::{PgConnection, Row};

use super::{failure, reactions, replies, uploads};
use crate::domain::Message;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::receipt::{Marks, MemberMarks};
use crate::store::StoreError;
use crate::store::viewpoint::Viewpoint;

/// A member's standing: their username, whether the conversation is a group, and their marks;
/// `None` for someone who was never a member.
pub async fn standing(
    conn: &mut PgConnection,
    conversation: ConversationId,
    user: UserId,
) -> Result<Option<(String, bool, Marks)>, StoreError> {
    let row = sqlx::query(
        "SELECT u.username, c.kind = 'group' AS grp, me.delivered_id, me.read_id \
         FROM conversation_members me JOIN users u ON u.id = me.user_id \
         JOIN conversations c ON c.id = me.conversation_id \
         WHERE me.conversation_id = $1 AND me.user_id = $2",
    )
    .bind(conversation.0)
    .bind(user.0)
    .fetch_optional(conn)
    .await
    .map_err(failure)?;
    row.map(|r| {
        Ok((
            r.try_get("username")?,
            r.try_get("grp")?,
            Marks {
                delivered: r.try_get("delivered_id")?,
                read: r.try_get("read_id")?,
            },
        ))
    })
    .transpose()
    .map_err(failure)
}

/// The current members of the conversations other than `user`, with their marks, by
/// conversation.
pub async fn others(
    conn: &mut PgConnection,
    conversations: &[i64],
    user: UserId,
) -> Result<BTreeMap<ConversationId, Vec<(UserId, MemberMarks)>>, StoreError> {
    let rows = sqlx::query(
        "SELECT conversation_id, user_id, joined_id, delivered_id, \
           CASE WHEN request IN (1, 2) THEN 0 ELSE read_id END AS read_id \
         FROM conversation_members \
         WHERE conversation_id = ANY($1) AND user_id != $2 AND left_id IS NULL",
    )
    .bind(conversations)
    .bind(user.0)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    let mut by_conversation: BTreeMap<ConversationId, Vec<(UserId, MemberMarks)>> = BTreeMap::new();
    for row in rows {
        let get = |name: &str| row.try_get::<i64, _>(name).map_err(failure);
        by_conversation
            .entry(ConversationId(get("conversation_id")?))
            .or_default()
            .push((
                UserId(get("user_id")?),
                MemberMarks {
                    joined: get("joined_id")?,
                    marks: Marks {
                        delivered: get("delivered_id")?,
                        read: get("read_id")?,
                    },
                },
            ));
    }
    Ok(by_conversation)
}

/// `viewer`'s viewpoint in `conversation`, with the other members' marks when `own` (the
/// viewer sent some of the messages to be shown).
pub async fn viewpoint(
    conn: &mut PgConnection,
    conversation: ConversationId,
    viewer: UserId,
    own: impl Fn(&str) -> bool,
) -> Result<Viewpoint, StoreError> {
    let (name, group, me) = standing(conn, conversation, viewer)
        .await?
        .ok_or(StoreError::NotFound)?;
    let others = if own(&name) {
        others(conn, &[conversation.0], viewer)
            .await?
            .remove(&conversation)
            .unwrap_or_default()
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
pub async fn show<'a>(
    conn: &mut PgConnection,
    viewer: UserId,
    messages: impl IntoIterator<Item = &'a mut Message>,
) -> Result<(), StoreError> {
    let mut messages: Vec<&mut Message> = messages.into_iter().collect();
    let mut points: BTreeMap<ConversationId, Viewpoint> = BTreeMap::new();
    for i in 0..messages.len() {
        let conversation = messages[i].conversation_id;
        if let Entry::Vacant(slot) = points.entry(conversation) {
            let senders: Vec<String> = messages
                .iter()
                .filter(|m| m.conversation_id == conversation)
                .map(|m| m.sender.clone())
                .collect();
            let point = viewpoint(&mut *conn, conversation, viewer, |name| {
                senders.iter().any(|s| s == name)
            })
            .await?;
            slot.insert(point);
        }
        if let Some(point) = points.get(&conversation) {
            point.show(messages[i]);
        }
    }
    replies::quote(&mut *conn, Some(viewer), &mut messages).await?;
    reactions::attach(&mut *conn, &mut messages).await?;
    uploads::attach(conn, &mut messages).await
}

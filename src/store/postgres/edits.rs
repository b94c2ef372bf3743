//! Changes to a sent message on PostgreSQL, each in a transaction of its own that locks the
//! message's conversation first, as sends and group changes lock it: the message and the member
//! asking are read under that lock and judged (`store::changes`), the change is written, and
//! every current member who can see the message gets its event, recorded as a batch records
//! events. Two changes to one message, or a change and a membership change in its group, are
//! therefore applied in one order, and reactions are ranked in the order they commit.

use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::batch::record_change_events;
use super::failure;
use super::marks::show;
use super::messages::messages_by_ids;
use super::ranges::visible_to;
use super::{reactions, replies, uploads};
use crate::domain::group::Role;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::message_rules::Verdict;
use crate::domain::receipt::{Marks, MemberMarks};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind};
use crate::store::changes::{self, Target, Watcher};
use crate::store::statements::{
    CLEAR_REACTIONS, DELETE_MESSAGE, DETACH_ALL, EDIT_MESSAGE, REMOVE_REACTION, SET_REACTION,
};
use crate::store::{Changed, MessageChange, MessageEdit, StoreError};

/// Applies one change (or answers that it changes nothing), in the caller's transaction.
pub async fn change_message(
    conn: &mut PgConnection,
    change: &MessageChange,
) -> Result<Changed, StoreError> {
    let actor = change.actor.id;
    let id = change.message.0;
    let conversation: Option<i64> =
        sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(failure)?;
    let conversation = ConversationId(conversation.ok_or(StoreError::NotFound)?);
    sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE")
        .bind(conversation.0)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    let target = target(conn, change.message, actor)
        .await?
        .ok_or(StoreError::NotFound)?;
    if target.judge(change)? == Verdict::Unchanged {
        return Ok(Changed {
            message: seen_by(conn, change.message, actor).await?,
            events: Vec::new(),
        });
    }
    let written = match &change.edit {
        MessageEdit::Body(body) => {
            sqlx::query(EDIT_MESSAGE)
                .bind(body.as_str())
                .bind(change.at.millis())
                .bind(id)
                .execute(&mut *conn)
                .await
        }
        MessageEdit::Delete => {
            let erased = sqlx::query(DELETE_MESSAGE)
                .bind(actor.0)
                .bind(id)
                .execute(&mut *conn)
                .await;
            let cleared = match erased {
                Ok(_) => {
                    sqlx::query(CLEAR_REACTIONS)
                        .bind(id)
                        .execute(&mut *conn)
                        .await
                }
                Err(err) => Err(err),
            };
            match cleared {
                Ok(_) => sqlx::query(DETACH_ALL).bind(id).execute(&mut *conn).await,
                Err(err) => Err(err),
            }
        }
        MessageEdit::React(Some(emoji)) => {
            sqlx::query(SET_REACTION)
                .bind(id)
                .bind(actor.0)
                .bind(emoji.as_str())
                .bind(change.at.millis())
                .execute(&mut *conn)
                .await
        }
        MessageEdit::React(None) => {
            sqlx::query(REMOVE_REACTION)
                .bind(id)
                .bind(actor.0)
                .execute(&mut *conn)
                .await
        }
    };
    written.map_err(failure)?;

    let mut message = only(messages_by_ids(&mut *conn, &[id]).await?)?;
    replies::quote(&mut *conn, None, &mut [&mut message]).await?;
    reactions::attach(&mut *conn, &mut [&mut message]).await?;
    uploads::attach(&mut *conn, &mut [&mut message]).await?;
    let watchers = watchers(conn, conversation, change.message, message.reply_to_id).await?;
    let views = changes::views(&message, target.group, &watchers);
    let answer = views
        .iter()
        .find(|(user, _)| *user == actor)
        .map(|(_, seen)| seen.clone());
    let reaction = changes::reaction_data(change, conversation);
    let events =
        record_change_events(conn, change.message, views, reaction.as_ref(), change.at).await?;
    let message = match answer {
        Some(message) => message,
        None => seen_by(conn, change.message, actor).await?,
    };
    Ok(Changed { message, events })
}

fn only(mut messages: Vec<Message>) -> Result<Message, StoreError> {
    messages.pop().ok_or(StoreError::NotFound)
}

/// Message `id` as `viewer` sees it now.
async fn seen_by(
    conn: &mut PgConnection,
    id: MessageId,
    viewer: UserId,
) -> Result<Message, StoreError> {
    let mut message = only(messages_by_ids(&mut *conn, &[id.0]).await?)?;
    show(conn, viewer, [&mut message]).await?;
    Ok(message)
}

/// Message `id` and `actor`'s standing in its conversation, if it lies in their visible range.
async fn target(
    conn: &mut PgConnection,
    id: MessageId,
    actor: UserId,
) -> Result<Option<Target>, StoreError> {
    let sql = format!(
        "SELECT m.conversation_id, m.kind, m.sender_id = $2 AS mine, m.created_at, m.deleted, m.body, \
         c.kind = 'group' AS grp, me.role, me.left_id IS NULL AS current, \
         (SELECT emoji FROM reactions WHERE message_id = m.id AND user_id = $2) AS my_reaction, \
         EXISTS (SELECT 1 FROM message_attachments a WHERE a.message_id = m.id) AS has_attachments \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         JOIN conversation_members me ON me.conversation_id = m.conversation_id AND me.user_id = $2 \
         WHERE m.id = $1 AND {}",
        visible_to("$2")
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.0)
        .bind(actor.0)
        .fetch_optional(conn)
        .await
        .map_err(failure)?;
    row.map(|r| {
        Ok(Target {
            conversation: ConversationId(r.try_get("conversation_id")?),
            kind: MessageKind::from_i64(i64::from(r.try_get::<i16, _>("kind")?)),
            mine: r.try_get("mine")?,
            created_at: Timestamp(r.try_get("created_at")?),
            deleted: r.try_get("deleted")?,
            body: r.try_get("body")?,
            group: r.try_get("grp")?,
            role: Role::from_stored(&r.try_get::<String, _>("role")?),
            current: r.try_get("current")?,
            my_reaction: r.try_get("my_reaction")?,
            has_attachments: r.try_get("has_attachments")?,
        })
    })
    .transpose()
    .map_err(failure)
}

/// The current members who can see message `id`, with their marks and whether they can see
/// the message it replies to.
async fn watchers(
    conn: &mut PgConnection,
    conversation: ConversationId,
    id: MessageId,
    quoted: Option<MessageId>,
) -> Result<Vec<Watcher>, StoreError> {
    let rows = sqlx::query(
        "SELECT cm.user_id, u.username, cm.joined_id, cm.delivered_id, cm.read_id, \
         EXISTS (SELECT 1 FROM member_ranges q WHERE q.conversation_id = $1 \
           AND q.user_id = cm.user_id AND q.from_id <= $3 AND (q.to_id IS NULL OR $3 <= q.to_id)) \
           AS sees_quote \
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
         WHERE cm.conversation_id = $1 AND cm.left_id IS NULL \
         AND EXISTS (SELECT 1 FROM member_ranges v WHERE v.conversation_id = $1 \
           AND v.user_id = cm.user_id AND v.from_id <= $2 AND (v.to_id IS NULL OR $2 <= v.to_id)) \
         ORDER BY cm.user_id",
    )
    .bind(conversation.0)
    .bind(id.0)
    .bind(quoted.map(|q| q.0))
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    rows.iter()
        .map(|r| {
            Ok(Watcher {
                user: UserId(r.try_get("user_id")?),
                name: r.try_get("username")?,
                marks: MemberMarks {
                    joined: r.try_get("joined_id")?,
                    marks: Marks {
                        delivered: r.try_get("delivered_id")?,
                        read: r.try_get("read_id")?,
                    },
                },
                sees_quote: r.try_get::<Option<bool>, _>("sees_quote")?.unwrap_or(false),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

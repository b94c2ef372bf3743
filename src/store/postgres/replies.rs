//! Replies on PostgreSQL: the quote each message of a page shows of the message it replies to
//! (as that message is now, and only if the viewer can see it), and the check a send with
//! `reply_to` makes once its conversation is locked.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::failure;
use super::ranges::visible_to;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::message::Quote;
use crate::domain::{Message, MessageKind};
use crate::store::StoreError;
use crate::store::carried::{quoted_ids, set_quotes};

/// Fills in `reply_to` on the messages that reply to another: as `viewer` sees it (nothing if
/// the quoted message lies outside their visible range), or as it is when `viewer` is `None`.
pub async fn quote(
    conn: &mut PgConnection,
    viewer: Option<UserId>,
    messages: &mut [&mut Message],
) -> Result<(), StoreError> {
    let ids = quoted_ids(messages);
    if ids.is_empty() {
        return Ok(());
    }
    let seen = match viewer {
        Some(_) => visible_to("$2"),
        None => "$2::BIGINT IS NULL".to_owned(),
    };
    let sql = format!(
        "SELECT m.id, s.username, m.body, m.deleted FROM messages m JOIN users s ON s.id = m.sender_id \
         WHERE m.id = ANY($1) AND {seen}"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&ids)
        .bind(viewer.map(|v| v.0))
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    let mut quotes: HashMap<MessageId, Quote> = HashMap::with_capacity(rows.len());
    for row in rows {
        let id = MessageId(row.try_get("id").map_err(failure)?);
        let body: String = row.try_get("body").map_err(failure)?;
        let quote = Quote::of(
            id,
            row.try_get("username").map_err(failure)?,
            &body,
            row.try_get("deleted").map_err(failure)?,
        );
        quotes.insert(id, quote);
    }
    set_quotes(messages, &quotes);
    Ok(())
}

/// The quote of `reply_to` for a send by `sender` into `conversation`, if it is a text message
/// of that conversation, in the sender's visible range and not deleted.
pub async fn reply_target(
    conn: &mut PgConnection,
    reply_to: MessageId,
    conversation: ConversationId,
    sender: UserId,
) -> Result<Option<Quote>, StoreError> {
    let sql = format!(
        "SELECT m.conversation_id, m.kind, m.deleted, s.username, m.body FROM messages m \
         JOIN users s ON s.id = m.sender_id WHERE m.id = $1 AND {}",
        visible_to("$2")
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(reply_to.0)
        .bind(sender.0)
        .fetch_optional(conn)
        .await
        .map_err(failure)?;
    let Some(row) = row else { return Ok(None) };
    let in_conversation: i64 = row.try_get("conversation_id").map_err(failure)?;
    let kind = i64::from(row.try_get::<i16, _>("kind").map_err(failure)?);
    let deleted: bool = row.try_get("deleted").map_err(failure)?;
    if in_conversation != conversation.0
        || MessageKind::from_i64(kind) != MessageKind::Text
        || deleted
    {
        return Ok(None);
    }
    let body: String = row.try_get("body").map_err(failure)?;
    Ok(Some(Quote::of(
        reply_to,
        row.try_get("username").map_err(failure)?,
        &body,
        false,
    )))
}

/// Of `users`, the members of `conversation` who cannot see message `quoted`, so whose copy of
/// a reply to it carries no quote.
pub async fn blind_to(
    conn: &mut PgConnection,
    conversation: ConversationId,
    quoted: MessageId,
    users: &[UserId],
) -> Result<Vec<UserId>, StoreError> {
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let blind: Vec<i64> = sqlx::query_scalar(
        "SELECT u.id FROM UNNEST($3::BIGINT[]) AS u(id) WHERE NOT EXISTS (SELECT 1 FROM member_ranges v \
         WHERE v.conversation_id = $1 AND v.user_id = u.id AND v.from_id <= $2 \
         AND (v.to_id IS NULL OR $2 <= v.to_id))",
    )
    .bind(conversation.0)
    .bind(quoted.0)
    .bind(&ids)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    Ok(blind.into_iter().map(UserId).collect())
}

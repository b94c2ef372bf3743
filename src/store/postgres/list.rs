//! A user's conversation list on PostgreSQL, as SQLite's `list`: both kinds, newest activity
//! first, each with the newest message inside the user's visible range and how many text
//! messages from others in that range they have not read.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::accounts::user_from_row;
use super::failure;
use super::marks::show;
use super::messages::messages_by_ids;
use super::ranges::visible_to;
use crate::domain::group::{Info, Role};
use crate::domain::ids::{ConversationId, UserId};
use crate::store::safety::is_request;
use crate::store::statements::SHOWN_IN_LIST;
use crate::store::{ConversationSummary, GroupSummary, StoreError};

/// A group as the list shows it, from a row of the list's query.
fn group_from_row(row: &PgRow) -> Result<GroupSummary, sqlx::Error> {
    let left: bool = row.try_get("has_left")?;
    let at_exit: Option<Info> = row
        .try_get::<Option<String>, _>("left_info")?
        .and_then(|t| serde_json::from_str(&t).ok());
    let (title, member_count) = match at_exit {
        Some(info) if left => (info.title, info.member_count),
        _ => (
            row.try_get::<Option<String>, _>("title")?
                .unwrap_or_default(),
            row.try_get("member_count")?,
        ),
    };
    let role: String = row.try_get("role")?;
    Ok(GroupSummary {
        title,
        member_count,
        role: (!left).then(|| Role::from_stored(&role)),
        left,
    })
}

/// The user's conversations, newest activity first.
pub async fn conversations(
    conn: &mut PgConnection,
    user: UserId,
    limit: u32,
) -> Result<Vec<ConversationSummary>, StoreError> {
    let sql = format!(
        "SELECT c.id AS conversation_id, c.kind, \
           (SELECT m.id FROM messages m WHERE m.conversation_id = c.id AND {visible} \
             ORDER BY m.id DESC LIMIT 1) AS last_message_id, \
           o.id, o.username, o.display_name, c.title, me.role, \
           me.left_id IS NOT NULL AS has_left, me.left_info, \
           (SELECT COUNT(*) FROM conversation_members x \
             WHERE x.conversation_id = c.id AND x.left_id IS NULL) AS member_count, \
           (SELECT COUNT(*) FROM messages m \
             WHERE m.conversation_id = c.id AND m.id > me.read_id AND m.kind = 0 \
               AND m.sender_id != $1 AND NOT m.deleted AND {visible}) AS unread, \
           me.request \
         FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id \
         LEFT JOIN direct_conversations d ON d.conversation_id = c.id \
         LEFT JOIN users o ON o.id = CASE d.user_low WHEN $1 THEN d.user_high ELSE d.user_low END \
         WHERE me.user_id = $1 AND {shown} ORDER BY last_message_id DESC NULLS LAST, c.id DESC LIMIT $2",
        visible = visible_to("$1"),
        shown = SHOWN_IN_LIST,
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(user.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    let last_ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| {
            r.try_get::<Option<i64>, _>("last_message_id")
                .ok()
                .flatten()
        })
        .collect();
    let mut last_messages = messages_by_ids(&mut *conn, &last_ids).await?;
    show(conn, user, &mut last_messages).await?;
    rows.iter()
        .map(|row| {
            let last: Option<i64> = row.try_get("last_message_id")?;
            let kind: String = row.try_get("kind")?;
            let (with, group) = if kind == "group" {
                (None, Some(group_from_row(row)?))
            } else {
                (Some(user_from_row(row)?), None)
            };
            Ok(ConversationSummary {
                id: ConversationId(row.try_get("conversation_id")?),
                with,
                group,
                last_message: last
                    .and_then(|id| last_messages.iter().find(|m| m.id.0 == id).cloned()),
                unread: row.try_get("unread")?,
                request: is_request(row.try_get("request")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

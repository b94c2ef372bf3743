//! A user's conversation list on SQLite: both kinds, newest activity first, each with the
//! newest message inside the user's visible range and how many text messages from others in
//! that range they have not read; a group as the user sees it (as it was at their exit, for a
//! group they left).

use rusqlite::{Connection, Row, params};

use super::accounts::user_from_row;
use super::marks::show;
use super::messages::message_by_id;
use super::other;
use super::ranges::visible_to;
use crate::domain::group::{Info, Role};
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::store::safety::is_request;
use crate::store::statements::SHOWN_IN_LIST;
use crate::store::{ConversationSummary, GroupSummary, StoreError};

/// One row of the list before its last message is read.
struct Row0 {
    id: ConversationId,
    last: Option<i64>,
    summary: Kind,
    unread: i64,
    request: bool,
}

enum Kind {
    Direct(crate::domain::User),
    Group(GroupSummary),
}

fn kind_from_row(r: &Row<'_>) -> rusqlite::Result<Kind> {
    let kind: String = r.get(2)?;
    if kind != "group" {
        return Ok(Kind::Direct(user_from_row(r, 3)?));
    }
    let left: bool = r.get(8)?;
    let at_exit: Option<Info> = r
        .get::<_, Option<String>>(9)?
        .and_then(|t| serde_json::from_str(&t).ok());
    let (title, member_count) = match at_exit {
        Some(info) if left => (info.title, info.member_count),
        _ => (
            r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            r.get(10)?,
        ),
    };
    Ok(Kind::Group(GroupSummary {
        title,
        member_count,
        role: (!left).then(|| Role::from_stored(&r.get::<_, String>(7).unwrap_or_default())),
        left,
    }))
}

/// The user's conversations, newest activity first.
pub fn conversations(
    conn: &Connection,
    user: UserId,
    limit: u32,
) -> Result<Vec<ConversationSummary>, StoreError> {
    let sql = format!(
        "SELECT c.id, \
           (SELECT m.id FROM messages m WHERE m.conversation_id = c.id AND {visible} \
             ORDER BY m.id DESC LIMIT 1) AS last, \
           c.kind, o.id, o.username, o.display_name, c.title, me.role, \
           me.left_id IS NOT NULL, me.left_info, \
           (SELECT COUNT(*) FROM conversation_members x \
             WHERE x.conversation_id = c.id AND x.left_id IS NULL), \
           (SELECT COUNT(*) FROM messages m \
             WHERE m.conversation_id = c.id AND m.id > me.read_id AND m.kind = 0 \
               AND m.sender_id != ?1 AND m.deleted = 0 AND {visible}), \
           me.request \
         FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id \
         LEFT JOIN direct_conversations d ON d.conversation_id = c.id \
         LEFT JOIN users o ON o.id = CASE d.user_low WHEN ?1 THEN d.user_high ELSE d.user_low END \
         WHERE me.user_id = ?1 AND {shown} ORDER BY last DESC, c.id DESC LIMIT ?2",
        visible = visible_to(1),
        shown = SHOWN_IN_LIST,
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    let rows = stmt
        .query_map(params![user.0, limit], |r| {
            Ok(Row0 {
                id: ConversationId(r.get(0)?),
                last: r.get(1)?,
                summary: kind_from_row(r)?,
                unread: r.get(11)?,
                request: is_request(r.get(12)?),
            })
        })
        .map_err(other)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    rows.into_iter()
        .map(|row| {
            let mut last_message = match row.last {
                Some(id) => message_by_id(conn, MessageId(id))?,
                None => None,
            };
            if let Some(message) = last_message.as_mut() {
                show(conn, user, [message])?;
            }
            let (with, group) = match row.summary {
                Kind::Direct(with) => (Some(with), None),
                Kind::Group(group) => (None, Some(group)),
            };
            Ok(ConversationSummary {
                id: row.id,
                with,
                group,
                last_message,
                unread: row.unread,
                request: row.request,
            })
        })
        .collect()
}

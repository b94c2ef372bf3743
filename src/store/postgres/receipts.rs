//! Receipts on PostgreSQL outside the writer's batches: read-up-to, a transaction of its own
//! that moves the reader's marks exactly as a batch does (`batch::statuses`, with the same
//! locks in the same order: a group's row, the reader's member row, then the users'), and
//! "message info", a read.

use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::accounts::user_from_row;
use super::batch::record_moved;
use super::batch::statuses::{Resolved, advance};
use super::failure;
use super::ranges::visible_to;
use crate::domain::MessageStatus;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::{MessageReceipts, ReadUpTo, StatusChange, StatusOutcome, StoreError};

/// The conversation, sender and whether it is a group, of message `id`, if `viewer` can see it.
async fn named(
    conn: &mut PgConnection,
    viewer: UserId,
    id: MessageId,
) -> Result<Option<(ConversationId, UserId, bool)>, StoreError> {
    let sql = format!(
        "SELECT m.conversation_id, m.sender_id, c.kind = 'group' AS grp FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1 AND {}",
        visible_to("$2")
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.0)
        .bind(viewer.0)
        .fetch_optional(conn)
        .await
        .map_err(failure)?;
    row.map(|r| {
        Ok((
            ConversationId(r.try_get("conversation_id")?),
            UserId(r.try_get("sender_id")?),
            r.try_get("grp")?,
        ))
    })
    .transpose()
    .map_err(failure)
}

/// Marks read every message from others in the conversation up to `up_to`, an id of that
/// conversation inside the reader's range; `NotFound` otherwise.
pub async fn read_up_to(
    conn: &mut PgConnection,
    req: &ReadUpTo,
) -> Result<StatusOutcome, StoreError> {
    let group = match named(conn, req.reader.id, req.up_to).await? {
        Some((conversation, _, group)) if conversation == req.conversation => group,
        _ => return Err(StoreError::NotFound),
    };
    if group {
        sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE")
            .bind(req.conversation.0)
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
    }
    let change = StatusChange {
        reader: req.reader.clone(),
        message_ids: vec![req.up_to],
        status: MessageStatus::Read,
        live_max: req.live_max,
        at: req.at,
    };
    let resolved = Resolved::single(req.conversation, req.up_to, group);
    let written = advance(conn, &[&change], resolved).await?.pop();
    match written {
        Some(Ok(super::batch::Written::Moved {
            updated,
            up_to,
            groups,
            at,
        })) => record_moved(conn, updated, up_to, groups, at).await,
        Some(Err(err)) => Err(err),
        _ => Err(StoreError::Other("a read-up-to went unanswered".into())),
    }
}

/// Who has message `id` read, delivered or pending, with the time each receipt first covered
/// it; `NotFound` unless `viewer` can see it.
pub async fn message_receipts(
    conn: &mut PgConnection,
    viewer: UserId,
    id: MessageId,
) -> Result<MessageReceipts, StoreError> {
    let (conversation, sender, _) = named(conn, viewer, id).await?.ok_or(StoreError::NotFound)?;
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.display_name, me.delivered_id, \
           CASE WHEN me.request IN (1, 2) THEN 0 ELSE me.read_id END AS read_id, \
           (SELECT MIN(l.at) FROM receipt_log l WHERE l.conversation_id = me.conversation_id \
             AND l.user_id = me.user_id AND l.status = 2 AND l.up_to_id >= $3) AS read_at, \
           (SELECT MIN(l.at) FROM receipt_log l WHERE l.conversation_id = me.conversation_id \
             AND l.user_id = me.user_id AND l.status = 1 AND l.up_to_id >= $3) AS delivered_at \
         FROM conversation_members me JOIN users u ON u.id = me.user_id \
         WHERE me.conversation_id = $1 AND me.user_id != $2 AND me.left_id IS NULL \
           AND me.joined_id < $3 ORDER BY me.joined_id, me.joined_rank, u.username",
    )
    .bind(conversation.0)
    .bind(sender.0)
    .bind(id.0)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    let mut receipts = MessageReceipts {
        message_id: id,
        sender,
        read: Vec::new(),
        delivered: Vec::new(),
        pending: Vec::new(),
    };
    for row in &rows {
        let user = user_from_row(row).map_err(failure)?;
        let get = |name: &str| row.try_get::<i64, _>(name).map_err(failure);
        let at = |name: &str| {
            row.try_get::<Option<i64>, _>(name)
                .map(|at| Timestamp(at.unwrap_or(0)))
                .map_err(failure)
        };
        if get("read_id")? >= id.0 {
            receipts.read.push((user, at("read_at")?));
        } else if get("delivered_id")? >= id.0 {
            receipts.delivered.push((user, at("delivered_at")?));
        } else {
            receipts.pending.push(user);
        }
    }
    receipts.read.sort_by_key(|(_, at)| *at);
    receipts.delivered.sort_by_key(|(_, at)| *at);
    Ok(receipts)
}

/// `user` accepts `other`'s message request (`safety::accept_request`), and the read receipts
/// it withheld are recorded as one `read` event to `other`, as a receipt's events are.
pub(super) async fn accepted(
    conn: &mut PgConnection,
    user: &crate::domain::User,
    other: UserId,
    at: Timestamp,
) -> Result<Vec<crate::domain::event::UserEvent>, StoreError> {
    let groups = super::safety::accept_request(conn, user, other, at).await?;
    Ok(record_moved(conn, Vec::new(), None, groups, at)
        .await?
        .events)
}

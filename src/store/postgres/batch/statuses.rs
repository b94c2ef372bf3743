//! The status changes of a batch: recipients moving their messages forward, never back.
//!
//! Every message the changes name is locked first, in ascending id order, and read with its
//! recipient, sender, conversation and status; a change naming a message that is not its
//! reader's fails alone (`NotFound`, changing nothing) before anything is written. The changes
//! are then worked out in batch order against the statuses as the earlier ones leave them (a
//! message marked delivered, then read, in one batch moves twice, with an event each time),
//! and the final statuses are written with one statement.

use std::collections::BTreeMap;

use sqlx::{PgConnection, Row};

use super::Written;
use crate::domain::MessageStatus;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::store::postgres::failure;
use crate::store::records::status_groups;
use crate::store::{StatusChange, StoreError};

/// A locked message, and what the batch has done to it so far.
struct Target {
    recipient: UserId,
    sender: UserId,
    conversation: ConversationId,
    status: MessageStatus,
    /// Whether the batch moved it, so it must be written.
    moved: bool,
    /// When the batch first moved it (its `delivered_at` unless already set).
    delivered_at: Option<i64>,
    /// When the batch first moved it to read (its `read_at` unless already set).
    read_at: Option<i64>,
}

/// Applies the batch's status changes; one answer per change, in order.
pub(super) async fn advance(
    conn: &mut PgConnection,
    changes: &[&StatusChange],
) -> Result<Vec<Result<Written, StoreError>>, StoreError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut named: Vec<i64> = changes
        .iter()
        .flat_map(|c| c.message_ids.iter().map(|m| m.0))
        .collect();
    named.sort_unstable();
    named.dedup();
    let mut targets = lock_messages(conn, &named).await?;
    let answers = changes
        .iter()
        .map(|change| plan(change, &mut targets))
        .collect();
    write(conn, &targets).await?;
    Ok(answers)
}

/// Works out one change against the statuses left by the batch's earlier changes.
fn plan(change: &StatusChange, targets: &mut BTreeMap<i64, Target>) -> Result<Written, StoreError> {
    let mut ids: Vec<i64> = change.message_ids.iter().map(|m| m.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let reader = change.reader.id;
    if ids
        .iter()
        .any(|id| targets.get(id).is_none_or(|t| t.recipient != reader))
    {
        return Err(StoreError::NotFound);
    }
    let mut changed = Vec::new();
    for id in ids {
        let Some(target) = targets.get_mut(&id) else {
            continue;
        };
        if target.status >= change.status {
            continue;
        }
        target.status = change.status;
        target.moved = true;
        target.delivered_at.get_or_insert(change.at.millis());
        if change.status >= MessageStatus::Read {
            target.read_at.get_or_insert(change.at.millis());
        }
        changed.push((MessageId(id), target.conversation, target.sender));
    }
    let mut updated: Vec<MessageId> = changed.iter().map(|(id, _, _)| *id).collect();
    updated.sort();
    Ok(Written::Moved {
        updated,
        groups: status_groups(&change.reader, changed, change.status, change.at),
        at: change.at,
    })
}

/// Locks the named messages in ascending id order and reads what the changes need.
async fn lock_messages(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<BTreeMap<i64, Target>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, recipient_id, sender_id, conversation_id, status FROM messages \
         WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    let mut targets = BTreeMap::new();
    for row in rows {
        let read = |name: &str| row.try_get::<i64, _>(name).map_err(failure);
        let status: i16 = row.try_get("status").map_err(failure)?;
        let target = Target {
            recipient: UserId(read("recipient_id")?),
            sender: UserId(read("sender_id")?),
            conversation: ConversationId(read("conversation_id")?),
            status: MessageStatus::from_i64(i64::from(status)),
            moved: false,
            delivered_at: None,
            read_at: None,
        };
        targets.insert(read("id")?, target);
    }
    Ok(targets)
}

/// Writes the final status of every message the batch moved. The `m.id = ANY($1)` repeats the
/// join's condition so that the plan finds the rows through the primary key even while
/// `messages` has no statistics; without it, a new database's cached plan scanned the table.
async fn write(conn: &mut PgConnection, targets: &BTreeMap<i64, Target>) -> Result<(), StoreError> {
    let moved: Vec<(&i64, &Target)> = targets.iter().filter(|(_, t)| t.moved).collect();
    if moved.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE messages m SET status = t.status, delivered_at = COALESCE(m.delivered_at, t.delivered), \
         read_at = COALESCE(m.read_at, t.read) \
         FROM UNNEST($1::BIGINT[], $2::SMALLINT[], $3::BIGINT[], $4::BIGINT[]) AS t(id, status, delivered, read) \
         WHERE m.id = t.id AND m.id = ANY($1)",
    )
    .bind(moved.iter().map(|(id, _)| **id).collect::<Vec<_>>())
    .bind(moved.iter().map(|(_, t)| t.status.as_i64() as i16).collect::<Vec<_>>())
    .bind(moved.iter().map(|(_, t)| t.delivered_at).collect::<Vec<_>>())
    .bind(moved.iter().map(|(_, t)| t.read_at).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map_err(failure)?;
    Ok(())
}

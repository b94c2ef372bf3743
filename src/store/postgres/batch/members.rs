//! The member rows a batch's receipts read: the readers' own, locked in ascending
//! (conversation, user) order, and a group's current members with their marks.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, Row};

use crate::domain::ids::{ConversationId, UserId};
use crate::domain::receipt::Marks;
use crate::store::StoreError;
use crate::store::postgres::failure;

/// Locks the readers' member rows in ascending (conversation, user) order; returns their marks.
pub(super) async fn lock_members(
    conn: &mut PgConnection,
    keys: &BTreeSet<(ConversationId, UserId)>,
) -> Result<BTreeMap<(ConversationId, UserId), Marks>, StoreError> {
    let (conversations, users): (Vec<i64>, Vec<i64>) = keys.iter().map(|(c, u)| (c.0, u.0)).unzip();
    let rows = sqlx::query(
        "SELECT me.conversation_id, me.user_id, me.delivered_id, me.read_id \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS k(c, u) \
         JOIN conversation_members me ON me.conversation_id = k.c AND me.user_id = k.u \
         ORDER BY me.conversation_id, me.user_id FOR NO KEY UPDATE OF me",
    )
    .bind(&conversations)
    .bind(&users)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    rows.iter()
        .map(|row| {
            let get = |name: &str| row.try_get::<i64, _>(name);
            Ok((
                (
                    ConversationId(get("conversation_id")?),
                    UserId(get("user_id")?),
                ),
                Marks {
                    delivered: get("delivered_id")?,
                    read: get("read_id")?,
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

/// The current members of the groups, adding the marks of those not locked to `marks`.
pub(super) async fn current_members(
    conn: &mut PgConnection,
    groups: &BTreeSet<ConversationId>,
    marks: &mut BTreeMap<(ConversationId, UserId), Marks>,
) -> Result<BTreeMap<ConversationId, Vec<UserId>>, StoreError> {
    let mut members: BTreeMap<ConversationId, Vec<UserId>> = BTreeMap::new();
    if groups.is_empty() {
        return Ok(members);
    }
    let ids: Vec<i64> = groups.iter().map(|c| c.0).collect();
    let rows = sqlx::query(
        "SELECT conversation_id, user_id, delivered_id, read_id FROM conversation_members \
         WHERE conversation_id = ANY($1) AND left_id IS NULL",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    for row in rows {
        let get = |name: &str| row.try_get::<i64, _>(name).map_err(failure);
        let key = (
            ConversationId(get("conversation_id")?),
            UserId(get("user_id")?),
        );
        members.entry(key.0).or_default().push(key.1);
        let current = Marks {
            delivered: get("delivered_id")?,
            read: get("read_id")?,
        };
        marks.entry(key).or_insert(current);
    }
    Ok(members)
}

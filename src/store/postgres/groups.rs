//! Groups on PostgreSQL, as SQLite's `groups`: creating one (idempotently, in a transaction of
//! its own), reading it as a member or past member sees it, its current members, and what
//! every group write shares — a member's standing, a system message with the next seq, and
//! the member rows and ranges of people joining. Changes to an existing group are
//! `membership`. Every write locks the group's row first (`lock_group`), as the batches do for
//! sends, so sends and membership changes in one group are applied in one order.

use sqlx::{PgConnection, Row};

use super::accounts::user_from_row;
use super::batch::record_group_events;
use super::failure;
use super::messages::messages_by_ids;
use super::safety;
use crate::domain::group::{Creation, Group, History, Role};
use crate::domain::group_change::Change;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind, User};
use crate::store::StoreError;
use crate::store::groups::{GroupRow, GroupWrite, Member, NewGroup, Standing};

pub fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned + Default>(text: Option<String>) -> T {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The group's row, if `id` is a group.
pub async fn group_row(
    conn: &mut PgConnection,
    id: ConversationId,
) -> Result<Option<GroupRow>, StoreError> {
    let row = sqlx::query(
        "SELECT c.title, c.description, c.settings, u.username, c.created_at \
         FROM conversations c JOIN users u ON u.id = c.created_by \
         WHERE c.id = $1 AND c.kind = 'group'",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(failure)?;
    row.map(|r| {
        Ok(GroupRow {
            title: r.try_get::<Option<String>, _>("title")?.unwrap_or_default(),
            description: r.try_get("description")?,
            settings: decode(r.try_get("settings")?),
            created_by: r.try_get("username")?,
            created_at: Timestamp(r.try_get("created_at")?),
        })
    })
    .transpose()
    .map_err(failure)
}

/// Locks the group's row (before any member row); `NotFound` if `id` is no group.
pub async fn lock_group(conn: &mut PgConnection, id: ConversationId) -> Result<(), StoreError> {
    let locked: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM conversations WHERE id = $1 AND kind = 'group' FOR NO KEY UPDATE",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(failure)?;
    locked.map(|_| ()).ok_or(StoreError::NotFound)
}

/// `user`'s membership of group `id`; `NotFound` for someone never a member.
pub async fn standing(
    conn: &mut PgConnection,
    id: ConversationId,
    user: UserId,
) -> Result<Standing, StoreError> {
    let row = sqlx::query(
        "SELECT role, left_id IS NULL AS current, left_info FROM conversation_members \
         WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(id.0)
    .bind(user.0)
    .fetch_optional(conn)
    .await
    .map_err(failure)?
    .ok_or(StoreError::NotFound)?;
    let role: String = row.try_get("role").map_err(failure)?;
    let left_info: Option<String> = row.try_get("left_info").map_err(failure)?;
    Ok(Standing {
        role: Role::from_stored(&role),
        current: row.try_get("current").map_err(failure)?,
        at_exit: left_info.and_then(|t| serde_json::from_str(&t).ok()),
    })
}

/// The current members' ids, in the order they joined.
pub async fn current_members(
    conn: &mut PgConnection,
    id: ConversationId,
) -> Result<Vec<UserId>, StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM conversation_members WHERE conversation_id = $1 \
         AND left_id IS NULL ORDER BY joined_id, joined_rank",
    )
    .bind(id.0)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// The group as `viewer` sees it; `NotFound` for someone never a member or no such group.
pub async fn group(
    conn: &mut PgConnection,
    viewer: UserId,
    id: ConversationId,
) -> Result<Group, StoreError> {
    let row = group_row(conn, id).await?.ok_or(StoreError::NotFound)?;
    let standing = standing(conn, id, viewer).await?;
    let count = if standing.current {
        Some(current_members(conn, id).await?.len() as i64)
    } else {
        None
    };
    Ok(row.view(id, standing, count))
}

/// The current members with role and join time, in the order they joined.
pub async fn members(
    conn: &mut PgConnection,
    viewer: UserId,
    id: ConversationId,
) -> Result<Vec<Member>, StoreError> {
    group_row(conn, id).await?.ok_or(StoreError::NotFound)?;
    standing(conn, id, viewer).await?.require_current()?;
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.display_name, me.role, me.joined_at \
         FROM conversation_members me JOIN users u ON u.id = me.user_id \
         WHERE me.conversation_id = $1 AND me.left_id IS NULL \
         ORDER BY me.joined_id, me.joined_rank",
    )
    .bind(id.0)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get("role")?;
            Ok(Member {
                user: user_from_row(r)?,
                role: Role::from_stored(&role),
                joined_at: Timestamp(r.try_get("joined_at")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

/// Writes the system message of `change` by `actor` with the next seq (the group's row is
/// locked); returns it as stored, without events (the caller records them for its audience).
pub async fn post_system(
    conn: &mut PgConnection,
    id: ConversationId,
    actor: &User,
    change: &Change,
    at: Timestamp,
) -> Result<Message, StoreError> {
    let (record, body) = change.record(&actor.username);
    let message: i64 = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, seq, kind, sender_id, body, system, created_at) \
         VALUES ($1, COALESCE((SELECT seq FROM messages WHERE conversation_id = $1 \
           ORDER BY id DESC LIMIT 1), 0) + 1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(id.0)
    .bind(MessageKind::System.as_i64() as i16)
    .bind(actor.id.0)
    .bind(body)
    .bind(encode(&record)?)
    .bind(at.millis())
    .fetch_one(&mut *conn)
    .await
    .map_err(failure)?;
    messages_by_ids(conn, &[message])
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Makes `users` members of `id` from the system message `joined` (a re-added past member's
/// row is renewed), with their receipts at that message and a visible range from the start or
/// from it, as the `history` setting says.
pub async fn admit(
    conn: &mut PgConnection,
    id: ConversationId,
    users: &[(UserId, Role)],
    joined: MessageId,
    history: History,
    at: Timestamp,
) -> Result<(), StoreError> {
    let ids: Vec<i64> = users.iter().map(|(u, _)| u.0).collect();
    let roles: Vec<&str> = users.iter().map(|(_, r)| r.as_str()).collect();
    sqlx::query(
        "INSERT INTO conversation_members (user_id, conversation_id, role, joined_at, joined_id, \
           joined_rank, left_id, left_info, delivered_id, read_id) \
         SELECT t.user_id, $3, t.role, $4, $5, t.rank - 1, NULL, NULL, $5, $5 \
         FROM UNNEST($1::BIGINT[], $2::TEXT[]) WITH ORDINALITY AS t(user_id, role, rank) \
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET role = excluded.role, \
           joined_at = excluded.joined_at, joined_id = excluded.joined_id, \
           joined_rank = excluded.joined_rank, left_id = NULL, left_info = NULL, \
           delivered_id = GREATEST(conversation_members.delivered_id, excluded.delivered_id), \
           read_id = GREATEST(conversation_members.read_id, excluded.read_id)",
    )
    .bind(&ids)
    .bind(&roles)
    .bind(id.0)
    .bind(at.millis())
    .bind(joined.0)
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    let from = match history {
        History::Shared => 0,
        History::Joined => joined.0,
    };
    sqlx::query(
        "INSERT INTO member_ranges (conversation_id, user_id, from_id, to_id) \
         SELECT $1, UNNEST($2::BIGINT[]), $3, NULL \
         ON CONFLICT (conversation_id, user_id, from_id) DO UPDATE SET to_id = NULL",
    )
    .bind(id.0)
    .bind(&ids)
    .bind(from)
    .execute(conn)
    .await
    .map_err(failure)?;
    Ok(())
}

/// Creates the group (or answers its retry), in the caller's transaction.
pub async fn create_group(
    conn: &mut PgConnection,
    new: &NewGroup,
) -> Result<GroupWrite, StoreError> {
    let named: Vec<String> = new.members.iter().map(|u| u.username.clone()).collect();
    let asked = Creation::new(&new.title, &new.description, new.settings, &named);
    let existing: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT id, creation FROM conversations WHERE created_by = $1 AND client_id = $2",
    )
    .bind(new.creator.id.0)
    .bind(new.client_id.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(failure)?;
    if let Some((id, creation)) = existing {
        let creation: Option<Creation> = creation.and_then(|t| serde_json::from_str(&t).ok());
        if creation.as_ref() != Some(&asked) {
            return Err(StoreError::Conflict(new.client_id.as_str().to_owned()));
        }
        return Ok(GroupWrite {
            group: Some(group(conn, new.creator.id, ConversationId(id)).await?),
            ..GroupWrite::default()
        });
    }
    if new.only_retry {
        return Err(StoreError::NotFound);
    }
    let named_users: Vec<&User> = new.members.iter().collect();
    let states = safety::admit(conn, new.creator.id, &named_users, new.requests).await?;
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO conversations (kind, created_at, title, description, settings, created_by, \
           client_id, creation) VALUES ('group', $1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (created_by, client_id) WHERE client_id IS NOT NULL DO NOTHING RETURNING id",
    )
    .bind(new.at.millis())
    .bind(new.title.as_str())
    .bind(new.description.as_str())
    .bind(encode(&new.settings)?)
    .bind(new.creator.id.0)
    .bind(new.client_id.as_str())
    .bind(encode(&asked)?)
    .fetch_optional(&mut *conn)
    .await
    .map_err(failure)?;
    // Another node created it first and has committed: run again, and find it.
    let id = ConversationId(created.ok_or_else(|| {
        StoreError::Retryable("a concurrent creation used the same client_id".into())
    })?);
    let mut everyone = vec![(new.creator.id, Role::Owner)];
    everyone.extend(new.members.iter().map(|u| (u.id, Role::Member)));
    let change = Change::Created {
        title: new.title.as_str().to_owned(),
        members: named,
    };
    let message = post_system(conn, id, &new.creator, &change, new.at).await?;
    admit(conn, id, &everyone, message.id, History::Shared, new.at).await?;
    let admitted: Vec<(UserId, i64)> = new.members.iter().map(|u| u.id).zip(states).collect();
    safety::admitted(conn, id, new.creator.id, &admitted).await?;
    let mut audience: Vec<UserId> = everyone.iter().map(|(u, _)| *u).collect();
    audience.sort();
    let events =
        record_group_events(conn, &[(message.clone(), audience)], Vec::new(), new.at).await?;
    Ok(GroupWrite {
        group: Some(group(conn, new.creator.id, id).await?),
        created: true,
        messages: vec![message],
        events,
        ..GroupWrite::default()
    })
}

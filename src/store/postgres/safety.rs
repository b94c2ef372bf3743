//! Blocks and message requests on PostgreSQL, as SQLite's `safety` (`store::safety`
//! decides; this reads and writes): blocks, group adds' blocks and request states, accept and
//! decline, and what typing may cross. A batch's direct sends are judged in `batch::requests`
//! with the statements shared here.

use sqlx::{PgConnection, Row};

use super::accounts::user_from_row;
use super::failure;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{MessageStatus, User};
use crate::store::StoreError;
use crate::store::records::{StatusData, StatusGroup};
use crate::store::safety::{self, DECLINED, GROUP_DECLINED, GROUP_PENDING, NONE, PENDING};
use crate::store::statements::{
    BLOCK, BLOCK_PEERS, BLOCKED_BY, BLOCKED_EITHER_WAY, DIRECT_STATES, LIFT_REQUESTS, SET_REQUEST,
    TRUSTS, UNBLOCK,
};

/// The one boolean a statement on users `$1` and `$2` answers.
pub(super) async fn flag(
    conn: &mut PgConnection,
    sql: &'static str,
    a: UserId,
    b: UserId,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(sql)
        .bind(a.0)
        .bind(b.0)
        .fetch_one(conn)
        .await
        .map_err(failure)
}

/// Whether `a` and `b` block each other, either way.
pub(super) async fn blocked_either_way(
    conn: &mut PgConnection,
    a: UserId,
    b: UserId,
) -> Result<bool, StoreError> {
    flag(conn, BLOCKED_EITHER_WAY, a, b).await
}

/// Sets `user`'s request state in `conversation`.
pub(super) async fn set_state(
    conn: &mut PgConnection,
    conversation: ConversationId,
    user: UserId,
    state: i64,
) -> Result<(), StoreError> {
    sqlx::query(SET_REQUEST)
        .bind(state)
        .bind(conversation.0)
        .bind(user.0)
        .execute(conn)
        .await
        .map_err(failure)?;
    Ok(())
}

/// The request state each of `users` gets when `actor` adds them to a group, in order;
/// `cannot_add_user` if one blocks the actor or is blocked by them.
pub(super) async fn admit(
    conn: &mut PgConnection,
    actor: UserId,
    users: &[&User],
    requests: bool,
) -> Result<Vec<i64>, StoreError> {
    let mut states = Vec::with_capacity(users.len());
    for user in users {
        if blocked_either_way(conn, actor, user.id).await? {
            return Err(safety::cannot_add(&user.username));
        }
        let trusted = !requests || flag(conn, TRUSTS, user.id, actor).await?;
        states.push(safety::added_state(requests, trusted));
    }
    Ok(states)
}

/// Records the request states `admit` gave the members just added to `group`, then ends the
/// pending direct requests between each accepted one and the group's accepted members.
pub(super) async fn admitted(
    conn: &mut PgConnection,
    group: ConversationId,
    actor: UserId,
    users: &[(UserId, i64)],
) -> Result<(), StoreError> {
    for (user, state) in users {
        {
            set_state(conn, group, *user, *state).await?;
        }
    }
    lift(conn, group, actor).await?;
    for (user, state) in users {
        if *state == NONE {
            lift(conn, group, *user).await?;
        }
    }
    Ok(())
}

/// Ends the pending direct requests between `user`, now an accepted current member of
/// `group`, and its other accepted current members.
pub(super) async fn lift(
    conn: &mut PgConnection,
    group: ConversationId,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query(LIFT_REQUESTS)
        .bind(group.0)
        .bind(user.0)
        .execute(conn)
        .await
        .map_err(failure)?;
    Ok(())
}

/// A group request is accepted by `user` (accept, or a send of theirs in it).
pub(super) async fn accept_group(
    conn: &mut PgConnection,
    group: ConversationId,
    user: UserId,
) -> Result<(), StoreError> {
    let changed = sqlx::query(
        "UPDATE conversation_members SET request = 0 WHERE conversation_id = $1 \
         AND user_id = $2 AND request = $3 AND left_id IS NULL",
    )
    .bind(group.0)
    .bind(user.0)
    .bind(GROUP_PENDING)
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    if changed.rows_affected() > 0 {
        lift(conn, group, user).await?;
    }
    Ok(())
}

/// `POST /api/groups/{id}/accept`: `NotFound` for someone never a member of that group,
/// `not_a_member` for a past member; otherwise accepts it if it is a request.
pub(super) async fn accept_group_by(
    conn: &mut PgConnection,
    group: ConversationId,
    user: UserId,
) -> Result<(), StoreError> {
    let current: Option<bool> = sqlx::query_scalar(
        "SELECT me.left_id IS NULL FROM conversation_members me \
         JOIN conversations g ON g.id = me.conversation_id AND g.kind = 'group' \
         WHERE me.conversation_id = $1 AND me.user_id = $2",
    )
    .bind(group.0)
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(failure)?;
    crate::store::groups::Standing::require(current)?;
    sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE")
        .bind(group.0)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    accept_group(conn, group, user).await
}

/// A group request left by `user` is declined.
pub(super) async fn left_group(
    conn: &mut PgConnection,
    group: ConversationId,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversation_members SET request = $1 WHERE conversation_id = $2 \
         AND user_id = $3 AND request = $4",
    )
    .bind(GROUP_DECLINED)
    .bind(group.0)
    .bind(user.0)
    .bind(GROUP_PENDING)
    .execute(conn)
    .await
    .map_err(failure)?;
    Ok(())
}

/// `(conversation, request of a, request of b, has a message)` of `a` and `b`'s direct
/// conversation.
async fn direct_states(
    conn: &mut PgConnection,
    a: UserId,
    b: UserId,
) -> Result<Option<(ConversationId, i64, i64, bool)>, StoreError> {
    let row = sqlx::query(DIRECT_STATES)
        .bind(a.0)
        .bind(b.0)
        .fetch_optional(conn)
        .await
        .map_err(failure)?;
    row.map(|r| {
        Ok((
            ConversationId(r.try_get(0)?),
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
        ))
    })
    .transpose()
    .map_err(failure)
}

/// `user` accepts `other`'s request; the withheld read receipts are to go to `other` as one
/// event (`receipts::accepted` records it). The conversation is locked first, as sends lock
/// it.
pub(super) async fn accept_request(
    conn: &mut PgConnection,
    user: &User,
    other: UserId,
    at: Timestamp,
) -> Result<Vec<StatusGroup>, StoreError> {
    let Some((conversation, _, _, _)) = direct_states(conn, user.id, other).await? else {
        return Ok(Vec::new());
    };
    sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE")
        .bind(conversation.0)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    let (state, read): (i64, i64) = sqlx::query_as(
        "SELECT request, read_id FROM conversation_members \
         WHERE conversation_id = $1 AND user_id = $2 FOR NO KEY UPDATE",
    )
    .bind(conversation.0)
    .bind(user.id.0)
    .fetch_one(&mut *conn)
    .await
    .map_err(failure)?;
    if state != PENDING {
        return Ok(Vec::new());
    }
    set_state(conn, conversation, user.id, NONE).await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE conversation_id = $1 AND sender_id = $2 \
         AND kind = 0 AND id <= $3 ORDER BY id",
    )
    .bind(conversation.0)
    .bind(other.0)
    .bind(read)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let group = StatusGroup {
        data: StatusData {
            conversation_id: conversation,
            message_ids: ids.into_iter().map(MessageId).collect(),
            up_to_id: MessageId(read),
            status: MessageStatus::Read,
            by: user.username.clone(),
            all: true,
            at: at.millis(),
        },
        users: vec![other],
    };
    Ok(vec![group])
}

/// `user` declines `other`'s pending request.
pub(super) async fn decline_request(
    conn: &mut PgConnection,
    user: UserId,
    other: UserId,
) -> Result<(), StoreError> {
    if let Some((conversation, PENDING, _, _)) = direct_states(conn, user, other).await? {
        sqlx::query(
            "UPDATE conversation_members SET request = $1 WHERE conversation_id = $2 \
             AND user_id = $3 AND request = $4",
        )
        .bind(DECLINED)
        .bind(conversation.0)
        .bind(user.0)
        .bind(PENDING)
        .execute(conn)
        .await
        .map_err(failure)?;
    }
    Ok(())
}

/// Whether `from`'s typing may reach `to` (see `Store::typing_allowed`).
pub(super) async fn typing_allowed(
    conn: &mut PgConnection,
    from: UserId,
    to: UserId,
) -> Result<bool, StoreError> {
    let Some((_, mine, theirs, has_message)) = direct_states(conn, from, to).await? else {
        return Ok(false);
    };
    Ok(has_message
        && mine == NONE
        && theirs != DECLINED
        && !blocked_either_way(conn, from, to).await?)
}

pub(super) async fn block(
    conn: &mut PgConnection,
    blocker: UserId,
    blocked: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(BLOCK)
        .bind(blocker.0)
        .bind(blocked.0)
        .bind(at.millis())
        .execute(conn)
        .await
        .map_err(failure)?;
    Ok(())
}

pub(super) async fn unblock(
    conn: &mut PgConnection,
    blocker: UserId,
    blocked: UserId,
) -> Result<(), StoreError> {
    sqlx::query(UNBLOCK)
        .bind(blocker.0)
        .bind(blocked.0)
        .execute(conn)
        .await
        .map_err(failure)?;
    Ok(())
}

pub(super) async fn blocked_users(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Vec<User>, StoreError> {
    let rows = sqlx::query(BLOCKED_BY)
        .bind(user.0)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    rows.iter()
        .map(user_from_row)
        .collect::<Result<_, _>>()
        .map_err(failure)
}

pub(super) async fn block_peers(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Vec<UserId>, StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar(BLOCK_PEERS)
        .bind(user.0)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    Ok(ids.into_iter().map(UserId).collect())
}

//! Blocks and message requests on PostgreSQL, as SQLite's `safety` (`store::safety`
//! decides; this reads and writes): a batch's direct sends judged once their conversations are
//! locked (in batch order, so a batch's own earlier sends count), group adds' blocks and request
//! states, accept and decline, and what typing may cross.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, Row};

use super::accounts::user_from_row;
use super::failure;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{MessageStatus, User};
use crate::store::records::{StatusData, StatusGroup};
use crate::store::safety::{
    self, DECLINED, DirectFacts, DirectPlan, GROUP_DECLINED, GROUP_PENDING, NONE, PENDING,
};
use crate::store::statements::{
    BLOCK, BLOCK_PEERS, BLOCKED_BY, BLOCKED_EITHER_WAY, DIRECT_STATES, LIFT_REQUESTS, SENT_IN,
    SET_REQUEST, SHARED_GROUP, TRUSTS, UNBLOCK,
};
use crate::store::{Destination, SendRequest, StoreError};

async fn flag(
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

async fn set_state(
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

/// What a batch's direct send changes once stored.
pub(super) struct Planned {
    conversation: ConversationId,
    sender: UserId,
    recipient: UserId,
    plan: DirectPlan,
}

/// Judges the batch's direct sends still going (`audiences` Ok), in order, once their
/// conversations are locked (`last_seq` read then); a refused one fails alone. Earlier sends of
/// the batch count as stored. The blocks between the batch's pairs and the member rows of its
/// conversations are read with one statement each, whatever the batch's size; the rest (a
/// shared group, a request's count) only for a first contact or a pending request.
pub(super) async fn judge_batch(
    conn: &mut PgConnection,
    requests: &[&SendRequest],
    conversations: &[Result<ConversationId, StoreError>],
    last_seq: &BTreeMap<ConversationId, i64>,
    audiences: &mut [Result<Vec<UserId>, StoreError>],
) -> Result<Vec<Planned>, StoreError> {
    let mut direct = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        if let (Destination::Direct(to), Ok(conversation), Ok(_)) =
            (&request.to, &conversations[index], &audiences[index])
            && to.id != request.sender.id
        {
            direct.push((index, request.sender.id, to.id, *conversation));
        }
    }
    if direct.is_empty() {
        return Ok(Vec::new());
    }
    let blocked = blocked_pairs(conn, &direct).await?;
    let mut states = if direct.iter().any(|(i, ..)| requests[*i].requests) {
        member_states(conn, &direct).await?
    } else {
        BTreeMap::new()
    };
    let mut counts: BTreeMap<(ConversationId, UserId), i64> = BTreeMap::new();
    let mut opened: BTreeMap<ConversationId, bool> = BTreeMap::new();
    let mut planned = Vec::new();
    for (index, sender, recipient, conversation) in direct {
        let on = requests[index].requests;
        let first = !*opened
            .entry(conversation)
            .or_insert_with(|| last_seq.get(&conversation).copied().unwrap_or(0) > 0);
        let mut facts = DirectFacts {
            blocked: blocked.contains(&(sender.min(recipient), sender.max(recipient))),
            first,
            ..DirectFacts::default()
        };
        if on && !facts.blocked {
            let state = |user| states.get(&(conversation, user)).copied().unwrap_or(NONE);
            facts.sender_state = state(sender);
            facts.recipient_state = state(recipient);
            if facts.first || facts.recipient_state == PENDING {
                facts.shared_group = flag(conn, SHARED_GROUP, sender, recipient).await?;
            }
            if facts.recipient_state == PENDING {
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    counts.entry((conversation, sender))
                {
                    let count: i64 = sqlx::query_scalar(SENT_IN)
                        .bind(conversation.0)
                        .bind(sender.0)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(failure)?;
                    slot.insert(count);
                }
                facts.sent_by_sender = counts[&(conversation, sender)];
            }
        }
        match safety::judge_direct(facts, on) {
            Err(refused) => audiences[index] = Err(refused),
            Ok(plan) => {
                opened.insert(conversation, true);
                // Loaded, or the batch opened the conversation (nothing stored before): either
                // way the count is right from here; otherwise it is never read (only a first
                // message makes a request pending).
                *counts.entry((conversation, sender)).or_insert(0) += 1;
                if let Some(state) = plan.sender_state {
                    states.insert((conversation, sender), state);
                }
                if let Some(state) = plan.recipient_state {
                    states.insert((conversation, recipient), state);
                }
                planned.push(Planned {
                    conversation,
                    sender,
                    recipient,
                    plan,
                });
            }
        }
    }
    Ok(planned)
}

/// The batch's pairs (lower id first) that a block stands between, either way.
async fn blocked_pairs(
    conn: &mut PgConnection,
    direct: &[(usize, UserId, UserId, ConversationId)],
) -> Result<BTreeSet<(UserId, UserId)>, StoreError> {
    let (lows, highs): (Vec<i64>, Vec<i64>) = direct
        .iter()
        .map(|(_, a, b, _)| (a.0.min(b.0), a.0.max(b.0)))
        .unzip();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT p.low, p.high FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS p(low, high) \
         JOIN blocks b ON (b.blocker_id = p.low AND b.blocked_id = p.high) \
           OR (b.blocker_id = p.high AND b.blocked_id = p.low)",
    )
    .bind(&lows)
    .bind(&highs)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    Ok(rows
        .into_iter()
        .map(|(low, high)| (UserId(low), UserId(high)))
        .collect())
}

/// The request state of every member row of the batch's direct conversations.
async fn member_states(
    conn: &mut PgConnection,
    direct: &[(usize, UserId, UserId, ConversationId)],
) -> Result<BTreeMap<(ConversationId, UserId), i64>, StoreError> {
    let mut ids: Vec<i64> = direct.iter().map(|(.., c)| c.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT conversation_id, user_id, request FROM conversation_members \
         WHERE conversation_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    Ok(rows
        .into_iter()
        .map(|(c, u, state)| ((ConversationId(c), UserId(u)), state))
        .collect())
}

/// Writes the request states the batch's stored direct sends leave, and accepts the group
/// requests of those who sent in a group that was one for them.
pub(super) async fn apply_batch(
    conn: &mut PgConnection,
    planned: Vec<Planned>,
    group_sends: Vec<(ConversationId, UserId)>,
) -> Result<(), StoreError> {
    for done in planned {
        if let Some(state) = done.plan.sender_state {
            set_state(conn, done.conversation, done.sender, state).await?;
        }
        if let Some(state) = done.plan.recipient_state {
            set_state(conn, done.conversation, done.recipient, state).await?;
        }
    }
    if group_sends.is_empty() {
        return Ok(());
    }
    // One statement for every group send of the batch; it changes only group requests (rare).
    let (groups, users): (Vec<i64>, Vec<i64>) = group_sends.iter().map(|(g, u)| (g.0, u.0)).unzip();
    let accepted: Vec<(i64, i64)> = sqlx::query_as(
        "UPDATE conversation_members me SET request = 0 \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS k(c, u) \
         WHERE me.conversation_id = k.c AND me.user_id = k.u AND me.request = $3 \
           AND me.left_id IS NULL \
         RETURNING me.conversation_id, me.user_id",
    )
    .bind(&groups)
    .bind(&users)
    .bind(GROUP_PENDING)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    for (group, user) in accepted {
        lift(conn, ConversationId(group), UserId(user)).await?;
    }
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

async fn lift(
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

/// Reader `reader`'s read receipts in these direct conversations are withheld from the other
/// party (a pending or declined request for the reader): the ones that are.
pub(super) async fn withheld(
    conn: &mut PgConnection,
    keys: &[(ConversationId, UserId)],
) -> Result<Vec<(ConversationId, UserId)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (conversations, users): (Vec<i64>, Vec<i64>) = keys.iter().map(|(c, u)| (c.0, u.0)).unzip();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT me.conversation_id, me.user_id FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS k(c, u) \
         JOIN conversation_members me ON me.conversation_id = k.c AND me.user_id = k.u \
         WHERE me.request IN (1, 2)",
    )
    .bind(&conversations)
    .bind(&users)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    Ok(rows
        .into_iter()
        .map(|(c, u)| (ConversationId(c), UserId(u)))
        .collect())
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

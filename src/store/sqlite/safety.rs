//! Blocks and message requests on SQLite (`store::safety` decides; this reads and writes):
//! the facts a direct send is judged on and the states it leaves, group adds' blocks and
//! request states, accept and decline, and what typing and presence may cross.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::user_from_row;
use super::events::append_event;
use super::other;
use crate::domain::event::UserEvent;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{MessageStatus, User};
use crate::store::StoreError;
use crate::store::records::{KIND_STATUS, StatusData};
use crate::store::safety::{
    self, DECLINED, DirectFacts, DirectPlan, GROUP_DECLINED, GROUP_PENDING, NONE, PENDING,
};
use crate::store::statements::{
    BLOCK, BLOCK_PEERS, BLOCKED_BY, BLOCKED_EITHER_WAY, DIRECT_STATES, LIFT_REQUESTS, SENT_IN,
    SET_REQUEST, SHARED_GROUP, TRUSTS, UNBLOCK,
};

fn flag(conn: &Connection, sql: &str, a: UserId, b: UserId) -> Result<bool, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params![a.0, b.0], |r| r.get(0)))
        .map_err(other)
}

/// Whether `a` and `b` block each other, either way.
pub fn blocked_either_way(conn: &Connection, a: UserId, b: UserId) -> Result<bool, StoreError> {
    flag(conn, BLOCKED_EITHER_WAY, a, b)
}

fn member_state(
    conn: &Connection,
    conversation: ConversationId,
    user: UserId,
) -> Result<(i64, i64), StoreError> {
    conn.prepare_cached(
        "SELECT request, read_id FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![conversation.0, user.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    })
    .map_err(other)?
    .ok_or(StoreError::NotFound)
}

fn set_state(
    conn: &Connection,
    conversation: ConversationId,
    user: UserId,
    state: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(SET_REQUEST)
        .and_then(|mut s| s.execute(params![state, conversation.0, user.0]))
        .map_err(other)?;
    Ok(())
}

/// Judges a new direct message from `sender` to `recipient` in `conversation` (whose last seq
/// is `last_seq`); the plan is to be applied with `apply_direct` once it is stored.
pub fn judge_direct(
    conn: &Connection,
    sender: UserId,
    recipient: UserId,
    conversation: ConversationId,
    last_seq: i64,
    requests: bool,
) -> Result<DirectPlan, StoreError> {
    if sender == recipient {
        return Ok(DirectPlan::default());
    }
    let mut facts = DirectFacts {
        blocked: blocked_either_way(conn, sender, recipient)?,
        first: last_seq == 0,
        ..DirectFacts::default()
    };
    if requests && !facts.blocked {
        facts.sender_state = member_state(conn, conversation, sender)?.0;
        facts.recipient_state = member_state(conn, conversation, recipient)?.0;
        if facts.first || facts.recipient_state == PENDING {
            facts.shared_group = flag(conn, SHARED_GROUP, sender, recipient)?;
        }
        if facts.recipient_state == PENDING {
            facts.sent_by_sender = conn
                .prepare_cached(SENT_IN)
                .and_then(|mut s| s.query_row(params![conversation.0, sender.0], |r| r.get(0)))
                .map_err(other)?;
        }
    }
    safety::judge_direct(facts, requests)
}

/// Writes the request states a stored direct send leaves.
pub fn apply_direct(
    conn: &Connection,
    plan: DirectPlan,
    conversation: ConversationId,
    sender: UserId,
    recipient: UserId,
) -> Result<(), StoreError> {
    if let Some(state) = plan.sender_state {
        set_state(conn, conversation, sender, state)?;
    }
    if let Some(state) = plan.recipient_state {
        set_state(conn, conversation, recipient, state)?;
    }
    Ok(())
}

/// The request state each of `users` gets when `actor` adds them to a group, in order;
/// `cannot_add_user` if one blocks the actor or is blocked by them.
pub fn admit(
    conn: &Connection,
    actor: UserId,
    users: &[&User],
    requests: bool,
) -> Result<Vec<i64>, StoreError> {
    let mut states = Vec::with_capacity(users.len());
    for user in users {
        if blocked_either_way(conn, actor, user.id)? {
            return Err(safety::cannot_add(&user.username));
        }
        let trusted = !requests || flag(conn, TRUSTS, user.id, actor)?;
        states.push(safety::added_state(requests, trusted));
    }
    Ok(states)
}

/// Records the request states `admit` gave the members just added to `group`, then ends the
/// pending direct requests between each accepted one and the group's accepted members.
pub fn admitted(
    conn: &Connection,
    group: ConversationId,
    actor: UserId,
    users: &[(UserId, i64)],
) -> Result<(), StoreError> {
    for (user, state) in users {
        {
            set_state(conn, group, *user, *state)?;
        }
    }
    lift(conn, group, actor)?;
    for (user, state) in users {
        if *state == NONE {
            lift(conn, group, *user)?;
        }
    }
    Ok(())
}

fn lift(conn: &Connection, group: ConversationId, user: UserId) -> Result<(), StoreError> {
    conn.prepare_cached(LIFT_REQUESTS)
        .and_then(|mut s| s.execute(params![group.0, user.0]))
        .map_err(other)?;
    Ok(())
}

/// A group request is accepted by `user` (accept, or a send of theirs in it).
pub fn accept_group(
    conn: &Connection,
    group: ConversationId,
    user: UserId,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE conversation_members SET request = 0 WHERE conversation_id = ?1 \
             AND user_id = ?2 AND request = ?3 AND left_id IS NULL",
        )
        .and_then(|mut s| s.execute(params![group.0, user.0, GROUP_PENDING]))
        .map_err(other)?;
    if changed > 0 {
        lift(conn, group, user)?;
    }
    Ok(())
}

/// A group request left by `user` is declined.
pub fn left_group(
    conn: &Connection,
    group: ConversationId,
    user: UserId,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE conversation_members SET request = ?1 WHERE conversation_id = ?2 \
         AND user_id = ?3 AND request = ?4",
    )
    .and_then(|mut s| s.execute(params![GROUP_DECLINED, group.0, user.0, GROUP_PENDING]))
    .map_err(other)?;
    Ok(())
}

/// `(conversation, request of a, request of b, has a message)` of `a` and `b`'s direct
/// conversation.
fn direct_states(
    conn: &Connection,
    a: UserId,
    b: UserId,
) -> Result<Option<(ConversationId, i64, i64, bool)>, StoreError> {
    conn.prepare_cached(DIRECT_STATES)
        .and_then(|mut s| {
            s.query_row(params![a.0, b.0], |r| {
                Ok((ConversationId(r.get(0)?), r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .map_err(other)
}

/// `user` accepts `other`'s request; the withheld read receipts go to `other` as one event.
pub fn accept_request(
    conn: &Connection,
    user: &User,
    other_id: UserId,
    at: Timestamp,
) -> Result<Vec<UserEvent>, StoreError> {
    let Some((conversation, state, _, _)) = direct_states(conn, user.id, other_id)? else {
        return Ok(Vec::new());
    };
    if state != PENDING {
        return Ok(Vec::new());
    }
    let (_, read) = member_state(conn, conversation, user.id)?;
    set_state(conn, conversation, user.id, NONE)?;
    let ids: Vec<MessageId> = conn
        .prepare_cached(
            "SELECT id FROM messages WHERE conversation_id = ?1 AND sender_id = ?2 \
             AND kind = 0 AND id <= ?3 ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map(params![conversation.0, other_id.0, read], |r| {
                Ok(MessageId(r.get(0)?))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(other)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let data = StatusData {
        conversation_id: conversation,
        message_ids: ids,
        up_to_id: MessageId(read),
        status: MessageStatus::Read,
        by: user.username.clone(),
        all: true,
        at: at.millis(),
    };
    let cursor = append_event(conn, other_id, KIND_STATUS, None, Some(&data.encode()?), at)?;
    Ok(vec![UserEvent {
        user: other_id,
        event: data.event(cursor),
    }])
}

/// `user` declines `other`'s pending request.
pub fn decline_request(
    conn: &Connection,
    user: UserId,
    other_id: UserId,
) -> Result<(), StoreError> {
    if let Some((conversation, PENDING, _, _)) = direct_states(conn, user, other_id)? {
        set_state(conn, conversation, user, DECLINED)?;
    }
    Ok(())
}

/// Whether `from`'s typing may reach `to` (see `Store::typing_allowed`).
pub fn typing_allowed(conn: &Connection, from: UserId, to: UserId) -> Result<bool, StoreError> {
    let Some((_, mine, theirs, has_message)) = direct_states(conn, from, to)? else {
        return Ok(false);
    };
    Ok(has_message && mine == NONE && theirs != DECLINED && !blocked_either_way(conn, from, to)?)
}

pub fn block(
    conn: &Connection,
    blocker: UserId,
    blocked: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(BLOCK)
        .and_then(|mut s| s.execute(params![blocker.0, blocked.0, at.millis()]))
        .map_err(other)?;
    Ok(())
}

pub fn unblock(conn: &Connection, blocker: UserId, blocked: UserId) -> Result<(), StoreError> {
    conn.prepare_cached(UNBLOCK)
        .and_then(|mut s| s.execute(params![blocker.0, blocked.0]))
        .map_err(other)?;
    Ok(())
}

pub fn blocked_users(conn: &Connection, user: UserId) -> Result<Vec<User>, StoreError> {
    conn.prepare_cached(BLOCKED_BY)
        .and_then(|mut s| {
            s.query_map([user.0], |r| user_from_row(r, 0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(other)
}

pub fn block_peers(conn: &Connection, user: UserId) -> Result<Vec<UserId>, StoreError> {
    conn.prepare_cached(BLOCK_PEERS)
        .and_then(|mut s| {
            s.query_map([user.0], |r| Ok(UserId(r.get(0)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(other)
}

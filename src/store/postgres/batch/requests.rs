//! Blocks and message requests in a batch (`store::safety` decides; `postgres::safety` holds
//! the statements every other write shares): the batch's direct sends judged once their
//! conversations are locked, in batch order, so a batch's own earlier sends count; the states
//! they leave written with the messages; and which readers' read receipts are withheld.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgConnection;

use crate::domain::ids::{ConversationId, UserId};
use crate::store::postgres::failure;
use crate::store::postgres::safety::{flag, lift, set_state};
use crate::store::safety::{self, DirectFacts, DirectPlan, GROUP_PENDING, NONE, PENDING};
use crate::store::statements::{SENT_IN, SHARED_GROUP};
use crate::store::{Destination, SendRequest, StoreError};

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

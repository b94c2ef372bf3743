//! The sends of a batch: idempotency on `(sender, client_id)`, the direct conversations, and
//! each new message's seq and id.
//!
//! Sends already stored are found first, with one query, and answered from the stored row (the
//! same message, or `Conflict` for another body); a `client_id` repeated inside the batch is
//! answered with the message its first occurrence creates. The rest are inserted together
//! after locking their conversations in ascending id order: seqs continue from each
//! conversation's newest message, and ids are drawn only once those locks are held and handed out in batch order,
//! so within a conversation a later commit always has the larger id. If a concurrent
//! transaction committed one of the same `(sender, client_id)` meanwhile, the insert skips it
//! and the batch fails as `Retryable` instead of leaving a gap in seq; the writer runs it
//! again, and the first query then finds that message. Conversations that do not exist yet are
//! created first, in ascending order of their user pair, before any row is locked.

use std::collections::{BTreeMap, HashMap};

use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::audience::audiences;
use super::requests;
use super::{Written, lock_then_read};
use crate::domain::Message;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::message::Quote;
use crate::store::postgres::conversations::open_direct_conversation;
use crate::store::postgres::failure;
use crate::store::postgres::marks::show;
use crate::store::postgres::messages::{MESSAGE_COLUMNS, PARTIES_JOINS, message_from_row};
use crate::store::postgres::replies::{blind_to, reply_target};
use crate::store::postgres::uploads::{self, attachable, record_attachments};
use crate::store::records::{Stored, for_sender, invalid_reply_to, new_message};
use crate::store::{Destination, SendRequest, Sent, StoreError};

/// What becomes of one send of the batch.
// One per send of a batch, gone when the batch ends.
#[allow(clippy::large_enum_variant)]
enum Plan {
    /// Decided without writing: a stored message's answer, or its conflict.
    Decided(Result<Written, StoreError>),
    /// A new message, stored by this batch.
    New,
    /// The same `(sender, client_id)` as the new message of an earlier send of the batch.
    SameAs(usize),
}

/// Stores the batch's sends; one answer per request, in order. The conversations of
/// `also_lock` are locked with the sends' own, in one ascending order.
pub(super) async fn store(
    conn: &mut PgConnection,
    requests: &[&SendRequest],
    also_lock: &[ConversationId],
) -> Result<Vec<Result<Written, StoreError>>, StoreError> {
    if requests.is_empty() {
        if !also_lock.is_empty() {
            lock_conversations(conn, also_lock).await?;
        }
        return Ok(Vec::new());
    }
    let stored = stored_messages(conn, requests).await?;
    let mut first_new: HashMap<(i64, &str), usize> = HashMap::new();
    let mut plans = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let key = (request.sender.id.0, request.client_id.as_str());
        let known = stored.get(&(key.0, key.1.to_owned()));
        plans.push(if let Some(message) = known {
            Plan::Decided(existing_answer(request, message.clone()).map(Written::Answered))
        } else if let Some(first) = first_new.get(&key) {
            Plan::SameAs(*first)
        } else {
            first_new.insert(key, index);
            Plan::New
        });
    }
    let fresh: Vec<&SendRequest> = requests
        .iter()
        .zip(&plans)
        .filter(|(_, plan)| matches!(plan, Plan::New))
        .map(|(request, _)| *request)
        .collect();
    let mut created: HashMap<usize, Result<Written, StoreError>> = HashMap::new();
    let positions = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p, Plan::New));
    for ((index, _), written) in positions.zip(insert(conn, &fresh, also_lock).await?) {
        created.insert(index, written);
    }
    let mut answers = Vec::with_capacity(requests.len());
    for ((index, request), plan) in requests.iter().enumerate().zip(plans) {
        let take = |at: usize, first: bool| match created.get(&at) {
            Some(Ok(Written::Created {
                message,
                own,
                users,
                blind,
            })) => {
                if first {
                    Ok(Written::Created {
                        message: message.clone(),
                        own: own.clone(),
                        users: users.clone(),
                        blind: blind.clone(),
                    })
                } else {
                    existing_answer(request, own.clone()).map(Written::Answered)
                }
            }
            Some(Err(err)) => Err(err.clone()),
            _ => Err(StoreError::Other("a new message went missing".into())),
        };
        answers.push(match plan {
            Plan::Decided(answer) => answer,
            Plan::New => take(index, true),
            Plan::SameAs(first) => take(first, false),
        });
    }
    Ok(answers)
}

/// Answers a send whose `(sender, client_id)` is already stored: the same message, or conflict.
fn existing_answer(req: &SendRequest, message: Message) -> Result<Sent, StoreError> {
    let same_place = match &req.to {
        Destination::Direct(to) => message.recipient.as_deref() == Some(to.username.as_str()),
        Destination::Group(group) => message.conversation_id == *group,
    };
    let stored = Stored {
        body: message.body.clone(),
        reply_to: message.reply_to_id,
        attachments: message.attachments.iter().map(|a| a.id.clone()).collect(),
        deleted: message.deleted,
    };
    if !same_place || !stored.same_as(req) {
        return Err(StoreError::Conflict(req.client_id.as_str().to_owned()));
    }
    Ok(Sent {
        message,
        created: false,
        events: Vec::new(),
    })
}

/// The messages already stored under the requests' `(sender, client_id)`, by that pair, as
/// their senders see them.
///
/// Each pair is looked up on its own through the unique index (a `LATERAL` subquery, kept
/// apart from the join by its `LIMIT`). As a plain join, the plan PostgreSQL caches for the
/// statement while `messages` has no statistics yet (a new database) hashed the pairs and
/// scanned the whole table, in every batch, until autovacuum first analysed it: 45 % of all
/// statement time in a 5 s run at 50 × 8, and growing with the table.
async fn stored_messages(
    conn: &mut PgConnection,
    requests: &[&SendRequest],
) -> Result<HashMap<(i64, String), Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, m.sender_id FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS k(sender, client) \
         CROSS JOIN LATERAL (SELECT * FROM messages \
         WHERE sender_id = k.sender AND client_id = k.client LIMIT 1) m \
         {PARTIES_JOINS}"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(requests.iter().map(|r| r.sender.id.0).collect::<Vec<_>>())
        .bind(
            requests
                .iter()
                .map(|r| r.client_id.as_str())
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in &rows {
        let mut message = message_from_row(row).map_err(failure)?;
        let sender: i64 = row.try_get("sender_id").map_err(failure)?;
        show(&mut *conn, UserId(sender), [&mut message]).await?;
        let client_id = message.client_id.clone().unwrap_or_default();
        stored.insert((sender, client_id), message);
    }
    Ok(stored)
}

/// Inserts new messages (every `(sender, client_id)` distinct and not yet stored), in order;
/// a group send its sender may not make fails alone, before any id is drawn.
async fn insert(
    conn: &mut PgConnection,
    requests: &[&SendRequest],
    also_lock: &[ConversationId],
) -> Result<Vec<Result<Written, StoreError>>, StoreError> {
    if requests.is_empty() {
        if !also_lock.is_empty() {
            lock_conversations(conn, also_lock).await?;
        }
        return Ok(Vec::new());
    }
    let conversations = conversations(conn, requests).await?;
    let mut locked: Vec<ConversationId> = conversations.iter().flatten().copied().collect();
    locked.extend_from_slice(also_lock);
    let mut last_seq = lock_conversations(conn, &locked).await?;
    let mut audiences = audiences(conn, requests, &conversations).await?;
    let quotes = quotes(conn, requests, &conversations, &mut audiences).await?;
    for (request, audience) in requests.iter().zip(audiences.iter_mut()) {
        if audience.is_ok() && !request.attachments.is_empty() {
            let sender = request.sender.id;
            if let Err(refused) = attachable(conn, sender, &request.attachments, request.at).await?
            {
                *audience = Err(refused);
            }
        }
    }
    let planned =
        requests::judge_batch(conn, requests, &conversations, &last_seq, &mut audiences).await?;
    let going: Vec<usize> = (0..requests.len())
        .filter(|i| audiences[*i].is_ok())
        .collect();
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('messages', 'id')) FROM generate_series(1, $1)",
    )
    .bind(going.len() as i64)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    ids.sort_unstable();
    let mut messages = Vec::with_capacity(going.len());
    for (index, id) in going.iter().zip(&ids) {
        let conversation = conversations[*index].as_ref().map_err(Clone::clone)?;
        let seq = last_seq
            .get_mut(conversation)
            .ok_or_else(|| StoreError::Other("conversation not locked".into()))?;
        *seq += 1;
        messages.push(new_message(
            requests[*index],
            MessageId(*id),
            *seq,
            *conversation,
            quotes[*index].as_ref().map(|(quote, _)| quote.clone()),
        ));
    }
    let sending: Vec<&SendRequest> = going.iter().map(|i| requests[*i]).collect();
    let inserted = sqlx::query(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, recipient_id, client_id, body, created_at, \
         reply_to_id) SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[], \
         $6::TEXT[], $7::TEXT[], $8::BIGINT[], $9::BIGINT[]) ON CONFLICT (sender_id, client_id) DO NOTHING",
    )
    .bind(messages.iter().map(|m| m.id.0).collect::<Vec<_>>())
    .bind(messages.iter().map(|m| m.conversation_id.0).collect::<Vec<_>>())
    .bind(messages.iter().map(|m| m.seq).collect::<Vec<_>>())
    .bind(sending.iter().map(|r| r.sender.id.0).collect::<Vec<_>>())
    .bind(
        sending
            .iter()
            .map(|r| r.recipient().map(|u| u.id.0))
            .collect::<Vec<_>>(),
    )
    .bind(sending.iter().map(|r| r.client_id.as_str()).collect::<Vec<_>>())
    .bind(sending.iter().map(|r| r.body.as_str()).collect::<Vec<_>>())
    .bind(sending.iter().map(|r| r.at.millis()).collect::<Vec<_>>())
    .bind(
        sending
            .iter()
            .map(|r| r.reply_to.map(|q| q.0))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    if inserted.rows_affected() != messages.len() as u64 {
        return Err(StoreError::Retryable(
            "a concurrent send stored one of the batch's client ids".into(),
        ));
    }
    let group_sends = sending
        .iter()
        .filter_map(|r| match r.to {
            Destination::Group(group) => Some((group, r.sender.id)),
            Destination::Direct(_) => None,
        })
        .collect();
    requests::apply_batch(conn, planned, group_sends).await?;
    for (message, request) in messages.iter_mut().zip(&sending) {
        if !request.attachments.is_empty() {
            record_attachments(conn, message.id, &request.attachments).await?;
            uploads::attach(conn, &mut [message]).await?;
        }
    }
    let mut messages = messages.into_iter();
    let mut written = Vec::with_capacity(requests.len());
    for ((request, audience), quote) in requests.iter().zip(audiences).zip(quotes) {
        written.push(match audience {
            Err(err) => Err(err),
            Ok(users) => {
                let message = messages
                    .next()
                    .ok_or_else(|| StoreError::Other("a new message went missing".into()))?;
                let own = for_sender(&message, &request.to, users.len());
                Ok(Written::Created {
                    message,
                    own,
                    users,
                    blind: quote.map(|(_, blind)| blind).unwrap_or_default(),
                })
            }
        });
    }
    Ok(written)
}

/// The quote each reply of the batch carries and the members of its audience who cannot see
/// the quoted message, read once the conversations are locked; a reply to a message it may
/// not reply to fails alone (`invalid_reply_to`), before any id is drawn.
async fn quotes(
    conn: &mut PgConnection,
    requests: &[&SendRequest],
    conversations: &[Result<ConversationId, StoreError>],
    audiences: &mut [Result<Vec<UserId>, StoreError>],
) -> Result<Vec<Option<(Quote, Vec<UserId>)>>, StoreError> {
    let mut quotes = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let (Some(reply_to), Ok(conversation), Ok(users)) =
            (request.reply_to, &conversations[index], &audiences[index])
        else {
            quotes.push(None);
            continue;
        };
        match reply_target(conn, reply_to, *conversation, request.sender.id).await? {
            Some(quote) => {
                let blind = match request.to {
                    Destination::Group(_) => blind_to(conn, *conversation, reply_to, users).await?,
                    Destination::Direct(_) => Vec::new(),
                };
                quotes.push(Some((quote, blind)));
            }
            None => {
                audiences[index] = Err(invalid_reply_to(reply_to));
                quotes.push(None);
            }
        }
    }
    Ok(quotes)
}

/// Each request's conversation: a direct one, created if needed (before any row is locked),
/// or the group it names, `NotFound` alone if no group has that id.
async fn conversations(
    conn: &mut PgConnection,
    requests: &[&SendRequest],
) -> Result<Vec<Result<ConversationId, StoreError>>, StoreError> {
    let pair = |r: &SendRequest| {
        r.recipient().map(|to| {
            let (a, b) = (r.sender.id.0, to.id.0);
            (a.min(b), a.max(b))
        })
    };
    let (lows, highs): (Vec<i64>, Vec<i64>) = requests.iter().filter_map(|r| pair(r)).unzip();
    let rows = sqlx::query(
        "SELECT d.user_low, d.user_high, d.conversation_id FROM direct_conversations d \
         JOIN UNNEST($1::BIGINT[], $2::BIGINT[]) AS p(low, high) \
         ON d.user_low = p.low AND d.user_high = p.high",
    )
    .bind(&lows)
    .bind(&highs)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    let mut known: HashMap<(i64, i64), ConversationId> = HashMap::new();
    for row in rows {
        let low: i64 = row.try_get("user_low").map_err(failure)?;
        let high: i64 = row.try_get("user_high").map_err(failure)?;
        let id: i64 = row.try_get("conversation_id").map_err(failure)?;
        known.insert((low, high), ConversationId(id));
    }
    // Missing ones are created in ascending pair order, so that two batches creating the same
    // conversations never wait on each other's unique-index entries in a cycle.
    let mut missing: BTreeMap<(i64, i64), &SendRequest> = BTreeMap::new();
    for request in requests {
        if let Some(pair) = pair(request).filter(|p| !known.contains_key(p)) {
            missing.entry(pair).or_insert(request);
        }
    }
    for ((low, high), request) in missing {
        let id = open_direct_conversation(conn, UserId(low), UserId(high), request.at).await?;
        known.insert((low, high), id);
    }
    let named: Vec<i64> = requests
        .iter()
        .filter_map(|r| match r.to {
            Destination::Group(id) => Some(id.0),
            Destination::Direct(_) => None,
        })
        .collect();
    let groups: Vec<i64> = if named.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar("SELECT id FROM conversations WHERE id = ANY($1) AND kind = 'group'")
            .bind(&named)
            .fetch_all(&mut *conn)
            .await
            .map_err(failure)?
    };
    Ok(requests
        .iter()
        .map(|request| match &request.to {
            Destination::Group(id) if groups.contains(&id.0) => Ok(*id),
            Destination::Group(_) => Err(StoreError::NotFound),
            Destination::Direct(_) => pair(request)
                .and_then(|p| known.get(&p).copied())
                .ok_or_else(|| StoreError::Other("a conversation went missing".into())),
        })
        .collect())
}

/// Locks the conversations' rows in ascending id order; returns each one's last seq.
async fn lock_conversations(
    conn: &mut PgConnection,
    conversations: &[ConversationId],
) -> Result<BTreeMap<ConversationId, i64>, StoreError> {
    let mut ids: Vec<i64> = conversations.iter().map(|c| c.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let last = lock_then_read(
        conn,
        "SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        "SELECT t.id, COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conversation_id = t.id), 0) \
         FROM UNNEST($1::BIGINT[]) AS t(id)",
        &ids,
    )
    .await?;
    let last_seq = last
        .into_iter()
        .map(|(id, seq)| (ConversationId(id), seq))
        .collect();
    Ok(last_seq)
}

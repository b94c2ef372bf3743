//! One transaction for many writes: what the PostgreSQL writer commits as a group.
//!
//! A batch holds sends and status changes from many callers. It is applied with a fixed
//! handful of set-based statements whatever its size, in three phases, each locking its rows
//! in ascending order and always in this order: conversations (`sends`: seqs and message ids;
//! also the groups that receipts name), members (`statuses`: forward-only watermarks), users
//! (here: everyone's cursors, then the events). Two batches, on this node or another, therefore never wait on each other in a
//! cycle; the one exception, two nodes storing the same `(sender, client_id)` at once, ends in
//! a deadlock or a missed insert, both `Retryable`, that the writer answers by running the
//! batch again.
//!
//! Whatever makes a single job fail (a `client_id` taken with another body, a message that is
//! not the reader's) is found before anything is written, so that job fails alone, leaves no
//! trace, and the rest of the batch commits.

mod audience;
mod members;
mod requests;
mod sends;
pub(super) mod statuses;

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgConnection;

use super::events::{EventRow, insert_events};
use super::failure;
use crate::domain::Message;
use crate::domain::event::{Event, UserEvent};
use crate::domain::ids::{Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::changes;
use crate::store::records::{
    KIND_MESSAGE, KIND_REACTION, KIND_STATUS, KIND_UPDATED, ReactionData, StatusGroup,
};
use crate::store::{SendRequest, Sent, StatusChange, StatusOutcome, StoreError};

/// One job of a batch.
#[derive(Clone, Copy)]
pub(super) enum Item<'a> {
    Send(&'a SendRequest),
    Status(&'a StatusChange),
}

/// The answer to one job of a batch, valid once the batch has committed.
// One per job of a batch, gone when the batch ends.
#[allow(clippy::large_enum_variant)]
pub(super) enum Outcome {
    Send(Result<Sent, StoreError>),
    Status(Result<StatusOutcome, StoreError>),
}

/// What a job wrote, before its events have cursors.
// One per job of a batch, gone when the batch ends.
#[allow(clippy::large_enum_variant)]
pub(in crate::store::postgres) enum Written {
    /// A new message: as its recipients see it, as its sender does, everyone who gets an
    /// event (ascending), and those of them who cannot see the message it replies to.
    Created {
        message: Message,
        own: Message,
        users: Vec<UserId>,
        blind: Vec<UserId>,
    },
    /// A send already stored (an idempotent retry): nothing written, nothing to publish.
    Answered(Sent),
    /// Receipts moved forward, with the status events they record.
    Moved {
        updated: Vec<MessageId>,
        up_to: Option<MessageId>,
        groups: Vec<StatusGroup>,
        at: Timestamp,
    },
}

/// Applies every job of the batch inside the open transaction `conn`; one answer per job, in
/// order. An `Err` means the whole batch must be rolled back (and perhaps run again).
pub(super) async fn apply(
    conn: &mut PgConnection,
    items: &[Item<'_>],
) -> Result<Vec<Outcome>, StoreError> {
    let (mut requests, mut changes): (Vec<&SendRequest>, Vec<&StatusChange>) = Default::default();
    for item in items {
        match item {
            Item::Send(request) => requests.push(*request),
            Item::Status(change) => changes.push(*change),
        }
    }
    let resolved = statuses::resolve(conn, &changes).await?;
    let mut stored = sends::store(conn, &requests, &resolved.groups())
        .await?
        .into_iter();
    let mut moved = statuses::advance(conn, &changes, resolved)
        .await?
        .into_iter();
    let mut written = Vec::with_capacity(items.len());
    for item in items {
        let next = match item {
            Item::Send(_) => stored.next(),
            Item::Status(_) => moved.next(),
        };
        written.push(next.ok_or_else(|| StoreError::Other("a batch job went unanswered".into()))?);
    }
    record(conn, items, written).await
}

/// Takes every user's cursors for the batch's events, inserts the events, and turns what each
/// job wrote into its answer.
async fn record(
    conn: &mut PgConnection,
    items: &[Item<'_>],
    written: Vec<Result<Written, StoreError>>,
) -> Result<Vec<Outcome>, StoreError> {
    let mut concerned: BTreeSet<UserId> = BTreeSet::new();
    for done in written.iter().flatten() {
        match done {
            Written::Created { users, .. } => concerned.extend(users),
            Written::Answered(_) => {}
            Written::Moved { groups, .. } => {
                concerned.extend(groups.iter().flat_map(|g| &g.users));
            }
        }
    }
    let mut cursors = Cursors(take_cursors(conn, &concerned).await?);
    let mut rows = Vec::new();
    let mut outcomes = Vec::with_capacity(items.len());
    for (item, done) in items.iter().zip(written) {
        outcomes.push(match done {
            Err(err) => match item {
                Item::Send(_) => Outcome::Send(Err(err)),
                Item::Status(_) => Outcome::Status(Err(err)),
            },
            Ok(Written::Answered(sent)) => Outcome::Send(Ok(sent)),
            Ok(Written::Created {
                message,
                own,
                users,
                blind,
            }) => {
                let sender = match item {
                    Item::Send(request) => request.sender.id,
                    Item::Status(change) => change.reader.id,
                };
                let mut events =
                    message_events(&message, &own, sender, users, &mut cursors, &mut rows)?;
                for event in events.iter_mut().filter(|e| blind.contains(&e.user)) {
                    if let Event::Message { message, .. } = &mut event.event {
                        message.reply_to = None;
                    }
                }
                Outcome::Send(Ok(Sent {
                    message: own,
                    created: true,
                    events,
                }))
            }
            Ok(Written::Moved {
                updated,
                up_to,
                groups,
                at,
            }) => {
                let events = status_events(groups, at, &mut cursors, &mut rows)?;
                Outcome::Status(Ok(StatusOutcome {
                    updated,
                    up_to,
                    events,
                }))
            }
        });
    }
    if !rows.is_empty() {
        insert_events(conn, &rows).await?;
    }
    Ok(outcomes)
}

/// Records the events of a status change made outside a batch (read-up-to) exactly as a batch
/// does: cursors taken with the users locked in ascending order, events inserted in one step.
pub(super) async fn record_moved(
    conn: &mut PgConnection,
    updated: Vec<MessageId>,
    up_to: Option<MessageId>,
    groups: Vec<StatusGroup>,
    at: Timestamp,
) -> Result<StatusOutcome, StoreError> {
    let concerned: BTreeSet<UserId> = groups
        .iter()
        .flat_map(|g| g.users.iter().copied())
        .collect();
    let mut cursors = Cursors(take_cursors(conn, &concerned).await?);
    let mut rows = Vec::new();
    let events = status_events(groups, at, &mut cursors, &mut rows)?;
    if !rows.is_empty() {
        insert_events(conn, &rows).await?;
    }
    Ok(StatusOutcome {
        updated,
        up_to,
        events,
    })
}

/// Records the events of a group change made outside a batch (its system messages, each to its
/// audience, then the status events its exits complete) exactly as a batch does.
pub(in crate::store::postgres) async fn record_group_events(
    conn: &mut PgConnection,
    messages: &[(Message, Vec<UserId>)],
    statuses: Vec<StatusGroup>,
    at: Timestamp,
) -> Result<Vec<UserEvent>, StoreError> {
    let mut concerned: BTreeSet<UserId> = BTreeSet::new();
    for (_, users) in messages {
        concerned.extend(users);
    }
    concerned.extend(statuses.iter().flat_map(|g| g.users.iter().copied()));
    let mut cursors = Cursors(take_cursors(conn, &concerned).await?);
    let mut rows = Vec::new();
    let mut events = Vec::new();
    for (message, users) in messages {
        events.extend(message_events(
            message,
            message,
            UserId(0),
            users.clone(),
            &mut cursors,
            &mut rows,
        )?);
    }
    events.extend(status_events(statuses, at, &mut cursors, &mut rows)?);
    if !rows.is_empty() {
        insert_events(conn, &rows).await?;
    }
    Ok(events)
}

/// Records the events of a change to a sent message (each watcher's view of it, or the one
/// reaction event) exactly as a batch does.
pub(in crate::store::postgres) async fn record_change_events(
    conn: &mut PgConnection,
    message: MessageId,
    views: Vec<(UserId, Message)>,
    reaction: Option<&ReactionData>,
    at: Timestamp,
) -> Result<Vec<UserEvent>, StoreError> {
    let concerned: BTreeSet<UserId> = views.iter().map(|(user, _)| *user).collect();
    let mut cursors = Cursors(take_cursors(conn, &concerned).await?);
    let data = reaction.map(ReactionData::encode).transpose()?;
    let mut rows = Vec::with_capacity(views.len());
    let mut events = Vec::with_capacity(views.len());
    for (user, seen) in views {
        let cursor = cursors.take(user)?;
        rows.push(EventRow {
            user,
            cursor,
            kind: if reaction.is_some() {
                KIND_REACTION
            } else {
                KIND_UPDATED
            },
            message: reaction.is_none().then_some(message),
            data: data.clone(),
            at,
        });
        events.push(UserEvent {
            user,
            event: changes::event(reaction, seen, cursor),
        });
    }
    if !rows.is_empty() {
        insert_events(conn, &rows).await?;
    }
    Ok(events)
}

/// Each user's next cursor, handed out in order.
struct Cursors(BTreeMap<UserId, Cursor>);

impl Cursors {
    fn take(&mut self, user: UserId) -> Result<Cursor, StoreError> {
        let slot = self
            .0
            .get_mut(&user)
            .ok_or_else(|| StoreError::Other("cursor not taken".into()))?;
        let cursor = *slot;
        *slot = Cursor(cursor.0 + 1);
        Ok(cursor)
    }
}

/// The events of a new message, one per member (the sender's carries `own`), with their rows.
fn message_events(
    message: &Message,
    own: &Message,
    sender: UserId,
    users: Vec<UserId>,
    cursors: &mut Cursors,
    rows: &mut Vec<EventRow>,
) -> Result<Vec<UserEvent>, StoreError> {
    let mut events = Vec::with_capacity(users.len());
    for user in users {
        let cursor = cursors.take(user)?;
        rows.push(EventRow {
            user,
            cursor,
            kind: KIND_MESSAGE,
            message: Some(message.id),
            data: None,
            at: message.created_at,
        });
        let event = Event::Message {
            cursor,
            message: if user == sender { own } else { message }.clone(),
        };
        events.push(UserEvent { user, event });
    }
    Ok(events)
}

/// The events of a status change, each to the users `receipts::route` chose.
fn status_events(
    groups: Vec<StatusGroup>,
    at: Timestamp,
    cursors: &mut Cursors,
    rows: &mut Vec<EventRow>,
) -> Result<Vec<UserEvent>, StoreError> {
    let mut events = Vec::new();
    for group in groups {
        let data = group.data.encode()?;
        for user in group.users {
            let cursor = cursors.take(user)?;
            rows.push(EventRow {
                user,
                cursor,
                kind: KIND_STATUS,
                message: None,
                data: Some(data.clone()),
                at,
            });
            events.push(UserEvent {
                user,
                event: group.data.event(cursor),
            });
        }
    }
    Ok(events)
}

/// Locks the users' rows in ascending id order and returns each one's next cursor, from their
/// newest event; the caller hands out consecutive cursors from there (`Cursors`) and inserts
/// those events before the transaction ends and the locks are released.
async fn take_cursors(
    conn: &mut PgConnection,
    users: &BTreeSet<UserId>,
) -> Result<BTreeMap<UserId, Cursor>, StoreError> {
    if users.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let last = lock_then_read(
        conn,
        "SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        "SELECT t.id, COALESCE((SELECT MAX(e.cursor) FROM events e WHERE e.user_id = t.id), 0) \
         FROM UNNEST($1::BIGINT[]) AS t(id)",
        &ids,
    )
    .await?;
    let first = last
        .into_iter()
        .map(|(user, last)| (UserId(user), Cursor(last + 1)))
        .collect();
    Ok(first)
}

/// Locks rows with `locking` (`SELECT id … WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`,
/// so that two transactions never wait on each other in a cycle), then runs `newest` (one
/// `(id, value)` row per id of `$1`); `NotFound` if a row is missing. Under READ COMMITTED the
/// second statement sees whatever the previous holders of the locks committed.
pub(super) async fn lock_then_read(
    conn: &mut PgConnection,
    locking: &'static str,
    newest: &'static str,
    ids: &[i64],
) -> Result<BTreeMap<i64, i64>, StoreError> {
    let locked = sqlx::query(locking)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    if locked.len() != ids.len() {
        return Err(StoreError::NotFound);
    }
    let rows: Vec<(i64, i64)> = sqlx::query_as(newest)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    Ok(rows.into_iter().collect())
}

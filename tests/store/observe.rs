//! What stories look at after acting, built only from `calls`: a user's stream reduced to
//! what a rule is about (cursors, message ids, status events), a message's status as history
//! shows it, and a snapshot of everything a refused write must leave as it was.

use crate::calls::*;

/// The cursors of a run of events, in order.
pub fn cursors(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.cursor().0).collect()
}

/// The ids of the messages that `message` events carry, in order.
pub fn message_ids(events: &[Event]) -> Vec<MessageId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message { message, .. } => Some(message.id),
            _ => None,
        })
        .collect()
}

/// A status event reduced to (messages, status, by).
pub type StatusMove = (Vec<MessageId>, MessageStatus, String);

/// The status events of a run of events, in order.
pub fn status_moves(events: &[Event]) -> Vec<StatusMove> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Status {
                message_ids,
                status,
                by,
                ..
            } => Some((message_ids.clone(), *status, by.clone())),
            _ => None,
        })
        .collect()
}

/// The status of each message of the conversation of `me` with `other`, ascending by id.
pub async fn statuses(
    store: &dyn Store,
    me: &User,
    other: &User,
) -> Vec<(MessageId, MessageStatus)> {
    let messages = whole_history(store, me, other).await;
    messages
        .into_iter()
        .filter_map(|m| m.status.map(|status| (m.id, status)))
        .collect()
}

/// The status of one message of the conversation of `me` with `other`.
pub async fn status_of(store: &dyn Store, me: &User, other: &User, id: MessageId) -> MessageStatus {
    let all = statuses(store, me, other).await;
    let found = all.into_iter().find(|(m, _)| *m == id);
    found.expect("the message is in the conversation").1
}

/// Every user's stream and the statuses of every conversation among them: what a refused
/// write must not change.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    streams: Vec<Vec<Event>>,
    statuses: Vec<Vec<(MessageId, MessageStatus)>>,
}

pub async fn snapshot(store: &dyn Store, people: &[&User]) -> Snapshot {
    let mut streams = Vec::new();
    let mut all_statuses = Vec::new();
    for (i, me) in people.iter().enumerate() {
        streams.push(all_events(store, me).await);
        for other in &people[i + 1..] {
            all_statuses.push(statuses(store, me, other).await);
        }
    }
    Snapshot {
        streams,
        statuses: all_statuses,
    }
}

//! What travels on the bus channel, and what a node does with what it hears.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::delivery::Hub;
use crate::delivery::Push;
use crate::domain::event::{Ephemeral, Event, UserEvent};
use crate::domain::ids::{Cursor, UserId};

#[derive(Debug, Serialize, Deserialize)]
pub enum Body {
    /// Stored events, each distinct one once with everyone it goes to (`share`): a group
    /// message crosses the channel once, not once per member.
    Events(Vec<Shared>),
    Signal {
        users: Vec<UserId>,
        signal: Ephemeral,
    },
    Revoke(Vec<u8>),
    /// Something may have been lost: every node's sockets catch up from the store.
    Resync,
    /// Close every socket of this user (suspended or deleted: v2 safety).
    CloseUser(UserId),
}

/// One event as it travels: the event (its cursor left at 0) and each user it goes to with
/// their cursor for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    pub event: Event,
    pub to: Vec<(UserId, Cursor)>,
}

/// Folds runs of the same event in several users' streams into one `Shared` each.
pub fn share(events: Vec<UserEvent>) -> Vec<Shared> {
    let mut shared: Vec<Shared> = Vec::new();
    for UserEvent { user, event } in events {
        let cursor = event.cursor();
        let bare = event.at(Cursor(0));
        match shared.last_mut() {
            Some(last) if last.event == bare => last.to.push((user, cursor)),
            _ => shared.push(Shared {
                event: bare,
                to: vec![(user, cursor)],
            }),
        }
    }
    shared
}

/// A message on the channel, with the node that sent it (which ignores its own).
#[derive(Debug, Serialize, Deserialize)]
pub struct Wire {
    pub node: String,
    pub body: Body,
}

impl Wire {
    /// The encoded `Resync` from `node`.
    pub fn resync(node: &str) -> Vec<u8> {
        let wire = Wire {
            node: node.to_owned(),
            body: Body::Resync,
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

/// The largest cursor taken from the channel: 2^53 - 1, the largest integer a browser's
/// JSON holds exactly. A stream would take millennia to get there; a larger one is garbage.
const MAX_CURSOR: i64 = (1 << 53) - 1;

/// Whether a user and cursor heard on the channel can be real (cursors start at 1).
fn plausible(user: UserId, cursor: Cursor) -> bool {
    user.0 > 0 && (1..=MAX_CURSOR).contains(&cursor.0)
}

/// Delivers a message heard on the channel to this node's hub. Entries with an impossible
/// user or cursor are dropped (a socket also checks a pushed cursor against the store).
pub fn deliver(hub: &Hub, body: Body) {
    match body {
        Body::Events(shared) => {
            for Shared { event, to } in shared {
                let plausible_ones = to.into_iter().filter(|&(user, cursor)| {
                    let ok = plausible(user, cursor);
                    if !ok {
                        tracing::warn!(
                            user = user.0,
                            cursor = cursor.0,
                            "dropped a bus event with an impossible cursor"
                        );
                    }
                    ok
                });
                hub.deliver_events(plausible_ones.map(|(user, cursor)| UserEvent {
                    user,
                    event: event.at(cursor),
                }));
            }
        }
        Body::Signal { users, signal } => {
            let push = Arc::new(Push::Signal(signal));
            for user in users {
                hub.deliver(user, push.clone());
            }
        }
        Body::Revoke(credential) => hub.revoke(&credential),
        Body::Resync => hub.resync_all(),
        Body::CloseUser(user) => hub.close_user(user),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MessageStatus;
    use crate::domain::ids::{ConversationId, MessageId};
    use crate::domain::time::Timestamp;

    fn status(user: i64, cursor: i64) -> UserEvent {
        UserEvent {
            user: UserId(user),
            event: Event::Status {
                cursor: Cursor(cursor),
                conversation_id: ConversationId(1),
                message_ids: vec![MessageId(5)],
                up_to_id: MessageId(5),
                status: MessageStatus::Read,
                by: "bob".into(),
                all: true,
                at: Timestamp(9),
            },
        }
    }

    #[test]
    fn impossible_cursors_are_not_delivered() {
        let hub = Arc::new(Hub::default());
        let (mut socket, _) = hub.subscribe(UserId(1), vec![1], 8, 8).unwrap();
        for cursor in [0, -1, i64::MIN, i64::MAX, MAX_CURSOR + 1] {
            deliver(&hub, Body::Events(share(vec![status(1, cursor)])));
        }
        assert!(socket.pushes.try_recv().is_none());
        deliver(&hub, Body::Events(share(vec![status(1, 3)])));
        assert!(socket.pushes.try_recv().is_some());
    }

    #[test]
    fn one_event_for_many_streams_travels_once() {
        let shared = share(vec![status(1, 4), status(2, 7), status(3, 1)]);
        assert_eq!(shared.len(), 1);
        assert_eq!(
            shared[0].to,
            [
                (UserId(1), Cursor(4)),
                (UserId(2), Cursor(7)),
                (UserId(3), Cursor(1))
            ]
        );
        assert_eq!(shared[0].event.cursor(), Cursor(0));
    }
}

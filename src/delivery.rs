//! This process's registry of live subscribers (one per open socket), by user, and of the
//! credentials they were opened with (so a logout can close them).
//!
//! Delivery never waits: each subscriber has a bounded queue (`mailbox`) filled with
//! `try_send`. A full queue marks the subscriber as overflowed and drops it from the registry;
//! its socket closes and the client catches up from its cursor. Nothing is ever silently
//! skipped.

pub mod mailbox;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;

use crate::directory::Directory;
use crate::domain::event::UserEvent;
use crate::domain::{Ephemeral, Event, UserId};
use mailbox::mailbox;

/// What the delivery hub queues for a socket.
// A stored event is what nearly every push carries: boxing it would allocate once per push.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// A stored event, and for a message event the JSON of its message when it was made once
    /// for every member it goes to alike (`Hub::deliver_events`): only the cursor differs.
    Stored(Event, Option<Arc<str>>),
    Signal(Ephemeral),
    /// Pushes may have been lost (the bus lost its subscription): catch up from the store.
    Resync,
}

struct Entry {
    id: u64,
    queue: mailbox::Sender<Arc<Push>>,
    /// The subscriber's revocation token, so all of a user's sockets can be closed at once.
    revoked: CancellationToken,
}

/// The user has as many subscribers as they may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtCap;

/// A subscriber's id and the token that closes it when its credential is revoked.
type Revocable = (u64, CancellationToken);

/// Live subscribers by user.
#[derive(Default)]
pub struct Hub {
    /// A std mutex: held only to look up or edit the map, never across an await.
    subscribers: Mutex<HashMap<UserId, Vec<Entry>>>,
    /// Cancelled when the credential (session or token digest) is revoked.
    credentials: Mutex<HashMap<Vec<u8>, Vec<Revocable>>>,
    next_id: AtomicU64,
    /// This process's users by name, forgotten with a user whose sockets are all closed (a
    /// deleted account is renamed).
    directory: Option<Arc<Directory>>,
}

/// One subscriber's receiving end. Dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    user: UserId,
    id: u64,
    credential: Vec<u8>,
    pub pushes: mailbox::Receiver<Arc<Push>>,
    /// Cancelled when the credential the socket was opened with is revoked (logout).
    pub revoked: CancellationToken,
    /// Set once removed from the hub, so `Drop` does not remove twice.
    removed: bool,
}

impl Subscription {
    /// True once a push could not be queued: the receiver must resynchronise from the store.
    pub fn overflowed(&self) -> bool {
        self.pushes.overflowed()
    }

    pub fn user(&self) -> UserId {
        self.user
    }

    /// Unsubscribes; true if the user has no other subscriber in this process.
    pub fn finish(mut self) -> bool {
        self.removed = true;
        self.hub.remove(self.user, self.id, &self.credential)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if !self.removed {
            self.hub.remove(self.user, self.id, &self.credential);
        }
    }
}

/// Queues `push` for each of a user's subscribers; one whose queue is full is marked overflowed
/// and dropped.
fn queue(entries: &mut Vec<Entry>, push: &Arc<Push>) {
    entries.retain(|entry| entry.queue.try_send(push.clone()).is_ok());
}

impl Hub {
    /// A hub that also forgets a user from `directory` when it closes all their sockets.
    pub fn with_directory(directory: Arc<Directory>) -> Hub {
        Hub {
            directory: Some(directory),
            ..Hub::default()
        }
    }

    /// Registers a subscriber for `user`, opened with `credential`, with a queue of `capacity`,
    /// unless the user has `cap` subscribers here already: the count and the registration are
    /// one step under the map's lock, so concurrent connects cannot pass the cap together.
    /// The flag is true if it is the user's first subscriber in this process.
    pub fn subscribe(
        self: &Arc<Self>,
        user: UserId,
        credential: Vec<u8>,
        capacity: usize,
        cap: usize,
    ) -> Result<(Subscription, bool), AtCap> {
        let (queue, pushes) = mailbox(capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let revoked = CancellationToken::new();
        let mut first = false;
        if let Ok(mut map) = self.subscribers.lock() {
            let entries = map.entry(user).or_default();
            if entries.len() >= cap {
                if entries.is_empty() {
                    map.remove(&user);
                }
                return Err(AtCap);
            }
            first = entries.is_empty();
            entries.push(Entry {
                id,
                queue,
                revoked: revoked.clone(),
            });
        }
        if let Ok(mut map) = self.credentials.lock() {
            map.entry(credential.clone())
                .or_default()
                .push((id, revoked.clone()));
        }
        let subscription = Subscription {
            hub: self.clone(),
            user,
            id,
            credential,
            pushes,
            revoked,
            removed: false,
        };
        Ok((subscription, first))
    }

    /// Queues `push` for every subscriber of `user`; overflowing subscribers are dropped.
    pub fn deliver(&self, user: UserId, push: Arc<Push>) {
        let Ok(mut map) = self.subscribers.lock() else {
            return;
        };
        let Some(entries) = map.get_mut(&user) else {
            return;
        };
        queue(entries, &push);
        if entries.is_empty() {
            map.remove(&user);
        }
    }

    /// Queues each stored event for every subscriber of its user. A message event's message is
    /// serialised once for a run of events that carry it alike (a group message, one event per
    /// member), and only when someone here subscribes to one of them; the map is locked once.
    pub fn deliver_events(&self, events: impl IntoIterator<Item = UserEvent>) {
        let Ok(mut map) = self.subscribers.lock() else {
            return;
        };
        let mut last: Option<Arc<Push>> = None;
        for UserEvent { user, event } in events {
            let Some(entries) = map.get_mut(&user) else {
                continue;
            };
            let json = match (&event, last.as_deref()) {
                (
                    Event::Message { message, .. },
                    Some(Push::Stored(
                        Event::Message {
                            message: before, ..
                        },
                        json,
                    )),
                ) if message == before => json.clone(),
                (Event::Message { message, .. }, _) => {
                    serde_json::to_string(message).ok().map(Arc::from)
                }
                _ => None,
            };
            let push = Arc::new(Push::Stored(event, json));
            queue(entries, &push);
            if entries.is_empty() {
                map.remove(&user);
            }
            last = Some(push);
        }
    }

    /// Tells every subscriber here to catch up from the store (pushes may have been lost).
    pub fn resync_all(&self) {
        let push = Arc::new(Push::Resync);
        let Ok(mut map) = self.subscribers.lock() else {
            return;
        };
        for entries in map.values_mut() {
            // A subscriber that cannot take the marker is dropped: its socket closes and the
            // client catches up when it reconnects.
            queue(entries, &push);
        }
        map.retain(|_, entries| !entries.is_empty());
    }

    /// Users with at least one subscriber here, for presence refreshes.
    pub fn online_users(&self) -> Vec<UserId> {
        self.subscribers
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Closes every socket opened with `credential`.
    pub fn revoke(&self, credential: &[u8]) {
        let tokens = self
            .credentials
            .lock()
            .ok()
            .and_then(|mut map| map.remove(credential));
        for (_, token) in tokens.into_iter().flatten() {
            token.cancel();
        }
    }

    /// Closes every socket of `user` here (a suspended or deleted account).
    pub fn close_user(&self, user: UserId) {
        let tokens: Vec<CancellationToken> = self
            .subscribers
            .lock()
            .map(|map| {
                map.get(&user)
                    .map(|entries| entries.iter().map(|e| e.revoked.clone()).collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        for token in tokens {
            token.cancel();
        }
        if let Some(directory) = &self.directory {
            directory.forget_user(user);
        }
    }

    /// How many subscribers `user` has here.
    pub fn count(&self, user: UserId) -> usize {
        self.subscribers
            .lock()
            .map(|m| m.get(&user).map_or(0, Vec::len))
            .unwrap_or(0)
    }

    /// Users with at least one subscriber here.
    pub fn users(&self) -> usize {
        self.subscribers.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Open subscriptions here, all users together.
    pub fn subscriptions(&self) -> usize {
        self.subscribers
            .lock()
            .map(|m| m.values().map(Vec::len).sum())
            .unwrap_or(0)
    }

    /// Removes one subscriber; true if the user has none left here.
    fn remove(&self, user: UserId, id: u64, credential: &[u8]) -> bool {
        let mut last = true;
        if let Ok(mut map) = self.subscribers.lock()
            && let Some(entries) = map.get_mut(&user)
        {
            entries.retain(|e| e.id != id);
            last = entries.is_empty();
            if last {
                map.remove(&user);
            }
        }
        if let Ok(mut map) = self.credentials.lock()
            && let Some(tokens) = map.get_mut(credential)
        {
            tokens.retain(|(token_id, _)| *token_id != id);
            if tokens.is_empty() {
                map.remove(credential);
            }
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Ephemeral;

    fn typing() -> Arc<Push> {
        Arc::new(Push::Signal(Ephemeral::Typing {
            conversation_id: None,
            from: "bob".into(),
            active: true,
        }))
    }

    fn message_event(user: i64, cursor: i64, body: &str) -> UserEvent {
        let message = serde_json::from_value(serde_json::json!({
            "id": 7, "seq": 3, "conversation_id": 2, "kind": "text", "sender": "ann",
            "recipient": null, "client_id": "c-1", "body": body,
            "created_at": "2023-11-14T22:13:20Z", "status": "sent", "edited_at": null,
            "deleted": false, "deleted_by": null, "reply_to": null, "system": null
        }))
        .expect("a message");
        UserEvent {
            user: UserId(user),
            event: Event::Message {
                cursor: crate::domain::ids::Cursor(cursor),
                message,
            },
        }
    }

    fn stored(push: &Push) -> (&Event, Option<&Arc<str>>) {
        match push {
            Push::Stored(event, json) => (event, json.as_ref()),
            other => panic!("not a stored event: {other:?}"),
        }
    }

    #[test]
    fn a_message_alike_for_several_members_is_serialised_once_for_them() {
        let hub = Arc::new(Hub::default());
        let (mut a, _) = hub.subscribe(UserId(1), vec![1], 4, 8).unwrap();
        let (mut b, _) = hub.subscribe(UserId(2), vec![2], 4, 8).unwrap();
        let (mut c, _) = hub.subscribe(UserId(3), vec![3], 4, 8).unwrap();
        // User 9 has no socket here; user 3 sees the message otherwise (the sender's copy).
        hub.deliver_events([
            message_event(9, 5, "hi"),
            message_event(1, 10, "hi"),
            message_event(2, 20, "hi"),
            message_event(3, 30, "hi, as the sender sees it"),
        ]);
        let (a, b, c) = (
            a.pushes.try_recv().unwrap(),
            b.pushes.try_recv().unwrap(),
            c.pushes.try_recv().unwrap(),
        );
        let ((a_event, a_json), (b_event, b_json)) = (stored(&a), stored(&b));
        assert_eq!(a_event.cursor(), crate::domain::ids::Cursor(10));
        assert_eq!(b_event.cursor(), crate::domain::ids::Cursor(20));
        let (a_json, b_json) = (a_json.unwrap(), b_json.unwrap());
        assert!(Arc::ptr_eq(a_json, b_json), "one text for both");
        let Event::Message { message, .. } = a_event else {
            unreachable!()
        };
        assert_eq!(a_json.as_ref(), serde_json::to_string(message).unwrap());
        let (_, c_json) = stored(&c);
        assert!(c_json.unwrap().contains("as the sender sees it"));
    }

    #[test]
    fn delivers_to_every_subscriber_of_the_user_only() {
        let hub = Arc::new(Hub::default());
        let (mut a1, first) = hub.subscribe(UserId(1), vec![1], 4, 8).unwrap();
        assert!(first);
        let (mut a2, first) = hub.subscribe(UserId(1), vec![2], 4, 8).unwrap();
        assert!(!first);
        let (mut b, _) = hub.subscribe(UserId(2), vec![3], 4, 8).unwrap();
        hub.deliver(UserId(1), typing());
        assert!(a1.pushes.try_recv().is_some());
        assert!(a2.pushes.try_recv().is_some());
        assert!(b.pushes.try_recv().is_none());
        assert!(!a1.finish());
        assert!(a2.finish());
    }

    #[test]
    fn a_full_queue_drops_the_subscriber_and_flags_it() {
        let hub = Arc::new(Hub::default());
        let (slow, _) = hub.subscribe(UserId(1), vec![1], 1, 8).unwrap();
        hub.deliver(UserId(1), typing());
        hub.deliver(UserId(1), typing());
        assert!(slow.overflowed());
        assert_eq!(hub.count(UserId(1)), 0);
        drop(slow);
        assert_eq!(hub.users(), 0);
        assert_eq!(hub.subscriptions(), 0);
    }

    #[test]
    fn revoking_a_credential_cancels_its_sockets_only() {
        let hub = Arc::new(Hub::default());
        let (a, _) = hub.subscribe(UserId(1), vec![7], 4, 8).unwrap();
        let (b, _) = hub.subscribe(UserId(1), vec![8], 4, 8).unwrap();
        hub.revoke(&[7]);
        assert!(a.revoked.is_cancelled());
        assert!(!b.revoked.is_cancelled());
    }

    #[test]
    fn the_cap_counts_subscribers_at_registration() {
        let hub = Arc::new(Hub::default());
        let first = hub.subscribe(UserId(1), vec![1], 4, 2).unwrap();
        let second = hub.subscribe(UserId(1), vec![2], 4, 2).unwrap();
        assert_eq!(hub.subscribe(UserId(1), vec![3], 4, 2).err(), Some(AtCap));
        assert!(hub.subscribe(UserId(2), vec![4], 4, 2).is_ok());
        drop(first);
        let third = hub.subscribe(UserId(1), vec![5], 4, 2);
        assert!(third.is_ok());
        drop((second, third));
        assert_eq!(hub.count(UserId(1)), 0);
    }

    #[test]
    fn closing_a_users_sockets_forgets_their_name() {
        let directory = Arc::new(Directory::new(10));
        let user = crate::domain::User {
            id: UserId(3),
            username: "carol".into(),
            display_name: "Carol".into(),
        };
        directory.remember(&user);
        let hub = Arc::new(Hub::with_directory(directory.clone()));
        let (socket, _) = hub.subscribe(UserId(3), vec![1], 4, 2).unwrap();
        hub.close_user(UserId(3));
        assert!(socket.revoked.is_cancelled());
        let name = crate::domain::input::Username::parse("carol").unwrap();
        assert!(directory.get(&name).is_none());
    }
}

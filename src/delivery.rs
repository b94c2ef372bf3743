//! This process's registry of live subscribers (one per open socket), by user, and of the
//! credentials they were opened with (so a logout can close them).
//!
//! Delivery never waits: each subscriber has a bounded queue filled with `try_send`. A full
//! queue marks the subscriber as overflowed and drops it from the registry; its socket closes
//! and the client catches up from its cursor. Nothing is ever silently skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::directory::Directory;
use crate::domain::{Ephemeral, Event, UserId};

/// What the delivery hub queues for a socket.
// A stored event is what nearly every push carries: boxing it would allocate once per push.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    Stored(Event),
    Signal(Ephemeral),
    /// Pushes may have been lost (the bus lost its subscription): catch up from the store.
    Resync,
}

struct Entry {
    id: u64,
    queue: mpsc::Sender<Arc<Push>>,
    overflowed: Arc<AtomicBool>,
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
    pub pushes: mpsc::Receiver<Arc<Push>>,
    overflowed: Arc<AtomicBool>,
    /// Cancelled when the credential the socket was opened with is revoked (logout).
    pub revoked: CancellationToken,
    /// Set once removed from the hub, so `Drop` does not remove twice.
    removed: bool,
}

impl Subscription {
    /// True once a push could not be queued: the receiver must resynchronise from the store.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
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
        let (queue, pushes) = mpsc::channel(capacity.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let overflowed = Arc::new(AtomicBool::new(false));
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
                overflowed: overflowed.clone(),
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
            overflowed,
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
        entries.retain(|entry| match entry.queue.try_send(push.clone()) {
            Ok(()) => true,
            Err(_) => {
                entry.overflowed.store(true, Ordering::Release);
                false
            }
        });
        if entries.is_empty() {
            map.remove(&user);
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
            entries.retain(|entry| match entry.queue.try_send(push.clone()) {
                Ok(()) => true,
                Err(_) => {
                    entry.overflowed.store(true, Ordering::Release);
                    false
                }
            });
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

    #[test]
    fn delivers_to_every_subscriber_of_the_user_only() {
        let hub = Arc::new(Hub::default());
        let (mut a1, first) = hub.subscribe(UserId(1), vec![1], 4, 8).unwrap();
        assert!(first);
        let (mut a2, first) = hub.subscribe(UserId(1), vec![2], 4, 8).unwrap();
        assert!(!first);
        let (mut b, _) = hub.subscribe(UserId(2), vec![3], 4, 8).unwrap();
        hub.deliver(UserId(1), typing());
        assert!(a1.pushes.try_recv().is_ok());
        assert!(a2.pushes.try_recv().is_ok());
        assert!(b.pushes.try_recv().is_err());
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

//! This process's registry of live subscribers (one per open socket), by user.
//!
//! Delivery never waits: each subscriber has a bounded queue filled with `try_send`. A full
//! queue marks the subscriber as overflowed and drops it from the registry; its socket closes
//! and the client catches up from its cursor. Nothing is ever silently skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::events::{Event, UserEvent};
use crate::ids::UserId;

struct Entry {
    id: u64,
    queue: mpsc::Sender<Arc<Event>>,
    overflowed: Arc<AtomicBool>,
}

/// Live subscribers by user.
#[derive(Default)]
pub struct Hub {
    /// A std mutex: held only to look up or edit the map, never across an await.
    subscribers: Mutex<HashMap<UserId, Vec<Entry>>>,
    next_id: AtomicU64,
}

/// One subscriber's receiving end. Dropping it unsubscribes.
pub struct Subscription {
    hub: Arc<Hub>,
    user: UserId,
    id: u64,
    pub events: mpsc::Receiver<Arc<Event>>,
    overflowed: Arc<AtomicBool>,
}

impl Subscription {
    /// True once an event could not be queued: the receiver must resynchronise from the store.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.user, self.id);
    }
}

impl Hub {
    /// Registers a subscriber for `user` with a queue of `capacity` events.
    pub fn subscribe(self: &Arc<Self>, user: UserId, capacity: usize) -> Subscription {
        let (queue, events) = mpsc::channel(capacity.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let overflowed = Arc::new(AtomicBool::new(false));
        let entry = Entry {
            id,
            queue,
            overflowed: overflowed.clone(),
        };
        if let Ok(mut map) = self.subscribers.lock() {
            map.entry(user).or_default().push(entry);
        }
        Subscription {
            hub: self.clone(),
            user,
            id,
            events,
            overflowed,
        }
    }

    /// Queues `event` for every subscriber of its user; overflowing subscribers are dropped.
    pub fn deliver(&self, event: UserEvent) {
        let Ok(mut map) = self.subscribers.lock() else {
            return;
        };
        let Some(entries) = map.get_mut(&event.user) else {
            return;
        };
        let shared = Arc::new(event.event);
        entries.retain(|entry| match entry.queue.try_send(shared.clone()) {
            Ok(()) => true,
            Err(_) => {
                entry.overflowed.store(true, Ordering::Release);
                false
            }
        });
        if entries.is_empty() {
            map.remove(&event.user);
        }
    }

    /// How many subscribers `user` has (for presence and tests).
    pub fn count(&self, user: UserId) -> usize {
        self.subscribers
            .lock()
            .map(|m| m.get(&user).map_or(0, Vec::len))
            .unwrap_or(0)
    }

    /// Users with at least one subscriber.
    pub fn users(&self) -> usize {
        self.subscribers.lock().map(|m| m.len()).unwrap_or(0)
    }

    fn remove(&self, user: UserId, id: u64) {
        if let Ok(mut map) = self.subscribers.lock()
            && let Some(entries) = map.get_mut(&user)
        {
            entries.retain(|e| e.id != id);
            if entries.is_empty() {
                map.remove(&user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Cursor, MessageId};
    use crate::messages::MessageStatus;
    use crate::time::Timestamp;

    fn status_event(user: i64, cursor: i64) -> UserEvent {
        UserEvent {
            user: UserId(user),
            event: Event::Status {
                cursor: Cursor(cursor),
                message_ids: vec![MessageId(1)],
                status: MessageStatus::Read,
                by: "bob".into(),
                at: Timestamp(0),
            },
        }
    }

    #[test]
    fn delivers_to_every_subscriber_of_the_user_only() {
        let hub = Arc::new(Hub::default());
        let mut a1 = hub.subscribe(UserId(1), 4);
        let mut a2 = hub.subscribe(UserId(1), 4);
        let mut b = hub.subscribe(UserId(2), 4);
        hub.deliver(status_event(1, 1));
        assert_eq!(a1.events.try_recv().unwrap().cursor(), Cursor(1));
        assert_eq!(a2.events.try_recv().unwrap().cursor(), Cursor(1));
        assert!(b.events.try_recv().is_err());
    }

    #[test]
    fn a_full_queue_drops_the_subscriber_and_flags_it() {
        let hub = Arc::new(Hub::default());
        let slow = hub.subscribe(UserId(1), 1);
        hub.deliver(status_event(1, 1));
        hub.deliver(status_event(1, 2));
        assert!(slow.overflowed());
        assert_eq!(hub.count(UserId(1)), 0);
        drop(slow);
        assert_eq!(hub.users(), 0);
    }
}

//! One socket's queue of pushes: bounded, filled by the hub without ever waiting, emptied by
//! the socket's task.
//!
//! Every open socket holds one, so it is made to cost little while the socket is idle: one
//! allocation of about a hundred bytes, and a buffer once pushes have come (a drained one keeps
//! at most 16 slots, 128 bytes; a larger one is given back). A tokio channel reserves its first
//! block of 32 slots and the channel's state up front, about 800 bytes a socket. The hub is the
//! only sender and the socket's task the only receiver.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// A drained buffer keeps its allocation up to this many slots; a larger one is given back.
const KEPT_SLOTS: usize = 16;

struct Shared<T> {
    /// A std mutex: held only to push or pop, never across an await.
    queue: Mutex<Queue<T>>,
    /// Wakes the receiver: a push arrived, or the sender went away.
    ready: Notify,
}

struct Queue<T> {
    items: VecDeque<T>,
    capacity: usize,
    /// A push found the queue full: the receiver has missed pushes.
    overflowed: bool,
    /// No push will come any more (the sender is gone).
    closed: bool,
}

/// The hub's end.
pub struct Sender<T>(Arc<Shared<T>>);

/// The socket's end.
pub struct Receiver<T>(Arc<Shared<T>>);

/// A push not queued: the queue held `capacity` pushes already (it is closed from then on),
/// or it was closed before (its receiver is gone, or an earlier push overflowed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// A queue for at most `capacity` pushes (at least one).
pub fn mailbox<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            overflowed: false,
            closed: false,
        }),
        ready: Notify::new(),
    });
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        // Nothing panics while holding the lock, but a poisoned queue is still a queue.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T> Sender<T> {
    /// Queues `item`, unless the queue is full: then the receiver is told it overflowed, gets
    /// what was queued before, and then the end of the queue.
    pub fn try_send(&self, item: T) -> Result<(), Full> {
        {
            let mut queue = self.0.lock();
            if queue.closed {
                return Err(Full);
            }
            if queue.items.len() >= queue.capacity {
                queue.overflowed = true;
                queue.closed = true;
                drop(queue);
                self.0.ready.notify_one();
                return Err(Full);
            }
            queue.items.push_back(item);
        }
        self.0.ready.notify_one();
        Ok(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.ready.notify_one();
    }
}

impl<T> Receiver<T> {
    /// The next push, waiting for one; `None` once the queue is closed and empty.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            {
                let mut queue = self.0.lock();
                if let Some(item) = queue.pop() {
                    return Some(item);
                }
                if queue.closed {
                    return None;
                }
            }
            // A push made since the check above left a permit: this returns at once.
            self.0.ready.notified().await;
        }
    }

    /// The next push if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        self.0.lock().pop()
    }

    /// True once a push was refused because the queue was full.
    pub fn overflowed(&self) -> bool {
        self.0.lock().overflowed
    }
}

impl<T> Drop for Receiver<T> {
    /// Nothing is queued for a receiver that is gone: the sender's next push fails.
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.closed = true;
        queue.items = VecDeque::new();
    }
}

impl<T> Queue<T> {
    fn pop(&mut self) -> Option<T> {
        let item = self.items.pop_front();
        if self.items.is_empty() && self.items.capacity() > KEPT_SLOTS {
            self.items = VecDeque::new();
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_come_out_in_order_until_the_queue_is_full() {
        let (sender, mut receiver) = mailbox(3);
        for n in 1..=3 {
            assert_eq!(sender.try_send(n), Ok(()));
        }
        assert_eq!(sender.try_send(4), Err(Full));
        assert!(receiver.overflowed());
        assert_eq!(sender.try_send(5), Err(Full), "closed once it overflowed");
        let drained: Vec<i32> = std::iter::from_fn(|| receiver.try_recv()).collect();
        assert_eq!(drained, [1, 2, 3]);
    }

    #[tokio::test]
    async fn the_receiver_wakes_for_a_push_and_ends_after_the_sender() {
        let (sender, mut receiver) = mailbox(4);
        let waiting = tokio::spawn(async move {
            let first = receiver.recv().await;
            let second = receiver.recv().await;
            let end = receiver.recv().await;
            (first, second, end, receiver.overflowed())
        });
        tokio::task::yield_now().await;
        sender.try_send("a").unwrap();
        sender.try_send("b").unwrap();
        drop(sender);
        let outcome = waiting.await.unwrap();
        assert_eq!(outcome, (Some("a"), Some("b"), None, false));
    }

    #[test]
    fn pushes_to_a_receiver_that_is_gone_fail() {
        let (sender, receiver) = mailbox(4);
        drop(receiver);
        assert_eq!(sender.try_send(1), Err(Full));
    }

    #[test]
    fn a_drained_burst_gives_its_buffer_back() {
        let (sender, mut receiver) = mailbox(1024);
        for n in 0..500 {
            sender.try_send(n).unwrap();
        }
        while receiver.try_recv().is_some() {}
        assert_eq!(receiver.0.lock().items.capacity(), 0);
        sender.try_send(1).unwrap();
        assert_eq!(receiver.try_recv(), Some(1));
        assert!(receiver.0.lock().items.capacity() <= KEPT_SLOTS);
    }
}

//! The event bus: after a write commits, its events are published to the users they concern;
//! ephemeral signals (typing, presence), credential revocations and presence bookkeeping
//! travel the same way.
//!
//! The bus is a wake-up, never the source of truth: a subscriber that misses an event (slow,
//! disconnected, or a lossy transport such as Redis pub/sub) catches up from the store by its
//! cursor. `memory` serves one process; `redis` connects several nodes.

pub mod memory;
pub mod redis;

use async_trait::async_trait;

use crate::domain::event::{Ephemeral, UserEvent};
use crate::domain::ids::UserId;

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Hands committed events to every subscriber of their users, never waiting on one.
    async fn publish(&self, events: Vec<UserEvent>);
    /// Pushes an unstored signal to every socket of `users`.
    async fn signal(&self, users: Vec<UserId>, signal: Ephemeral);
    /// Closes every socket opened with this credential digest, on every node.
    async fn revoke(&self, credential: Vec<u8>);
    /// Records whether `user` has sockets on this node; returns whether the user has sockets on
    /// any node (so the last close anywhere, not here, announces "offline").
    async fn set_presence(&self, user: UserId, here: bool) -> bool;
    /// Which of `users` have a socket on any node, in the same order.
    async fn online(&self, users: &[UserId]) -> Vec<bool>;
    /// Whether the bus can deliver right now (for `/readyz`).
    async fn ready(&self) -> bool;

    // Accounts (v2 safety).

    /// Closes every socket of `user`, on every node (a suspended or deleted account).
    async fn close_user(&self, user: UserId);
    /// Waits (briefly) until what was published has left this process, for a short-lived
    /// process such as `linkup admin` that exits right after.
    async fn flush(&self) {}
}

//! The event bus: after a write commits, its events are published to the users they concern;
//! ephemeral signals (typing, presence) and credential revocations travel the same way.
//!
//! The bus is a wake-up, never the source of truth: a subscriber that misses an event (slow,
//! disconnected, or a lossy transport such as Redis pub/sub) catches up from the store by its
//! cursor. `memory` is the single-process implementation.

pub mod memory;

use async_trait::async_trait;

use crate::events::{Ephemeral, UserEvent};
use crate::ids::UserId;

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Hands committed events to every subscriber of their users, never waiting on one.
    async fn publish(&self, events: Vec<UserEvent>);
    /// Pushes an unstored signal to every socket of `users`.
    async fn signal(&self, users: Vec<UserId>, signal: Ephemeral);
    /// Closes every socket opened with this credential digest, on every node.
    async fn revoke(&self, credential: Vec<u8>);
    /// Whether the bus can deliver right now (for `/readyz`).
    async fn ready(&self) -> bool;
}

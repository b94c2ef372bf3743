//! The in-process bus: publishes straight to this process's delivery hub.

use std::sync::Arc;

use async_trait::async_trait;

use super::Bus;
use crate::delivery::Hub;
use crate::delivery::Push;
use crate::domain::event::{Ephemeral, UserEvent};
use crate::domain::ids::UserId;

pub struct MemoryBus {
    hub: Arc<Hub>,
}

impl MemoryBus {
    pub fn new(hub: Arc<Hub>) -> Self {
        MemoryBus { hub }
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, events: Vec<UserEvent>) {
        self.hub.deliver_events(events);
    }

    async fn signal(&self, users: Vec<UserId>, signal: Ephemeral) {
        let push = Arc::new(Push::Signal(signal));
        for user in users {
            self.hub.deliver(user, push.clone());
        }
    }

    async fn revoke(&self, credential: Vec<u8>) {
        self.hub.revoke(&credential);
    }

    async fn set_presence(&self, user: UserId, _here: bool) -> bool {
        self.hub.count(user) > 0
    }

    async fn online(&self, users: &[UserId]) -> Vec<bool> {
        users.iter().map(|u| self.hub.count(*u) > 0).collect()
    }

    async fn ready(&self) -> bool {
        true
    }

    async fn close_user(&self, user: UserId) {
        self.hub.close_user(user);
    }
}

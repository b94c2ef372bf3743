//! The in-process bus: publishes straight to this process's delivery hub.

use std::sync::Arc;

use async_trait::async_trait;

use super::Bus;
use crate::delivery::Hub;
use crate::events::UserEvent;

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
        for event in events {
            self.hub.deliver(event);
        }
    }

    async fn ready(&self) -> bool {
        true
    }
}

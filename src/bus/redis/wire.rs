//! What travels on the bus channel, and what a node does with what it hears.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::delivery::Hub;
use crate::delivery::Push;
use crate::domain::event::{Ephemeral, UserEvent};
use crate::domain::ids::UserId;

#[derive(Debug, Serialize, Deserialize)]
pub enum Body {
    Events(Vec<UserEvent>),
    Signal {
        users: Vec<UserId>,
        signal: Ephemeral,
    },
    Revoke(Vec<u8>),
    /// Something may have been lost: every node's sockets catch up from the store.
    Resync,
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

/// Delivers a message heard on the channel to this node's hub.
pub fn deliver(hub: &Hub, body: Body) {
    match body {
        Body::Events(events) => {
            for UserEvent { user, event } in events {
                hub.deliver(user, Arc::new(Push::Stored(event)));
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
    }
}

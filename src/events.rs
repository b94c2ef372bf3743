//! Events of a user's stream. Each stored event has the user's next cursor; the shape is the
//! same in `GET /api/sync` and on the WebSocket.

use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{Cursor, MessageId, UserId};
use crate::messages::{Message, MessageStatus};
use crate::time::Timestamp;

/// One event of one user's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    /// A message the user sent or received.
    Message { cursor: Cursor, message: Message },
    /// Messages of a conversation of the user changed status.
    Status {
        cursor: Cursor,
        message_ids: Vec<MessageId>,
        status: MessageStatus,
        /// Username of the recipient who set the status.
        by: String,
        at: Timestamp,
    },
}

impl Event {
    pub fn cursor(&self) -> Cursor {
        match self {
            Event::Message { cursor, .. } | Event::Status { cursor, .. } => *cursor,
        }
    }
}

/// An event addressed to one user, as a write returns it for publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    pub user: UserId,
    pub event: Event,
}

//! Events of a user's stream. Each stored event has the user's next cursor; the shape is the
//! same in `GET /api/sync` and on the WebSocket.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{ConversationId, Cursor, MessageId, UserId};
use super::message::{Message, MessageStatus};
use super::time::Timestamp;

/// One event of one user's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    /// A message the user sent or received.
    Message { cursor: Cursor, message: Message },
    /// A message was edited or deleted for everyone: the message as it is now.
    #[serde(rename = "message_updated")]
    MessageUpdated { cursor: Cursor, message: Message },
    /// `user` set (`emoji`), replaced or removed (`null`) their reaction on a message.
    Reaction {
        cursor: Cursor,
        conversation_id: ConversationId,
        message_id: MessageId,
        user: String,
        emoji: Option<String>,
        at: Timestamp,
    },
    /// Messages of a conversation of the user changed status.
    Status {
        cursor: Cursor,
        /// The conversation the messages belong to.
        conversation_id: ConversationId,
        message_ids: Vec<MessageId>,
        /// The newest position this event covers: every listed message is at or before it.
        up_to_id: MessageId,
        status: MessageStatus,
        /// Username of the member whose receipt (or leave) moved them.
        by: String,
        /// `true` when `status` is the aggregate over every member (always in a direct
        /// conversation); `false` when it is one member's (`by`).
        all: bool,
        at: Timestamp,
    },
}

impl Event {
    /// The conversation the event belongs to.
    pub fn conversation_id(&self) -> ConversationId {
        match self {
            Event::Message { message, .. } | Event::MessageUpdated { message, .. } => {
                message.conversation_id
            }
            Event::Reaction {
                conversation_id, ..
            }
            | Event::Status {
                conversation_id, ..
            } => *conversation_id,
        }
    }

    pub fn cursor(&self) -> Cursor {
        match self {
            Event::Message { cursor, .. }
            | Event::MessageUpdated { cursor, .. }
            | Event::Reaction { cursor, .. }
            | Event::Status { cursor, .. } => *cursor,
        }
    }

    /// The same event at another cursor (the same change in another user's stream).
    pub fn at(&self, at: Cursor) -> Event {
        let mut event = self.clone();
        match &mut event {
            Event::Message { cursor, .. }
            | Event::MessageUpdated { cursor, .. }
            | Event::Reaction { cursor, .. }
            | Event::Status { cursor, .. } => *cursor = at,
        }
        event
    }
}

/// An event addressed to one user, as a write returns it for publishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEvent {
    pub user: UserId,
    pub event: Event,
}

/// A signal that is pushed but never stored (no cursor): typing and presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Ephemeral {
    /// `from` started or stopped typing to the receiver (in a group: in that group).
    Typing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation_id: Option<ConversationId>,
        from: String,
        active: bool,
    },
    /// `user` came online or went offline (`last_seen` is when their last socket closed).
    Presence {
        user: String,
        online: bool,
        last_seen: Option<Timestamp>,
    },
}

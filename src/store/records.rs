//! How messages and events are recorded, the same on every backend: the stored kinds, the
//! payload of a status event, and a message as a row makes it.

use serde::{Deserialize, Serialize};

use super::{Destination, SendRequest, StoreError};
use crate::domain::event::Event;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind, MessageStatus};

/// Event kinds as stored.
pub const KIND_MESSAGE: i64 = 1;
pub const KIND_STATUS: i64 = 2;

/// The stored payload of a status event (message events reference their message instead).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusData {
    pub conversation_id: ConversationId,
    pub message_ids: Vec<MessageId>,
    pub up_to_id: MessageId,
    pub status: MessageStatus,
    pub by: String,
    pub all: bool,
    pub at: i64,
}

impl StatusData {
    pub fn encode(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Other(e.to_string()))
    }

    pub fn decode(text: &str) -> Result<Self, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Other(e.to_string()))
    }

    /// The event this payload makes at `cursor`.
    pub fn event(&self, cursor: Cursor) -> Event {
        Event::Status {
            cursor,
            conversation_id: self.conversation_id,
            message_ids: self.message_ids.clone(),
            up_to_id: self.up_to_id,
            status: self.status,
            by: self.by.clone(),
            all: self.all,
            at: Timestamp(self.at),
        }
    }
}

/// One status event to record: its payload, and the users whose streams get it.
pub struct StatusGroup {
    pub data: StatusData,
    pub users: Vec<UserId>,
}

/// A message as both backends read it back, before a viewer's status is applied.
pub struct StoredMessage<'a> {
    pub id: MessageId,
    pub seq: i64,
    pub conversation_id: ConversationId,
    pub kind: MessageKind,
    pub sender: String,
    pub recipient: Option<String>,
    pub client_id: Option<String>,
    pub body: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    /// The system record as stored (JSON), on system messages.
    pub system: Option<&'a str>,
}

/// The message a stored row makes; `status` is left for the viewer's marks to fill in.
pub fn stored_message(row: StoredMessage<'_>) -> Message {
    Message {
        id: row.id,
        seq: row.seq,
        conversation_id: row.conversation_id,
        kind: row.kind,
        sender: row.sender,
        recipient: row.recipient,
        client_id: row.client_id,
        body: row.body,
        created_at: row.created_at,
        status: None,
        delivered_count: None,
        read_count: None,
        edited_at: row.edited_at,
        deleted: row.deleted,
        deleted_by: None,
        reply_to: None,
        reactions: Vec::new(),
        attachments: Vec::new(),
        system: row.system.and_then(|text| serde_json::from_str(text).ok()),
    }
}

/// The message a send has just stored, as its recipients see it (`sent`); the sender's copy
/// is `for_sender`.
pub fn new_message(
    req: &SendRequest,
    id: MessageId,
    seq: i64,
    conversation: ConversationId,
) -> Message {
    Message {
        id,
        seq,
        conversation_id: conversation,
        kind: MessageKind::Text,
        sender: req.sender.username.clone(),
        recipient: req.recipient().map(|u| u.username.clone()),
        client_id: Some(req.client_id.as_str().to_owned()),
        body: req.body.as_str().to_owned(),
        created_at: req.at,
        status: Some(MessageStatus::Sent),
        delivered_count: None,
        read_count: None,
        edited_at: None,
        deleted: false,
        deleted_by: None,
        reply_to: None,
        reactions: Vec::new(),
        attachments: Vec::new(),
        system: None,
    }
}

/// The sender's copy of a message just stored: in a group, with the counts (nobody has it
/// yet) and, with nobody else in it (`audience` counts the sender), the aggregate already
/// complete.
pub fn for_sender(message: &Message, to: &Destination, audience: usize) -> Message {
    let mut own = message.clone();
    if let Destination::Group(_) = to {
        own.delivered_count = Some(0);
        own.read_count = Some(0);
        if audience <= 1 {
            own.status = Some(MessageStatus::Read);
        }
    }
    own
}

/// A `LIKE` pattern matching names that start with `prefix` (`\` escapes).
pub fn like_prefix(prefix: &str) -> String {
    format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('_', "\\_")
            .replace('%', "\\%")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_prefix("a_b"), "a\\_b%");
        assert_eq!(like_prefix("50%"), "50\\%%");
    }
}

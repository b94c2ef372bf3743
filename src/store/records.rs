//! How events are recorded, the same on every backend: the stored kinds, the payload of a
//! status event, and how a status change is split into events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{SendRequest, StoreError};
use crate::domain::User;
use crate::domain::event::Event;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageStatus};

/// Event kinds as stored.
pub const KIND_MESSAGE: i64 = 1;
pub const KIND_STATUS: i64 = 2;

/// The stored payload of a status event (message events reference their message instead).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusData {
    pub conversation_id: ConversationId,
    pub message_ids: Vec<MessageId>,
    pub status: MessageStatus,
    pub by: String,
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
            status: self.status,
            by: self.by.clone(),
            at: Timestamp(self.at),
        }
    }
}

/// One status event to record: its payload, and the users whose streams get it (the sender of
/// the messages, and the reader who moved them).
pub struct StatusGroup {
    pub data: StatusData,
    pub users: Vec<UserId>,
}

/// Splits moved messages `(id, conversation, sender)` into one event per conversation.
pub fn status_groups(
    reader: &User,
    changed: impl IntoIterator<Item = (MessageId, ConversationId, UserId)>,
    status: MessageStatus,
    at: Timestamp,
) -> Vec<StatusGroup> {
    let mut groups: BTreeMap<(ConversationId, UserId), Vec<MessageId>> = BTreeMap::new();
    for (id, conversation, sender) in changed {
        groups.entry((conversation, sender)).or_default().push(id);
    }
    groups
        .into_iter()
        .map(|((conversation_id, sender), mut message_ids)| {
            message_ids.sort();
            let mut users = vec![sender];
            if sender != reader.id {
                users.push(reader.id);
            }
            let data = StatusData {
                conversation_id,
                message_ids,
                status,
                by: reader.username.clone(),
                at: at.millis(),
            };
            StatusGroup { data, users }
        })
        .collect()
}

/// The message a send has just stored, as both parties will see it.
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
        sender: req.sender.username.clone(),
        recipient: req.recipient().username.clone(),
        client_id: req.client_id.as_str().to_owned(),
        body: req.body.as_str().to_owned(),
        created_at: req.at,
        status: MessageStatus::Sent,
        edited_at: None,
        deleted: false,
    }
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
    fn one_event_per_conversation_to_sender_and_reader() {
        let reader = User {
            id: UserId(2),
            username: "bob".into(),
            display_name: "Bob".into(),
        };
        let changed = [
            (MessageId(5), ConversationId(1), UserId(1)),
            (MessageId(3), ConversationId(1), UserId(1)),
            (MessageId(9), ConversationId(4), UserId(7)),
        ];
        let groups = status_groups(&reader, changed, MessageStatus::Read, Timestamp(0));
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].data.message_ids, [MessageId(3), MessageId(5)]);
        assert_eq!(groups[0].users, [UserId(1), UserId(2)]);
        let back = StatusData::decode(&groups[1].data.encode().unwrap()).unwrap();
        assert_eq!(back.event(Cursor(8)).cursor(), Cursor(8));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_prefix("a_b"), "a\\_b%");
        assert_eq!(like_prefix("50%"), "50\\%%");
    }
}

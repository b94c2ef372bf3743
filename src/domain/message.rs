//! Messages and their delivery status, as clients see them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::code;
use super::error::Error;
use super::ids::{ConversationId, MessageId};
use super::time::Timestamp;

/// Where a message stands for its recipient. The order is the only allowed direction of travel:
/// a request to move a status backwards is a no-op.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Sent,
    Delivered,
    Read,
}

impl MessageStatus {
    /// The status a recipient may set: `delivered` or `read`.
    pub fn parse_target(raw: &str) -> Result<Self, Error> {
        match raw {
            "delivered" => Ok(MessageStatus::Delivered),
            "read" => Ok(MessageStatus::Read),
            _ => Err(Error::invalid(
                code::INVALID_STATUS,
                format!("status must be \"delivered\" or \"read\", got {raw:?}"),
            )),
        }
    }

    /// The storage encoding (0, 1, 2), which preserves the order.
    pub fn as_i64(self) -> i64 {
        match self {
            MessageStatus::Sent => 0,
            MessageStatus::Delivered => 1,
            MessageStatus::Read => 2,
        }
    }

    pub fn from_i64(n: i64) -> Self {
        match n {
            0 => MessageStatus::Sent,
            1 => MessageStatus::Delivered,
            _ => MessageStatus::Read,
        }
    }
}

/// What a message is: something a person sent, or the record of a group change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    System,
}

impl MessageKind {
    /// The storage encoding (0 text, 1 system).
    pub fn as_i64(self) -> i64 {
        match self {
            MessageKind::Text => 0,
            MessageKind::System => 1,
        }
    }

    pub fn from_i64(n: i64) -> Self {
        if n == 1 {
            MessageKind::System
        } else {
            MessageKind::Text
        }
    }
}

/// The record a system message keeps of a group change: what happened, who did it, to whom,
/// and the details of that kind of change (`title`, `new_owner`, `role`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SystemRecord {
    pub event: String,
    pub actor: String,
    pub targets: Vec<String>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The message a reply quotes, as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub id: MessageId,
    pub sender: String,
    pub body: String,
    pub deleted: bool,
}

/// One emoji on a message and who set it, in the order they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<String>,
}

/// A file carried by a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub thumbnail: bool,
}

/// A stored message, as every API and socket shows it to one viewer: `status` is the viewer's
/// own for messages from others, the aggregate over the other members for the viewer's own
/// (`receipt`), and `null` on system messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    /// Position in the conversation: 1, 2, 3, … without gaps.
    pub seq: i64,
    pub conversation_id: ConversationId,
    pub kind: MessageKind,
    /// Username of the sender (of a system message: who made the change).
    pub sender: String,
    /// Username of the other party in a direct conversation; `null` in a group.
    pub recipient: Option<String>,
    /// The sender's idempotency key; `null` on system messages.
    pub client_id: Option<String>,
    pub body: String,
    pub created_at: Timestamp,
    pub status: Option<MessageStatus>,
    /// On the viewer's own group text messages: members who have it delivered or read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_count: Option<i64>,
    /// On the viewer's own group text messages: members who have read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_count: Option<i64>,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
    pub deleted_by: Option<String>,
    pub reply_to: Option<Box<Quote>>,
    /// The id of the message this one replies to, kept whether or not the viewer may see it:
    /// `reply_to` is what the viewer sees of it.
    #[serde(skip)]
    pub reply_to_id: Option<MessageId>,
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub system: Option<Box<SystemRecord>>,
}

/// How much of a quoted message's body a reply shows, in Unicode scalar values.
pub const QUOTE_CHARS: usize = 200;

impl Quote {
    /// The quote of a message as it is now: its body cut to `QUOTE_CHARS`, empty once deleted.
    pub fn of(id: MessageId, sender: String, body: &str, deleted: bool) -> Self {
        let body = if deleted {
            String::new()
        } else {
            body.chars().take(QUOTE_CHARS).collect()
        };
        Quote {
            id,
            sender,
            body,
            deleted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_order_forwards() {
        assert!(MessageStatus::Sent < MessageStatus::Delivered);
        assert!(MessageStatus::Delivered < MessageStatus::Read);
        for s in [
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read,
        ] {
            assert_eq!(MessageStatus::from_i64(s.as_i64()), s);
        }
        assert!(MessageStatus::parse_target("sent").is_err());
    }
}

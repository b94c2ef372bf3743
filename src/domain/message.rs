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

/// A stored message, as every API and socket shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    /// Position in the conversation: 1, 2, 3, … without gaps.
    pub seq: i64,
    pub conversation_id: ConversationId,
    /// Username of the sender.
    pub sender: String,
    /// Username of the recipient.
    pub recipient: String,
    pub client_id: String,
    pub body: String,
    pub created_at: Timestamp,
    pub status: MessageStatus,
    pub edited_at: Option<Timestamp>,
    pub deleted: bool,
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

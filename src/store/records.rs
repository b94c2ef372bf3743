//! How messages and events are recorded, the same on every backend: the stored kinds, the
//! payload of a status event, and a message as a row makes it.

use serde::{Deserialize, Serialize};

use super::{Destination, Refusal, SendRequest, StoreError};
use crate::domain::code;
use crate::domain::event::Event;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::message::Quote;
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind, MessageStatus};

/// Event kinds as stored.
pub const KIND_MESSAGE: i64 = 1;
pub const KIND_STATUS: i64 = 2;
/// An edit or a delete: like `KIND_MESSAGE`, the row references its message, read as it is now.
pub const KIND_UPDATED: i64 = 3;
pub const KIND_REACTION: i64 = 4;

/// The stored payload of a status event (message events reference their message instead).
/// Written with `encode`, read only with `decode`, which also reads v1's payloads.
#[derive(Debug, Clone, Serialize)]
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

    /// Reads a stored payload, v1's included: v1 recorded neither `up_to_id` nor `all`, and had
    /// direct conversations only, whose status events list every id they mark (the largest is
    /// the one marked up to) and go to both parties (`all`).
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let stored: StoredStatus =
            serde_json::from_str(text).map_err(|e| StoreError::Other(e.to_string()))?;
        let up_to_id = match stored.up_to_id {
            Some(id) => id,
            None => stored.message_ids.iter().copied().max().ok_or_else(|| {
                StoreError::Other("a status event with neither ids nor up_to_id".into())
            })?,
        };
        Ok(StatusData {
            conversation_id: stored.conversation_id,
            message_ids: stored.message_ids,
            up_to_id,
            status: stored.status,
            by: stored.by,
            all: stored.all.unwrap_or(true),
            at: stored.at,
        })
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

/// A status event's payload as any version stored it (see `StatusData::decode`).
#[derive(Deserialize)]
struct StoredStatus {
    conversation_id: ConversationId,
    message_ids: Vec<MessageId>,
    up_to_id: Option<MessageId>,
    status: MessageStatus,
    by: String,
    all: Option<bool>,
    at: i64,
}

/// The stored payload of a reaction event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReactionData {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub user: String,
    pub emoji: Option<String>,
    pub at: i64,
}

impl ReactionData {
    pub fn encode(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Other(e.to_string()))
    }

    /// The event this payload makes at `cursor`.
    pub fn event(&self, cursor: Cursor) -> Event {
        Event::Reaction {
            cursor,
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            user: self.user.clone(),
            emoji: self.emoji.clone(),
            at: Timestamp(self.at),
        }
    }
}

/// The event a stored row makes: `message` is the row's message (as stored, before a viewer's
/// marks) for the kinds that reference one, `data` the payload of the others.
pub fn stored_event(
    cursor: Cursor,
    kind: i64,
    message: Option<Message>,
    data: Option<&str>,
) -> Result<Event, StoreError> {
    let missing = || {
        StoreError::Other(format!(
            "event {} of kind {kind} lost its content",
            cursor.0
        ))
    };
    Ok(match kind {
        KIND_MESSAGE => Event::Message {
            cursor,
            message: message.ok_or_else(missing)?,
        },
        KIND_UPDATED => Event::MessageUpdated {
            cursor,
            message: message.ok_or_else(missing)?,
        },
        KIND_REACTION => serde_json::from_str::<ReactionData>(data.ok_or_else(missing)?)
            .map_err(|e| StoreError::Other(e.to_string()))?
            .event(cursor),
        _ => StatusData::decode(data.ok_or_else(missing)?)?.event(cursor),
    })
}

/// The messages of a page of events, for a viewer's marks to be applied to.
pub fn event_messages(events: &mut [Event]) -> impl Iterator<Item = &mut Message> {
    events.iter_mut().filter_map(|event| match event {
        Event::Message { message, .. } | Event::MessageUpdated { message, .. } => Some(message),
        _ => None,
    })
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
    pub deleted_by: Option<String>,
    pub reply_to: Option<MessageId>,
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
        deleted_by: row.deleted_by,
        reply_to: None,
        reply_to_id: row.reply_to,
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
    quote: Option<Quote>,
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
        reply_to: quote.map(Box::new),
        reply_to_id: req.reply_to,
        reactions: Vec::new(),
        attachments: Vec::new(),
        system: None,
    }
}

/// The refusal of a `reply_to` that names no message the sender may reply to here.
pub fn invalid_reply_to(reply_to: MessageId) -> StoreError {
    StoreError::Refused(
        Refusal::Invalid(code::INVALID_REPLY_TO),
        format!(
            "reply_to {} is not a message of this conversation that you can see and that is not deleted",
            reply_to.0
        ),
    )
}

/// What a retried send is compared with: the stored message's content.
pub struct Stored {
    pub body: String,
    pub reply_to: Option<MessageId>,
    /// The ids of the uploads it carries, in order.
    pub attachments: Vec<String>,
    pub deleted: bool,
}

impl Stored {
    /// Whether `req` asks for this same message (body, reply and attachments). Once it is deleted
    /// for everyone its body, quote and attachments are gone, so any retry of its `client_id` in its place is taken as the same send.
    pub fn same_as(&self, req: &SendRequest) -> bool {
        self.deleted
            || (self.body == req.body.as_str()
                && self.reply_to == req.reply_to
                && self
                    .attachments
                    .iter()
                    .map(String::as_str)
                    .eq(req.attachments.iter().map(|a| a.as_str())))
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

    #[test]
    fn status_payloads_of_every_version_decode() {
        let v2 = StatusData {
            conversation_id: ConversationId(7),
            message_ids: Vec::new(),
            up_to_id: MessageId(40),
            status: MessageStatus::Read,
            by: "bob".into(),
            all: false,
            at: 5,
        };
        let again = StatusData::decode(&v2.encode().unwrap()).unwrap();
        assert_eq!((again.up_to_id, again.all), (MessageId(40), false));

        let v1 = r#"{"conversation_id":1,"message_ids":[3,9,4],"status":"read","by":"bob","at":2}"#;
        let old = StatusData::decode(v1).unwrap();
        assert_eq!((old.up_to_id, old.all), (MessageId(9), true));
        assert_eq!(old.message_ids, [MessageId(3), MessageId(9), MessageId(4)]);

        let nothing = r#"{"conversation_id":1,"message_ids":[],"status":"read","by":"b","at":2}"#;
        assert!(StatusData::decode(nothing).is_err());
    }
}

//! What one viewer sees of a conversation's messages: the status of each, theirs for messages
//! from others, the aggregate for their own (`domain::receipt`), with the counts a group's
//! sender sees. Both backends load a `Viewpoint` per conversation and apply it to the messages
//! they read, so no status is stored per message.

use crate::domain::ids::MessageId;
use crate::domain::receipt::{Aggregate, Marks, MemberMarks};
use crate::domain::{Message, MessageKind, MessageStatus};

/// One viewer's standing in one conversation.
#[derive(Debug, Clone)]
pub struct Viewpoint {
    /// The viewer's username.
    pub viewer: String,
    pub group: bool,
    /// The viewer's own marks.
    pub me: Marks,
    /// The current members other than the viewer, loaded when the viewer sent any of the
    /// messages shown (else empty).
    pub others: Vec<MemberMarks>,
}

impl Viewpoint {
    /// The status this viewer sees of the message `id` of this kind from `sender` (none for a
    /// system message).
    pub fn status(&self, id: MessageId, kind: MessageKind, sender: &str) -> Option<MessageStatus> {
        match kind {
            MessageKind::System => None,
            MessageKind::Text if sender == self.viewer => {
                Some(Aggregate::of(id.0, &self.others).status)
            }
            MessageKind::Text => Some(self.me.status_of(id.0)),
        }
    }

    /// Fills in `message`'s status (and a group sender's counts) as this viewer sees it.
    pub fn show(&self, message: &mut Message) {
        message.delivered_count = None;
        message.read_count = None;
        if message.kind == MessageKind::System {
            message.status = None;
        } else if message.sender == self.viewer {
            let aggregate = Aggregate::of(message.id.0, &self.others);
            message.status = Some(aggregate.status);
            if self.group {
                message.delivered_count = Some(aggregate.delivered_count);
                message.read_count = Some(aggregate.read_count);
            }
        } else {
            message.status = Some(self.me.status_of(message.id.0));
        }
    }
}

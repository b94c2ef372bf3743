//! Changes to a message once it is sent — edits, deletes for everyone and reactions — as both
//! backends make them: the request and its answer, the message and member as the rules of
//! `domain::message_rules` judge them, and the message as each member who is told of the change
//! sees it (their own status, the sender's aggregate, the quote only for those who can see the
//! quoted message).

use crate::domain::event::{Event, UserEvent};
use crate::domain::group::Role;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::input::Body;
use crate::domain::message_rules::{self, Change, Subject, Verdict, Windows};
use crate::domain::reaction::Emoji;
use crate::domain::receipt::MemberMarks;
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind, User};
use crate::store::StoreError;
use crate::store::records::ReactionData;
use crate::store::viewpoint::Viewpoint;

/// What a member asks to change.
#[derive(Debug, Clone)]
pub enum MessageEdit {
    /// A new body (edit).
    Body(Body),
    /// Delete for everyone.
    Delete,
    /// Set or replace the member's reaction (`Some`), or remove it (`None`).
    React(Option<Emoji>),
}

/// A change to message `message` asked by `actor` at `at`.
#[derive(Debug, Clone)]
pub struct MessageChange {
    pub actor: User,
    pub message: MessageId,
    pub edit: MessageEdit,
    pub windows: Windows,
    pub at: Timestamp,
    /// The actor's account is being deleted: its reactions and messages go even where it is
    /// no longer a member, whatever the windows (v2 safety, account deletion).
    pub erasure: bool,
}

/// The message after the change as its actor sees it, and the events to publish (none when
/// nothing changed).
#[derive(Debug, Clone)]
pub struct Changed {
    pub message: Message,
    pub events: Vec<UserEvent>,
}

/// The message a change names and the member asking, as read in the change's transaction.
#[derive(Debug, Clone)]
pub struct Target {
    pub conversation: ConversationId,
    pub kind: MessageKind,
    pub mine: bool,
    pub created_at: Timestamp,
    pub deleted: bool,
    pub body: String,
    pub has_attachments: bool,
    pub group: bool,
    pub role: Role,
    pub current: bool,
    pub my_reaction: Option<String>,
}

impl MessageEdit {
    fn as_change(&self) -> Change<'_> {
        match self {
            MessageEdit::Body(body) => Change::Edit(body.as_str()),
            MessageEdit::Delete => Change::Delete,
            MessageEdit::React(emoji) => Change::React(emoji.as_ref().map(Emoji::as_str)),
        }
    }
}

impl Target {
    /// Judges `change` of this message by this member.
    pub fn judge(&self, change: &MessageChange) -> Result<Verdict, StoreError> {
        let subject = Subject {
            kind: self.kind,
            deleted: self.deleted,
            created_at: self.created_at,
            body: &self.body,
            has_attachments: self.has_attachments,
            mine: self.mine,
            current: self.current || change.erasure,
            moderator: self.group && self.role.is_admin(),
            my_reaction: self.my_reaction.as_deref(),
        };
        Ok(message_rules::judge(
            &subject,
            change.edit.as_change(),
            if change.erasure {
                Windows {
                    edit_secs: u64::MAX,
                    delete_secs: u64::MAX,
                }
            } else {
                change.windows
            },
            change.at,
        )?)
    }
}

/// A current member who can see the changed message and is told of the change.
#[derive(Debug, Clone)]
pub struct Watcher {
    pub user: UserId,
    pub name: String,
    pub marks: MemberMarks,
    /// Whether the message it replies to lies in this member's visible range.
    pub sees_quote: bool,
}

/// The payload of the reaction event a change records, if it is a reaction.
pub fn reaction_data(change: &MessageChange, conversation: ConversationId) -> Option<ReactionData> {
    match &change.edit {
        MessageEdit::React(emoji) => Some(ReactionData {
            conversation_id: conversation,
            message_id: change.message,
            user: change.actor.username.clone(),
            emoji: emoji.as_ref().map(|e| e.as_str().to_owned()),
            at: change.at.millis(),
        }),
        MessageEdit::Body(_) | MessageEdit::Delete => None,
    }
}

/// `message` (as stored, with its quote and reactions) as each watcher sees it: their own
/// status, or the aggregate over the others for its sender, and the quote only for those who
/// can see the quoted message.
pub fn views(message: &Message, group: bool, watchers: &[Watcher]) -> Vec<(UserId, Message)> {
    watchers
        .iter()
        .map(|watcher| {
            let others = if watcher.name == message.sender {
                watchers
                    .iter()
                    .filter(|w| w.user != watcher.user)
                    .map(|w| w.marks)
                    .collect()
            } else {
                Vec::new()
            };
            let point = Viewpoint {
                viewer: watcher.name.clone(),
                group,
                me: watcher.marks.marks,
                others,
            };
            let mut seen = message.clone();
            if !watcher.sees_quote {
                seen.reply_to = None;
            }
            point.show(&mut seen);
            (watcher.user, seen)
        })
        .collect()
}

/// The event of a change at `cursor` for a watcher who sees the message as `seen`.
pub fn event(reaction: Option<&ReactionData>, seen: Message, cursor: Cursor) -> Event {
    match reaction {
        Some(data) => data.event(cursor),
        None => Event::MessageUpdated {
            cursor,
            message: seen,
        },
    }
}

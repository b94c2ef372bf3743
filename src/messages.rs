//! Sending messages: the idempotent `send` action, also for several drafts at once.

use crate::accounts;
use crate::app::App;
use crate::domain::Message;
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::ids::{ConversationId, MessageId};
use crate::domain::input::{self, Body, ClientId, Username};
use crate::domain::time::Timestamp;
use crate::domain::upload::UploadId;
use crate::store::{Destination, SendRequest, StoreError};

/// Where a client asks a message to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The direct conversation with this user.
    User(Username),
    /// A conversation by id: a group, or a direct conversation of the sender's.
    Conversation(ConversationId),
    /// A group by id (its routes and sockets).
    Group(ConversationId),
}

/// One message a client asks to send, parsed at the edge (HTTP body or socket frame).
#[derive(Debug, Clone)]
pub struct Draft {
    pub to: Target,
    pub client_id: ClientId,
    pub body: Body,
    /// The message this one replies to (checked by the store with the send).
    pub reply_to: Option<MessageId>,
    /// Uploads of the sender's to carry, in order (checked by the store with the send).
    pub attachments: Vec<UploadId>,
}

impl Draft {
    /// Parses a send as a client wrote it, checking `client_id`, then `body`, then the name.
    pub fn parse(
        to: &str,
        client_id: &str,
        body: &str,
        max_body_chars: usize,
    ) -> Result<Self, Error> {
        Ok(Draft {
            client_id: ClientId::parse(client_id)?,
            body: Body::parse(body, max_body_chars)?,
            to: Target::User(input::named_user(to)?),
            reply_to: None,
            attachments: Vec::new(),
        })
    }

    /// Parses a send with everything a client may give: `client_id`, then `attachments`, then
    /// `body` (which may be empty when there are attachments), then where it goes (`to`), then
    /// `reply_to`.
    pub fn compose(
        to: impl FnOnce() -> Result<Target, Error>,
        client_id: &str,
        body: &str,
        reply_to: Option<&serde_json::Value>,
        attachments: Option<&serde_json::Value>,
        max_body_chars: usize,
    ) -> Result<Self, Error> {
        let client_id = ClientId::parse(client_id)?;
        let attachments = input::attachments(attachments)?;
        let body = if attachments.is_empty() {
            Body::parse(body, max_body_chars)?
        } else {
            Body::parse_caption(body, max_body_chars)?
        };
        Ok(Draft {
            to: to()?,
            client_id,
            body,
            reply_to: input::reply_to(reply_to)?,
            attachments,
        })
    }
}

/// Sends a draft from `sender`, idempotently on its `client_id`: commits, then publishes the
/// new message to both parties. Returns the message and whether it is new.
pub async fn send(app: &App, sender: &User, draft: Draft) -> Result<(Message, bool), Error> {
    send_many(app, sender, vec![draft])
        .await
        .pop()
        .unwrap_or_else(|| Err(unanswered()))
}

/// Sends several drafts of one sender, as `send` each, with one answer per draft in the same
/// order. They are stored in that order and committed together, so a client that pipelines
/// sends on a socket sees them in the conversation in the order it sent them.
pub async fn send_many(
    app: &App,
    sender: &User,
    drafts: Vec<Draft>,
) -> Vec<Result<(Message, bool), Error>> {
    let mut answers: Vec<Option<Result<(Message, bool), Error>>> = Vec::new();
    let mut requests = Vec::new();
    let mut waiting = Vec::new();
    for draft in &drafts {
        answers.push(match prepare(app, sender, draft).await {
            Ok(Prepared::Store(request)) => {
                requests.push(request);
                waiting.push(answers.len());
                None
            }
            Ok(Prepared::Stored(message)) => Some(Ok((message, false))),
            Err(error) => Some(Err(error)),
        });
    }
    if !requests.is_empty() {
        let outcomes = app.store.send_messages(requests).await;
        let mut events = Vec::new();
        for (slot, outcome) in waiting.into_iter().zip(outcomes) {
            answers[slot] = Some(match outcome {
                Ok(sent) => {
                    if sent.created {
                        app.metrics.messages_stored.inc();
                    }
                    events.extend(sent.events);
                    Ok((sent.message, sent.created))
                }
                Err(StoreError::Conflict(_)) => {
                    Err(Error::ClientIdConflict(drafts[slot].client_id.to_string()))
                }
                Err(StoreError::NotFound) => Err(Error::ConversationNotFound),
                Err(other) => Err(other.into()),
            });
        }
        app.publish(events).await;
    }
    answers
        .into_iter()
        .map(|answer| answer.unwrap_or_else(|| Err(unanswered())))
        .collect()
}

fn unanswered() -> Error {
    Error::Internal(anyhow::anyhow!("a send was left without an answer"))
}

/// What a draft needs once checked: a write, or nothing because it is a stored retry.
enum Prepared {
    Store(SendRequest),
    Stored(Message),
}

async fn prepare(app: &App, sender: &User, draft: &Draft) -> Result<Prepared, Error> {
    let to = destination(app, sender, &draft.to).await?;
    if let Err(limited) = app.send_limit.check(&sender.id) {
        // A retry of a message already stored is answered, not limited: it creates nothing.
        return match app.store.sent_message(sender.id, &draft.client_id).await? {
            Some(message) if same_message(&message, draft) && same_place(&message, &to) => {
                Ok(Prepared::Stored(message))
            }
            Some(_) => Err(Error::ClientIdConflict(draft.client_id.to_string())),
            None => Err(limited),
        };
    }
    Ok(Prepared::Store(SendRequest {
        sender: sender.clone(),
        to,
        client_id: draft.client_id.clone(),
        body: draft.body.clone(),
        reply_to: draft.reply_to,
        attachments: draft.attachments.clone(),
        at: Timestamp::now(),
        requests: app.settings.message_requests,
    }))
}

/// Where a draft goes: a named user's direct conversation (never one's own), a group, or the
/// conversation an id names (a direct one of the sender's, else a group the store checks).
async fn destination(app: &App, sender: &User, target: &Target) -> Result<Destination, Error> {
    match target {
        Target::User(name) => {
            let recipient = accounts::find_reachable_user(app, name).await?;
            if recipient.id == sender.id {
                return Err(Error::CannotMessageSelf);
            }
            Ok(Destination::Direct(recipient))
        }
        Target::Group(id) => Ok(Destination::Group(*id)),
        Target::Conversation(id) => Ok(match app.store.direct_party(sender.id, *id).await? {
            Some(other) if other.username.starts_with(accounts::RESERVED_PREFIX) => {
                return Err(Error::UserNotFound(other.username));
            }
            Some(other) => Destination::Direct(other),
            None => Destination::Group(*id),
        }),
    }
}

/// Whether a stored message is what `draft` asks for (as `store::records::Stored::same_as`).
fn same_message(message: &Message, draft: &Draft) -> bool {
    message.deleted
        || (message.body == draft.body.as_str() && message.reply_to_id == draft.reply_to)
}

/// Whether a stored message went where `to` says.
fn same_place(message: &Message, to: &Destination) -> bool {
    match to {
        Destination::Direct(user) => message.recipient.as_deref() == Some(user.username.as_str()),
        Destination::Group(id) => message.conversation_id == *id,
    }
}

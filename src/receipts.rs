//! Receipts: a member moves their watermarks to `delivered` or `read`, up to a message and
//! forward only; each change is committed with the status events it records (to the reader
//! and, as the contract routes them, to the senders), then published. And "message info": where
//! one's own message stands with each member.

use crate::app::App;
use crate::conversations;
use crate::domain::code;
use crate::domain::error::Error;
use crate::domain::input::Username;
use crate::domain::time::Timestamp;
use crate::domain::{ConversationId, MessageId, MessageStatus, User};
use crate::store::{MessageReceipts, ReadUpTo, StatusChange, StoreError};

fn not_found(err: StoreError) -> Error {
    match err {
        StoreError::NotFound => Error::MessageNotFound,
        other => other.into(),
    }
}

/// What a receipt did: the ids whose status moved for the reader (ascending) and the position
/// named.
#[derive(Debug, Clone)]
pub struct Marked {
    pub updated: Vec<MessageId>,
    pub up_to: Option<MessageId>,
}

/// Marks everything from others up to the newest of `ids` in each of their conversations with
/// `status` (each id a message the reader can see and did not send). Messages already at or
/// past it are left alone.
pub async fn mark(
    app: &App,
    reader: &User,
    ids: Vec<MessageId>,
    status: MessageStatus,
) -> Result<Marked, Error> {
    let change = StatusChange {
        reader: reader.clone(),
        message_ids: ids,
        status,
        live_max: app.settings.live_receipts_max,
        at: Timestamp::now(),
    };
    let outcome = app.store.set_status(change).await.map_err(not_found)?;
    app.publish(outcome.events).await;
    Ok(Marked {
        updated: outcome.updated,
        up_to: outcome.up_to,
    })
}

/// Marks read every message from `other` to `reader` up to `up_to`, an id of their direct
/// conversation (`message_not_found` otherwise, as when they have none).
pub async fn read_up_to(
    app: &App,
    reader: &User,
    other: &Username,
    up_to: MessageId,
) -> Result<Marked, Error> {
    let (_, conversation) = conversations::with(app, reader, other).await?;
    let conversation = conversation.ok_or(Error::MessageNotFound)?;
    let request = ReadUpTo {
        reader: reader.clone(),
        conversation,
        up_to,
        live_max: app.settings.live_receipts_max,
        at: Timestamp::now(),
    };
    let outcome = app.store.read_up_to(request).await.map_err(not_found)?;
    app.publish(outcome.events).await;
    Ok(Marked {
        updated: outcome.updated,
        up_to: outcome.up_to,
    })
}

/// Marks read everything from others in group `id` up to `up_to` (a past member: within their
/// range); `conversation_not_found` for a group that is not the caller's, `message_not_found`
/// for an id outside it.
pub async fn read_group_up_to(
    app: &App,
    reader: &User,
    id: ConversationId,
    up_to: MessageId,
) -> Result<Marked, Error> {
    app.store
        .group(reader.id, id)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => Error::ConversationNotFound,
            other => other.into(),
        })?;
    let request = ReadUpTo {
        reader: reader.clone(),
        conversation: id,
        up_to,
        live_max: app.settings.live_receipts_max,
        at: Timestamp::now(),
    };
    let outcome = app.store.read_up_to(request).await.map_err(not_found)?;
    app.publish(outcome.events).await;
    Ok(Marked {
        updated: outcome.updated,
        up_to: outcome.up_to,
    })
}

/// Where `viewer`'s message `id` stands with each member who was there when it was sent;
/// `message_not_found` if they cannot see it, `not_sender` if someone else sent it.
pub async fn info(app: &App, viewer: &User, id: MessageId) -> Result<MessageReceipts, Error> {
    let receipts = app
        .store
        .message_receipts(viewer.id, id)
        .await
        .map_err(not_found)?;
    if receipts.sender != viewer.id {
        return Err(Error::forbidden(
            code::NOT_SENDER,
            "only the sender of a message may see its receipts",
        ));
    }
    Ok(receipts)
}

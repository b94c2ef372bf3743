//! Receipts: the recipient moves messages to `delivered` or `read`, forward only; each change
//! is committed with events for both parties, then published.

use crate::app::App;
use crate::conversations;
use crate::domain::error::Error;
use crate::domain::input::Username;
use crate::domain::time::Timestamp;
use crate::domain::{MessageId, MessageStatus, User};
use crate::store::{ReadUpTo, StatusChange, StoreError};

fn not_found(err: StoreError) -> Error {
    match err {
        StoreError::NotFound => Error::MessageNotFound,
        other => other.into(),
    }
}

/// Marks `ids` (all of which must be messages to `reader`) with `status`. Returns the ids
/// whose status changed; ids already at or past it are left alone.
pub async fn mark(
    app: &App,
    reader: &User,
    ids: Vec<MessageId>,
    status: MessageStatus,
) -> Result<Vec<MessageId>, Error> {
    let change = StatusChange {
        reader: reader.clone(),
        message_ids: ids,
        status,
        at: Timestamp::now(),
    };
    let outcome = app.store.set_status(change).await.map_err(not_found)?;
    app.publish(outcome.events).await;
    Ok(outcome.updated)
}

/// Marks read every message from `other` to `reader` up to `up_to`, an id of their direct
/// conversation (`message_not_found` otherwise, as when they have none).
pub async fn read_up_to(
    app: &App,
    reader: &User,
    other: &Username,
    up_to: MessageId,
) -> Result<Vec<MessageId>, Error> {
    let (_, conversation) = conversations::with(app, reader, other).await?;
    let conversation = conversation.ok_or(Error::MessageNotFound)?;
    let request = ReadUpTo {
        reader: reader.clone(),
        conversation,
        up_to,
        at: Timestamp::now(),
    };
    let outcome = app.store.read_up_to(request).await.map_err(not_found)?;
    app.publish(outcome.events).await;
    Ok(outcome.updated)
}

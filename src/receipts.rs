//! Receipts: the recipient moves messages to `delivered` or `read`, forward only; each change
//! is committed with events for both parties, then published.

use crate::accounts;
use crate::app::App;
use crate::domain::MessageStatus;
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::ids::MessageId;
use crate::domain::input;
use crate::domain::time::Timestamp;
use crate::store::{ReadUpTo, StatusChange, StoreError};

/// The most ids one status request may name.
pub const MAX_IDS: usize = 1000;

fn not_found(err: StoreError) -> Error {
    match err {
        StoreError::NotFound => Error::MessageNotFound,
        other => other.into(),
    }
}

/// Marks `message_ids` (all of which must be messages to `reader`) with `status`. Returns the
/// ids whose status changed; ids already at or past it are left alone.
pub async fn mark(
    app: &App,
    reader: &User,
    message_ids: &[i64],
    status: &str,
) -> Result<Vec<MessageId>, Error> {
    let status = MessageStatus::parse_target(status)?;
    if message_ids.is_empty() || message_ids.len() > MAX_IDS {
        return Err(Error::invalid(
            "invalid_message_ids",
            format!("message_ids must list 1 to {MAX_IDS} message ids"),
        ));
    }
    let ids = message_ids
        .iter()
        .map(|id| input::message_id(*id, "every message id"))
        .collect::<Result<Vec<_>, _>>()?;
    let change = StatusChange {
        reader: reader.clone(),
        message_ids: ids,
        status,
        at: Timestamp::now(),
    };
    let outcome = app
        .timed("set_status", app.store.set_status(change))
        .await
        .map_err(not_found)?;
    app.publish(outcome.events).await;
    Ok(outcome.updated)
}

/// Marks read every message from `other` to `reader` up to `up_to_id`.
pub async fn read_up_to(
    app: &App,
    reader: &User,
    other: &str,
    up_to_id: i64,
) -> Result<Vec<MessageId>, Error> {
    let up_to = input::message_id(up_to_id, "up_to_id")?;
    let other = accounts::find_user(app, other).await?;
    let request = ReadUpTo {
        reader: reader.clone(),
        other: other.id,
        up_to,
        at: Timestamp::now(),
    };
    let outcome = app
        .timed("read_up_to", app.store.read_up_to(request))
        .await
        .map_err(not_found)?;
    app.publish(outcome.events).await;
    Ok(outcome.updated)
}

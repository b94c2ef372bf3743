//! What a member does to a message once it is sent: edit it, delete it for everyone, react to
//! it. Each change is judged and committed by the store with one event for every current member
//! who can see the message, then published; a change that changes nothing publishes nothing.
//! Changes count against the sender's send rate (`--send-rate`): each one can mean an event for
//! every member of a group, as a message does.

use crate::app::App;
use crate::domain::error::Error;
use crate::domain::input::Body;
use crate::domain::reaction::Emoji;
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageId, User};
use crate::store::{MessageChange, MessageEdit, StoreError};

/// Gives message `id` a new body (its sender, within the edit window).
pub async fn edit(app: &App, actor: &User, id: MessageId, body: Body) -> Result<Message, Error> {
    change(app, actor, id, MessageEdit::Body(body)).await
}

/// Deletes message `id` for everyone (its sender within the delete window, or a group's owner
/// or admins at any time); answers the tombstone.
pub async fn delete(app: &App, actor: &User, id: MessageId) -> Result<Message, Error> {
    change(app, actor, id, MessageEdit::Delete).await
}

/// Sets (`Some`), replaces or removes (`None`) the actor's reaction on message `id`.
pub async fn react(
    app: &App,
    actor: &User,
    id: MessageId,
    emoji: Option<Emoji>,
) -> Result<Message, Error> {
    change(app, actor, id, MessageEdit::React(emoji)).await
}

async fn change(
    app: &App,
    actor: &User,
    id: MessageId,
    edit: MessageEdit,
) -> Result<Message, Error> {
    app.send_limit.check(&actor.id)?;
    let change = MessageChange {
        actor: actor.clone(),
        message: id,
        edit,
        windows: app.settings.windows,
        at: Timestamp::now(),
        erasure: false,
    };
    let changed = app
        .store
        .change_message(change)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => Error::MessageNotFound,
            other => other.into(),
        })?;
    app.publish(changed.events).await;
    Ok(changed.message)
}

/// Removes the reaction (`MessageEdit::React(None)`) or deletes the message
/// (`MessageEdit::Delete`) of an account being deleted, wherever it may see the message,
/// whatever the windows (not counted against the send rate), and publishes the one event.
pub async fn erase(app: &App, actor: &User, id: MessageId, edit: MessageEdit) -> Result<(), Error> {
    let change = MessageChange {
        actor: actor.clone(),
        message: id,
        edit,
        windows: app.settings.windows,
        at: Timestamp::now(),
        erasure: true,
    };
    let changed = app.store.change_message(change).await?;
    app.publish(changed.events).await;
    Ok(())
}

//! Blocks and message requests (PROTOCOL.md, Safety and privacy): blocking and unblocking
//! someone, the list of blocked people, and accepting or declining a message request. What a
//! block or a request refuses (sends, group adds) is judged inside the store's transactions
//! (`store::safety`); what typing and presence may cross is `presence`'s.

use crate::accounts;
use crate::app::App;
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::event::Ephemeral;
use crate::domain::input::Username;
use crate::domain::time::Timestamp;

/// The person named, never the caller (`cannot_message_self`).
async fn other(app: &App, caller: &User, name: &Username) -> Result<User, Error> {
    let other = accounts::find_user(app, name).await?;
    if other.id == caller.id {
        return Err(Error::CannotMessageSelf);
    }
    Ok(other)
}

/// The caller blocks the person named (again: no change).
pub async fn block(app: &App, caller: &User, name: &Username) -> Result<(), Error> {
    let other = other(app, caller, name).await?;
    app.store
        .block(caller.id, other.id, Timestamp::now())
        .await?;
    // Presence no longer crosses: each shows offline to the other from now on.
    for (to, whom) in [(other.id, caller), (caller.id, &other)] {
        let offline = Ephemeral::Presence {
            user: whom.username.clone(),
            online: false,
            last_seen: None,
        };
        app.bus.signal(vec![to], offline).await;
    }
    Ok(())
}

/// The caller stops blocking the person named (not blocked: no change).
pub async fn unblock(app: &App, caller: &User, name: &Username) -> Result<(), Error> {
    let other = other(app, caller, name).await?;
    app.store.unblock(caller.id, other.id).await?;
    Ok(())
}

/// The people the caller blocks, in the order blocked.
pub async fn blocked(app: &App, caller: &User) -> Result<Vec<User>, Error> {
    Ok(app.store.blocked_users(caller.id).await?)
}

/// The caller accepts the message request from the person named (nothing pending: no change);
/// the read receipts it withheld reach them as one `read` event.
pub async fn accept(app: &App, caller: &User, name: &Username) -> Result<(), Error> {
    let other = other(app, caller, name).await?;
    let events = app
        .store
        .accept_request(caller, other.id, Timestamp::now())
        .await?;
    app.publish(events).await;
    Ok(())
}

/// The caller declines the pending message request from the person named (nothing pending: no
/// change).
pub async fn decline(app: &App, caller: &User, name: &Username) -> Result<(), Error> {
    let other = other(app, caller, name).await?;
    app.store.decline_request(caller.id, other.id).await?;
    Ok(())
}

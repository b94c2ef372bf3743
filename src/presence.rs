//! Presence (online while at least one socket is open; last seen when the last one closes) and
//! typing indicators. Both are ephemeral signals: presence goes only to people who share a
//! direct conversation (a connect never fans out to every member of every group), typing to the
//! one person typed to, or to a group's other current members.
//!
//! Safety: neither crosses a block, either way, groups included; presence does not go from
//! the recipient of a pending message request to its sender (nor either way once declined,
//! `Contact::hears_user`); typing goes to a person only in a direct conversation that has a
//! message, is not declined and is not a pending request with the typer as its recipient
//! (`Store::typing_allowed`). What may not cross is dropped without an error.

use crate::app::App;
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::event::Ephemeral;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::input::Username;
use crate::domain::time::Timestamp;
use crate::{accounts, groups};

/// The most contacts a presence snapshot lists.
const SNAPSHOT_LIMIT: usize = 500;

/// Announces `user` online to their contacts; call when their first socket opened.
pub async fn came_online(app: &App, user: &User) {
    app.bus.set_presence(user.id, true).await;
    announce(app, user, true, None).await;
}

/// Records last-seen and announces `user` offline; call when their last socket on this node
/// closed (nothing is announced while they still have a socket on another node).
pub async fn went_offline(app: &App, user: &User) {
    if app.bus.set_presence(user.id, false).await {
        return;
    }
    let now = Timestamp::now();
    if let Err(err) = app.store.set_last_seen(user.id, now).await {
        tracing::warn!(error = %err, user = %user.username, "could not record last-seen");
    }
    announce(app, user, false, Some(now)).await;
}

async fn announce(app: &App, user: &User, online: bool, last_seen: Option<Timestamp>) {
    let contacts = match app.store.contacts(user.id).await {
        Ok(contacts) => contacts,
        Err(err) => {
            tracing::warn!(error = %err, "could not load contacts for presence");
            return;
        }
    };
    let users: Vec<UserId> = contacts
        .into_iter()
        .filter(|c| c.hears_user)
        .map(|c| c.user.id)
        .collect();
    if !users.is_empty() {
        let signal = Ephemeral::Presence {
            user: user.username.clone(),
            online,
            last_seen,
        };
        app.bus.signal(users, signal).await;
    }
}

/// The current presence of `user`'s contacts (or of `only` that one), for a socket that opens.
pub async fn snapshot(
    app: &App,
    user: &User,
    only: Option<UserId>,
) -> Result<Vec<Ephemeral>, Error> {
    let contacts: Vec<_> = app
        .store
        .contacts(user.id)
        .await?
        .into_iter()
        .filter(|c| c.heard_by_user && only.is_none_or(|id| id == c.user.id))
        .take(SNAPSHOT_LIMIT)
        .collect();
    let ids: Vec<UserId> = contacts.iter().map(|c| c.user.id).collect();
    let online = app.bus.online(&ids).await;
    Ok(contacts
        .into_iter()
        .zip(online)
        .map(|(c, online)| Ephemeral::Presence {
            user: c.user.username,
            online,
            last_seen: if online { None } else { c.last_seen },
        })
        .collect())
}

/// Counts a typing signal of `from` against their rate limit (`rate_limited` when over it).
/// Checked before anything else about the signal, the name it is addressed to included.
pub fn may_type(app: &App, from: &User) -> Result<(), Error> {
    app.typing_limit.check(&from.id)
}

/// Relays "typing" from `from` to the user named `to`, once `may_type` allowed it. Returns the
/// recipient, or `None` when the signal may not reach them (dropped, no error).
pub async fn typing(
    app: &App,
    from: &User,
    to: &Username,
    active: bool,
) -> Result<Option<User>, Error> {
    let to = accounts::find_user(app, to).await?;
    if to.id == from.id {
        return Err(Error::CannotMessageSelf);
    }
    if !app.store.typing_allowed(from.id, to.id).await? {
        return Ok(None);
    }
    app.bus
        .signal(
            vec![to.id],
            Ephemeral::Typing {
                conversation_id: None,
                from: from.username.clone(),
                active,
            },
        )
        .await;
    Ok(Some(to))
}

/// Relays that `from` started or stopped typing in group `group` to its other current members
/// (the online ones get it); `from` must be a current member.
pub async fn typing_in_group(
    app: &App,
    from: &User,
    group: ConversationId,
    active: bool,
) -> Result<(), Error> {
    let members = groups::members(app, from, group).await?;
    let blocks = app.store.block_peers(from.id).await?;
    let others: Vec<UserId> = members
        .iter()
        .map(|m| m.user.id)
        .filter(|id| *id != from.id && !blocks.contains(id))
        .collect();
    if !others.is_empty() {
        app.bus
            .signal(
                others,
                Ephemeral::Typing {
                    conversation_id: Some(group),
                    from: from.username.clone(),
                    active,
                },
            )
            .await;
    }
    Ok(())
}

/// Tells `to` that `from` stopped typing (expiry or disconnect), unless a block or a request
/// came between them meanwhile.
pub async fn stop_typing(app: &App, from: &User, to: UserId) {
    if !app.store.typing_allowed(from.id, to).await.unwrap_or(false) {
        return;
    }
    app.bus
        .signal(
            vec![to],
            Ephemeral::Typing {
                conversation_id: None,
                from: from.username.clone(),
                active: false,
            },
        )
        .await;
}

//! Reading conversations: the list, a page of history, and a chat view's re-synchronisation.
//! A user only ever sees conversations they belong to: the store checks membership in every
//! query that takes a conversation. A direct conversation is found from the other party's
//! username here, once; before its first message there is none, and its pages are empty.

use crate::accounts;
use crate::app::App;
use crate::domain::error::Error;
use crate::domain::input::Username;
use crate::domain::{ConversationId, MessageId, User};
use crate::store::{ConversationSummary, ConversationSync, HistoryPage, StoreError};

/// The default and largest page of history.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;
/// The most conversations listed.
pub const MAX_CONVERSATIONS: u32 = 500;

pub async fn list(app: &App, user: &User) -> Result<Vec<ConversationSummary>, Error> {
    Ok(app.store.conversations(user.id, MAX_CONVERSATIONS).await?)
}

/// The other party named `other` and the direct conversation `user` has with them, if it has
/// begun: the one place a username becomes a conversation. An unknown name is
/// `user_not_found`; naming oneself finds no conversation (there is none with oneself).
pub async fn with(
    app: &App,
    user: &User,
    other: &Username,
) -> Result<(User, Option<ConversationId>), Error> {
    let other = accounts::find_user(app, other).await?;
    let conversation = app.store.direct_conversation(user.id, other.id).await?;
    Ok((other, conversation))
}

/// As [`with`], for a chat with someone else: oneself is `cannot_message_self`.
pub async fn direct(
    app: &App,
    user: &User,
    other: &Username,
) -> Result<(User, Option<ConversationId>), Error> {
    let (other, conversation) = with(app, user, other).await?;
    if other.id == user.id {
        return Err(Error::CannotMessageSelf);
    }
    Ok((other, conversation))
}

/// Messages of the conversation with `other` older than `before`, or the newest page.
pub async fn history(
    app: &App,
    user: &User,
    other: &Username,
    before: Option<MessageId>,
    limit: u32,
) -> Result<HistoryPage, Error> {
    let (_, Some(conversation)) = with(app, user, other).await? else {
        return Ok(HistoryPage {
            messages: Vec::new(),
            has_more: false,
        });
    };
    app.store
        .history(user.id, conversation, before, limit)
        .await
        .map_err(not_a_member)
}

/// Messages after `after` and recent statuses, for a chat view that reconnects.
pub async fn sync(
    app: &App,
    user: &User,
    other: &Username,
    after: MessageId,
    limit: u32,
) -> Result<ConversationSync, Error> {
    let (_, Some(conversation)) = with(app, user, other).await? else {
        return Ok(ConversationSync {
            messages: Vec::new(),
            has_more: false,
            statuses: Vec::new(),
        });
    };
    app.store
        .conversation_sync(user.id, conversation, after, limit)
        .await
        .map_err(not_a_member)
}

/// A page of group `id` as `user` sees it (a past member: up to their exit).
pub async fn group_history(
    app: &App,
    user: &User,
    id: ConversationId,
    before: Option<MessageId>,
    limit: u32,
) -> Result<HistoryPage, Error> {
    app.store.group(user.id, id).await.map_err(not_a_member)?;
    app.store
        .history(user.id, id, before, limit)
        .await
        .map_err(not_a_member)
}

/// A group chat view's re-sync.
pub async fn group_sync(
    app: &App,
    user: &User,
    id: ConversationId,
    after: MessageId,
    limit: u32,
) -> Result<ConversationSync, Error> {
    app.store.group(user.id, id).await.map_err(not_a_member)?;
    app.store
        .conversation_sync(user.id, id, after, limit)
        .await
        .map_err(not_a_member)
}

/// A conversation the caller does not belong to behaves as one that does not exist.
fn not_a_member(err: StoreError) -> Error {
    match err {
        StoreError::NotFound => Error::ConversationNotFound,
        other => other.into(),
    }
}

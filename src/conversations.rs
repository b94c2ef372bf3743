//! Reading conversations: the list, a page of history, and a chat view's re-synchronisation.
//! A user only ever sees conversations they belong to: every query is keyed by the caller.

use crate::accounts;
use crate::app::App;
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::input;
use crate::store::{ConversationSummary, ConversationSync, HistoryPage};

/// The default and largest page of history.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;
/// The most conversations listed.
pub const MAX_CONVERSATIONS: u32 = 500;

pub async fn list(app: &App, user: &User) -> Result<Vec<ConversationSummary>, Error> {
    Ok(app
        .timed(
            "conversations",
            app.store.conversations(user.id, MAX_CONVERSATIONS),
        )
        .await?)
}

/// Messages of the conversation with `other` older than `before_id` (raw query value), or the
/// newest page.
pub async fn history(
    app: &App,
    user: &User,
    other: &str,
    before_id: Option<&str>,
    limit: Option<&str>,
) -> Result<HistoryPage, Error> {
    let before = before_id.map(input::before_id).transpose()?;
    let limit = limit
        .map(|l| input::limit(l, MAX_PAGE))
        .transpose()?
        .unwrap_or(DEFAULT_PAGE);
    let other = accounts::find_user(app, other).await?;
    Ok(app
        .timed(
            "history",
            app.store.history(user.id, other.id, before, limit),
        )
        .await?)
}

/// Messages after `after_id` and recent statuses, for a chat view that reconnects.
pub async fn sync(
    app: &App,
    user: &User,
    other: &str,
    after_id: Option<&str>,
    limit: Option<&str>,
) -> Result<ConversationSync, Error> {
    let after = after_id
        .map(input::after_id)
        .transpose()?
        .unwrap_or(crate::domain::ids::MessageId(0));
    let limit = limit
        .map(|l| input::limit(l, MAX_PAGE))
        .transpose()?
        .unwrap_or(MAX_PAGE);
    let other = accounts::find_user(app, other).await?;
    Ok(app
        .timed(
            "conversation_sync",
            app.store.conversation_sync(user.id, other.id, after, limit),
        )
        .await?)
}

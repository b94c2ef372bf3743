//! A user's export of their data (`GET /api/me/export`): at most one an hour, read page by page
//! so it never sits in memory whole: the conversations they are or were in, each one's messages
//! as they see them within their range (tombstones with an empty body), their uploads, the
//! people they block, their bearer tokens and their reports. The web layer writes the JSON.

use std::time::Duration;

use crate::app::App;
use crate::auth::Caller;
use crate::domain::error::Error;
use crate::domain::time::Timestamp;
use crate::domain::upload::Upload;
use crate::domain::{ConversationId, Message, MessageId, User};
use crate::store::{ConversationSummary, ReportSummary, TokenInfo};

/// One export an hour per user.
pub const EXPORT_EVERY: Duration = Duration::from_secs(3600);

/// Messages read at a time.
const PAGE: u32 = 200;

/// Every conversation the export lists (far beyond any list a person keeps).
const MAX_CONVERSATIONS: u32 = 1_000_000;

/// Records an export now, or 429 `rate_limited` if one was made in the last hour.
pub async fn claim(app: &App, user: &User) -> Result<Timestamp, Error> {
    let now = Timestamp::now();
    let every = EXPORT_EVERY.as_millis() as i64;
    let not_before = Timestamp(now.millis() - every);
    match app.store.claim_export(user.id, now, not_before).await? {
        None => Ok(now),
        Some(last) => {
            let wait = (last.millis() + every - now.millis()).clamp(1000, every);
            Err(Error::RateLimited {
                retry_after: Duration::from_millis(wait as u64),
            })
        }
    }
}

/// The conversations `user` is or was in.
pub async fn conversations(app: &App, user: &User) -> Result<Vec<ConversationSummary>, Error> {
    Ok(app.store.conversations(user.id, MAX_CONVERSATIONS).await?)
}

/// The messages of `conversation` after `after` that `user` sees, ascending, and whether more
/// follow.
pub async fn messages_after(
    app: &App,
    user: &User,
    conversation: ConversationId,
    after: MessageId,
) -> Result<(Vec<Message>, bool), Error> {
    let page = app
        .store
        .conversation_sync(user.id, conversation, after, PAGE)
        .await?;
    Ok((page.messages, page.has_more))
}

/// The user's uploads that are not gone.
pub async fn uploads(app: &App, user: &User) -> Result<Vec<Upload>, Error> {
    Ok(app.store.user_uploads(user.id).await?)
}

/// The reports the user made.
pub async fn reports(app: &App, user: &User) -> Result<Vec<ReportSummary>, Error> {
    Ok(app.store.reports_by(user.id).await?)
}

/// The usernames `user` blocks, in the order blocked.
pub async fn blocks(app: &App, user: &User) -> Result<Vec<String>, Error> {
    let blocked = app.store.blocked_users(user.id).await?;
    Ok(blocked.into_iter().map(|u| u.username).collect())
}

/// The caller's bearer tokens as `GET /api/auth/tokens` lists them, each with whether it is
/// the one making the call.
pub async fn tokens(app: &App, caller: &Caller) -> Result<Vec<(TokenInfo, bool)>, Error> {
    crate::accounts::tokens(app, caller).await
}

//! Deleting an account (`DELETE /api/me`, `linkup admin delete-user`): the Forgetting guarantee
//! for a person. The account stops working first (status deleted: no login, its sessions and
//! tokens gone, its sockets closed on every node); then its reactions go (one `reaction` event
//! each) and, when asked, its messages become tombstones (one `message_updated` each), through
//! the same store change as any edit; it leaves every group as by `leave` (owner hand-over
//! included); last it is renamed to a reserved `deleted-` name, its old name held for 30 days,
//! and its uploads marked gone (the upload sweep removes their bytes). Receipts stay.
//!
//! Each step is an action of its own that commits and publishes; a deletion cut short (a store
//! outage) leaves the account deleted but not yet renamed, and an operator's `delete-user`
//! finishes it.

use rand::RngExt;

use crate::app::App;
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::input::Username;
use crate::domain::time::Timestamp;
use crate::store::{AccountStatus, MessageEdit, Retirement, StoreError};

/// How long a deleted account's username cannot be signed up again.
pub const RETIRED_FOR_MILLIS: i64 = 30 * 86_400_000;

/// What others see as a deleted account's display name.
pub const DELETED_DISPLAY_NAME: &str = "Deleted account";

/// Deletes `user`'s account; with `delete_messages`, its messages and uploads too.
pub async fn delete_account(app: &App, user: &User, delete_messages: bool) -> Result<(), Error> {
    app.store
        .set_account_status(user.id, AccountStatus::Deleted)
        .await?;
    app.bus.close_user(user.id).await;
    let footprint = app.store.account_footprint(user.id).await?;
    for id in footprint.reactions {
        let erased = crate::edits::erase(app, user, id, MessageEdit::React(None)).await;
        if let Err(err) = erased {
            tracing::warn!(error = %err, message = id.0, "a deleted account's reaction stayed");
        }
    }
    if delete_messages {
        for id in footprint.messages {
            let erased = crate::edits::erase(app, user, id, MessageEdit::Delete).await;
            if let Err(err) = erased {
                tracing::warn!(error = %err, message = id.0, "a deleted account's message stayed");
            }
        }
    }
    for group in footprint.groups {
        match crate::groups::leave(app, user, group).await {
            Ok(()) | Err(Error::MemberNotFound) => {}
            Err(err) => {
                tracing::warn!(error = %err, group = group.0, "a deleted account stayed in a group")
            }
        }
    }
    retire(app, user, delete_messages).await?;
    // Every node forgets the old name again, in case a lookup remembered it meanwhile.
    app.bus.close_user(user.id).await;
    Ok(())
}

async fn retire(app: &App, user: &User, remove_uploads: bool) -> Result<(), Error> {
    let at = Timestamp::now();
    for _ in 0..5 {
        let retirement = Retirement {
            user: user.id,
            old_username: user.username.clone(),
            new_username: reserved_name()?,
            display_name: DELETED_DISPLAY_NAME.to_owned(),
            retired_until: Timestamp(at.millis() + RETIRED_FOR_MILLIS),
            remove_uploads,
            at,
        };
        match app.store.retire_account(retirement).await {
            Err(StoreError::Conflict(_)) => continue,
            other => return Ok(other?),
        }
    }
    Err(Error::Unavailable)
}

/// `deleted-` and 8 random characters of `[a-z0-9]`.
fn reserved_name() -> Result<Username, Error> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..8)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    Username::parse(&format!("deleted-{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_deleted_and_eight_characters() {
        let name = reserved_name().unwrap();
        let tail = name.as_str().strip_prefix("deleted-").unwrap();
        assert_eq!(tail.len(), 8);
        assert!(
            tail.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }
}

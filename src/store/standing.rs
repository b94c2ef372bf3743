//! What both backends record alike for accounts and reports (v2 safety): an account's status
//! (active, suspended, deleted), whether a login may go ahead (a reset password logs in once),
//! a report and the copy of the message it keeps, what an account leaves behind for its deletion
//! to undo, and the account as it is retired.

use crate::domain::Message;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::input::Username;
use crate::domain::message::SystemRecord;
use crate::domain::time::Timestamp;

/// An account's status, as stored in `users.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    /// By an operator: no login, no session, no token, no socket; messages and memberships stay.
    Suspended,
    /// Deleted by its owner or an operator (its username then becomes a reserved one).
    Deleted,
}

impl AccountStatus {
    pub fn as_i64(self) -> i64 {
        match self {
            AccountStatus::Active => 0,
            AccountStatus::Suspended => 1,
            AccountStatus::Deleted => 2,
        }
    }

    pub fn from_i64(n: i64) -> Self {
        match n {
            0 => AccountStatus::Active,
            1 => AccountStatus::Suspended,
            _ => AccountStatus::Deleted,
        }
    }
}

/// Whether a login with the right password goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Suspended,
    /// Deleted, or a reset password already used once or past its 24 hours.
    Refused,
}

/// A member reporting a message they can see.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub reporter: UserId,
    pub message: MessageId,
    pub reason: String,
    pub at: Timestamp,
}

/// A report as operators see it, with the message as it was when reported.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: i64,
    pub at: Timestamp,
    pub reporter: String,
    pub reason: String,
    /// The kept copy (`kept_message`), as JSON.
    pub message: serde_json::Value,
}

/// One of a user's own reports, for their export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSummary {
    pub message_id: MessageId,
    pub reason: String,
    pub at: Timestamp,
}

/// What an account's deletion undoes: the messages it reacted to, its text messages not yet
/// deleted, and the groups it is a current member of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footprint {
    pub reactions: Vec<MessageId>,
    pub messages: Vec<MessageId>,
    pub groups: Vec<ConversationId>,
}

/// An account retired by its deletion: renamed to `new_username`, its old name held until
/// `retired_until`, its sessions and tokens ended; with `remove_uploads`, every upload of its
/// gone at `at` (the sweep then removes the bytes).
#[derive(Debug, Clone)]
pub struct Retirement {
    pub user: UserId,
    pub old_username: String,
    pub new_username: Username,
    pub display_name: String,
    pub retired_until: Timestamp,
    pub remove_uploads: bool,
    pub at: Timestamp,
}

/// The system messages naming a retired account, rewritten under its new name: `(id, body,
/// record as stored)` for each of `messages` (`(id, record as stored)`) that names `old`.
pub fn renamed_system_messages(
    messages: Vec<(i64, String)>,
    old: &str,
    new: &str,
) -> Vec<(i64, String, String)> {
    messages
        .into_iter()
        .filter_map(|(id, stored)| {
            let record: SystemRecord = serde_json::from_str(&stored).ok()?;
            let (record, body) = crate::domain::group_change::renamed(&record, old, new)?;
            Some((id, body, serde_json::to_string(&record).ok()?))
        })
        .collect()
}

/// The copy of a message a report keeps: what it was (body, sender, times, attachments'
/// metadata), without the reader-dependent parts (status, reactions, quote).
pub fn kept_message(message: &Message) -> String {
    serde_json::json!({
        "id": message.id,
        "conversation_id": message.conversation_id,
        "kind": message.kind,
        "sender": message.sender,
        "body": message.body,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "attachments": message.attachments,
    })
    .to_string()
}

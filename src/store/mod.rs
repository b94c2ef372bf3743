//! The store: the only part of LinkUp that speaks SQL.
//!
//! `Store` is the interface the domain actions use: `sqlite` implements it for the embedded
//! default, `postgres` for several nodes, and `tests/store` holds the one contract both keep.
//! It speaks conversations and members: whatever reads or writes a conversation's messages
//! takes its id and the member asking, and the backend checks membership in the query
//! (`statements::IS_MEMBER`); a username becomes a conversation once, at the edge
//! (`direct_conversation`). Every write that concerns a user appends that user's events in the
//! same transaction, with the user's next cursor, and returns them so the caller can publish
//! them after the commit.

pub mod carried;
pub mod changes;
pub mod copy;
mod error;
pub mod groups;
pub mod postgres;
pub mod receipts;
pub mod records;
pub mod safety;
pub mod sqlite;
pub mod standing;
pub mod statements;
pub mod timed;
pub mod uploads;
pub mod viewpoint;

use async_trait::async_trait;

pub use changes::{Changed, MessageChange, MessageEdit};
pub use error::{Refusal, StoreError};
pub use groups::{GroupEdit, GroupRequest, GroupWrite, Member, NewGroup};
pub use standing::{
    AccountStatus, Admission, Footprint, NewReport, Report, ReportSummary, Retirement,
};
pub use uploads::{NewUpload, UploadUsage};

use crate::domain::User;
use crate::domain::event::{Event, UserEvent};
use crate::domain::group::{Group, Role};
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::input::{Body, ClientId, Username};
use crate::domain::time::Timestamp;
use crate::domain::upload::{Upload, UploadId};
use crate::domain::{Message, MessageStatus};

/// A user with the password hash, for login only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub password_hash: String,
    pub at: Timestamp,
}

/// A browser session. Only the SHA-256 of its id is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id_hash: Vec<u8>,
    pub user: UserId,
    pub csrf_token: String,
    pub at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// Someone who shares a conversation with a user, and when their last socket closed.
#[derive(Debug, Clone)]
pub struct Contact {
    pub user: User,
    pub last_seen: Option<Timestamp>,
    /// The user's presence reaches them (the user is not the recipient of their pending
    /// request, and neither declined the other).
    pub hears_user: bool,
    /// Their presence reaches the user (as `hears_user`, the other way).
    pub heard_by_user: bool,
}

/// Where a send goes, resolved at the edge from what the client named.
#[derive(Debug, Clone)]
pub enum Destination {
    /// The direct conversation with this user, opened by the first message between the two.
    Direct(User),
    /// A group; the sender must be one of its current members (checked with the send).
    Group(ConversationId),
}

/// A send, validated and resolved to users.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub sender: User,
    pub to: Destination,
    pub client_id: ClientId,
    pub body: Body,
    /// The message this one replies to: a text message of the same conversation that the
    /// sender can see and that is not deleted (checked with the send).
    pub reply_to: Option<MessageId>,
    /// Uploads of the sender's, in the order given (each checked with the send).
    pub attachments: Vec<UploadId>,
    pub at: Timestamp,
    /// Message requests are on (`--message-requests`): a first contact is a request for its
    /// recipient (`store::safety`).
    pub requests: bool,
}

impl SendRequest {
    /// The other party of the direct conversation this send goes to (none for a group).
    pub fn recipient(&self) -> Option<&User> {
        match &self.to {
            Destination::Direct(user) => Some(user),
            Destination::Group(_) => None,
        }
    }
}

/// The result of a send: the stored message, whether this call created it, and the events to
/// publish (none for an idempotent retry).
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: Message,
    pub created: bool,
    pub events: Vec<UserEvent>,
}

/// A member moving their receipts forward to `status`, up to the newest of `message_ids` in
/// each conversation those name.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub reader: User,
    pub message_ids: Vec<MessageId>,
    pub status: MessageStatus,
    /// Groups of at most this many members tell each sender of every move.
    pub live_max: usize,
    pub at: Timestamp,
}

/// A member marking read every message from others in `conversation` up to `up_to`.
#[derive(Debug, Clone)]
pub struct ReadUpTo {
    pub reader: User,
    pub conversation: ConversationId,
    pub up_to: MessageId,
    /// As `StatusChange::live_max`.
    pub live_max: usize,
    pub at: Timestamp,
}

/// The ids whose status moved for the reader (ascending), the position named (the newest id
/// given), and the events to publish.
#[derive(Debug, Clone, Default)]
pub struct StatusOutcome {
    pub updated: Vec<MessageId>,
    pub up_to: Option<MessageId>,
    pub events: Vec<UserEvent>,
}

/// Where a message stands with each member who was there when it was sent ("message info"):
/// read and delivered with the time a receipt first covered it, ordered by that time, and
/// pending, in the order they joined.
#[derive(Debug, Clone)]
pub struct MessageReceipts {
    pub message_id: MessageId,
    /// Who sent it (only they may see this).
    pub sender: UserId,
    pub read: Vec<(User, Timestamp)>,
    pub delivered: Vec<(User, Timestamp)>,
    pub pending: Vec<User>,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

/// One item of a user's conversation list.
#[derive(Debug, Clone)]
pub struct ConversationSummary {
    pub id: ConversationId,
    /// The other member of a direct conversation.
    pub with: Option<User>,
    /// A group as the user sees it.
    pub group: Option<GroupSummary>,
    /// The newest message inside the user's range, system messages included.
    pub last_message: Option<Message>,
    /// Text messages from others, not deleted, inside the user's range, not read.
    pub unread: i64,
    /// A message request or group request for the user (Safety).
    pub request: bool,
}

/// A group in a user's list (as it was at their exit, for a group they left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub title: String,
    pub member_count: i64,
    /// `None` once the user left or was removed.
    pub role: Option<Role>,
    pub left: bool,
}

#[derive(Debug, Clone)]
pub struct ConversationSync {
    pub messages: Vec<Message>,
    pub has_more: bool,
    pub statuses: Vec<(MessageId, MessageStatus)>,
}

#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub has_more: bool,
}

/// Everything the domain needs from persistent storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a user; `Conflict` if the username is taken.
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError>;
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError>;
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    /// Users whose username starts with `prefix`, except `exclude`, alphabetically.
    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError>;
    /// The live (unexpired at `now`) session with this id hash.
    async fn session(
        &self,
        id_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError>;
    async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError>;
    async fn create_token(&self, token: NewToken) -> Result<(), StoreError>;
    /// The live (unexpired at `now`) bearer token with this hash, and its user.
    async fn token_user(
        &self,
        token_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError>;
    async fn delete_token(&self, token_hash: Vec<u8>) -> Result<(), StoreError>;

    /// Stores messages in order, each idempotently on `(sender, client_id)`: a retry with the
    /// same body and recipient returns the stored message with `created: false`; another body
    /// is `Conflict`. One failing does not stop the others; backends commit them together.
    async fn send_messages(&self, requests: Vec<SendRequest>) -> Vec<Result<Sent, StoreError>>;
    /// Stores one message, as `send_messages`.
    async fn send_message(&self, request: SendRequest) -> Result<Sent, StoreError> {
        self.send_messages(vec![request])
            .await
            .pop()
            .unwrap_or_else(|| Err(StoreError::Other("a send went unanswered".into())))
    }
    /// The message `sender` stored under `client_id`, if any.
    async fn sent_message(
        &self,
        sender: UserId,
        client_id: &ClientId,
    ) -> Result<Option<Message>, StoreError>;
    /// Moves the reader's receipts forward; `NotFound` (changing nothing) if any id is not a
    /// message the reader can see, or is one they sent.
    async fn set_status(&self, change: StatusChange) -> Result<StatusOutcome, StoreError>;
    /// Marks read every message from others in the conversation up to an id of that
    /// conversation; `NotFound` if the reader is not a member or the id is not one of its
    /// messages they can see.
    async fn read_up_to(&self, request: ReadUpTo) -> Result<StatusOutcome, StoreError>;
    /// Where message `id` stands with each member ("message info"); `NotFound` unless
    /// `viewer` can see it (whether the viewer is its sender is the caller's to check).
    async fn message_receipts(
        &self,
        viewer: UserId,
        id: MessageId,
    ) -> Result<MessageReceipts, StoreError>;

    /// Edits, deletes for everyone or reacts to a message, judged by `domain::message_rules`
    /// against the message and the actor as they stand in the same transaction, with one event
    /// for every current member who can see the message; a change that changes nothing answers
    /// the message with no event. `NotFound` unless the actor can see the message.
    async fn change_message(&self, change: MessageChange) -> Result<Changed, StoreError>;

    /// Creates a group with its `created` system message, idempotently on `(creator,
    /// client_id)`: a retry with the same title, members, description and settings answers the
    /// stored group with `created: false`; anything else is `Conflict`.
    async fn create_group(&self, group: NewGroup) -> Result<GroupWrite, StoreError>;
    /// Applies one change to a group with the system message it writes, judged by the rules of
    /// `domain::group_rules` against the roles and settings as they stand in the same
    /// transaction; `NotFound` for someone never a member (or no such group), `Refused` when a
    /// rule says no.
    async fn change_group(&self, request: GroupRequest) -> Result<GroupWrite, StoreError>;
    /// The group as `viewer` sees it (a past member: as it was at their exit); `NotFound` for
    /// someone never a member, or an id that is no group.
    async fn group(&self, viewer: UserId, id: ConversationId) -> Result<Group, StoreError>;
    /// The current members, in the order they joined; `NotFound` as `group`, `Refused`
    /// (`not_a_member`) for a past member.
    async fn group_members(
        &self,
        viewer: UserId,
        id: ConversationId,
    ) -> Result<Vec<Member>, StoreError>;

    /// The other party of direct conversation `id`, if `member` is one of its two.
    async fn direct_party(
        &self,
        member: UserId,
        id: ConversationId,
    ) -> Result<Option<User>, StoreError>;
    /// The direct conversation between two users, if they have exchanged a message.
    async fn direct_conversation(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, StoreError>;
    /// Up to `limit` messages of the conversation with id < `before` (or the newest), ascending;
    /// `NotFound` if `member` is not one of its members.
    async fn history(
        &self,
        member: UserId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError>;
    /// Messages after `after` (ascending, at most `limit`) and the statuses of the latest
    /// messages up to `after`, for a chat view that reconnects; `NotFound` if `member` is not
    /// one of its members.
    async fn conversation_sync(
        &self,
        member: UserId,
        conversation: ConversationId,
        after: MessageId,
        limit: u32,
    ) -> Result<ConversationSync, StoreError>;
    /// The user's conversations, newest activity first.
    async fn conversations(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, StoreError>;
    /// The user's events with cursor > `since`, in order.
    async fn events_since(
        &self,
        user: UserId,
        since: Cursor,
        limit: u32,
    ) -> Result<EventPage, StoreError>;

    /// The user's newest cursor (0 before any event).
    async fn last_cursor(&self, user: UserId) -> Result<Cursor, StoreError>;
    /// Everyone who shares a direct conversation with `user` (presence goes to them only).
    async fn contacts(&self, user: UserId) -> Result<Vec<Contact>, StoreError>;
    /// Records when the user's last socket closed.
    async fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<(), StoreError>;

    /// Records a finished upload.
    async fn create_upload(&self, upload: NewUpload) -> Result<(), StoreError>;
    /// What `user` uploaded after `since` (deleted uploads included).
    async fn upload_usage(&self, user: UserId, since: Timestamp)
    -> Result<UploadUsage, StoreError>;
    /// Upload `id` if `viewer` may download it at `now`: its uploader while a message carries it
    /// or, never attached, for 24 hours; a member who can see a message that carries it.
    async fn readable_upload(
        &self,
        viewer: UserId,
        id: UploadId,
        now: Timestamp,
    ) -> Result<Option<Upload>, StoreError>;
    /// Marks gone, at `now`, every upload no message may carry any more (never attached for 24
    /// hours, or no longer carried by any message), and returns up to `limit` gone uploads whose
    /// bytes are still stored.
    async fn sweep_uploads(&self, now: Timestamp, limit: u32) -> Result<Vec<UploadId>, StoreError>;
    /// Records that these uploads' bytes are removed, and forgets removed uploads made at or
    /// before `forget_before`.
    async fn uploads_removed(
        &self,
        ids: Vec<UploadId>,
        forget_before: Timestamp,
    ) -> Result<(), StoreError>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Finishes queued writes and releases the database.
    async fn close(&self);

    // -- Authentication (auth) --
    /// `user`'s bearer tokens live at `now`, oldest first.
    async fn tokens(&self, user: UserId, now: Timestamp) -> Result<Vec<TokenInfo>, StoreError>;
    /// Revokes `user`'s bearer token with public id `id`; its hash, or `None` when `user` has
    /// no token with that id.
    async fn revoke_token(&self, user: UserId, id: String) -> Result<Option<Vec<u8>>, StoreError>;
    /// Records a use of the bearer token at `at`, unless one less than a minute earlier is
    /// recorded already (so a busy token costs one write a minute).
    async fn touch_token(&self, token_hash: Vec<u8>, at: Timestamp) -> Result<(), StoreError>;
    /// Sets `user`'s password hash and ends every session and token of theirs but `keep` (a
    /// session id hash or token hash; `None` ends them all), in one transaction; returns the
    /// digests ended, so their sockets can be closed.
    async fn change_password(
        &self,
        user: UserId,
        password_hash: String,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Deletes the sessions and bearer tokens expired at `now`; how many.
    async fn purge_expired(&self, now: Timestamp) -> Result<u64, StoreError>;
    // Accounts, reports and operators (v2 safety).

    /// Sets an account's status; any status but active also ends every session and token of
    /// the account (session and token lookups refuse a suspended or deleted account anyway).
    async fn set_account_status(
        &self,
        user: UserId,
        status: AccountStatus,
    ) -> Result<(), StoreError>;
    /// The account's status (`NotFound` for no such user).
    async fn account_status(&self, user: UserId) -> Result<AccountStatus, StoreError>;
    /// Whether a login of `user` with the right password goes ahead at `now`: not while
    /// suspended or deleted; a password set by a reset logs in once, within its time (this call
    /// spends it).
    async fn admit_login(&self, user: UserId, now: Timestamp) -> Result<Admission, StoreError>;
    /// Sets a password that logs in once before `until`, and ends every session and token.
    async fn reset_password(
        &self,
        user: UserId,
        password_hash: String,
        until: Timestamp,
    ) -> Result<(), StoreError>;
    /// Reports a message the reporter can see (a past member within their range), keeping a
    /// copy of it and holding its attachments' bytes. `Ok(false)` for a repeat; `NotFound` for
    /// a message the reporter cannot see; `Refused` `invalid_report` for their own message and
    /// `MessageDeleted` for a tombstone.
    async fn report_message(&self, report: NewReport) -> Result<bool, StoreError>;
    /// Reports with id > `after`, oldest first, at most `limit`.
    async fn reports(&self, after: i64, limit: u32) -> Result<Vec<Report>, StoreError>;
    /// The reports `user` made, oldest first.
    async fn reports_by(&self, user: UserId) -> Result<Vec<ReportSummary>, StoreError>;
    /// What an account's deletion undoes (`Footprint`).
    async fn account_footprint(&self, user: UserId) -> Result<Footprint, StoreError>;
    /// Renames a deleted account, holds its old name, ends its sessions and tokens and, if
    /// asked, marks its uploads gone; `Conflict` if the new name is taken.
    async fn retire_account(&self, retirement: Retirement) -> Result<(), StoreError>;
    /// Whether `username` is held by a deletion at `now`.
    async fn username_retired(
        &self,
        username: &Username,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Records an export by `user` at `now` unless one was made after `not_before`; answers
    /// when that earlier one was made.
    async fn claim_export(
        &self,
        user: UserId,
        now: Timestamp,
        not_before: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError>;
    /// The uploads of `user` that are not gone, oldest first.
    async fn user_uploads(&self, user: UserId) -> Result<Vec<Upload>, StoreError>;
    /// Housekeeping: forgets reports made before `reports_before` (releasing the bytes they
    /// held) and usernames held until `now`.
    async fn purge_kept(&self, now: Timestamp, reports_before: Timestamp)
    -> Result<(), StoreError>;

    // Safety: blocks and message requests (`store::safety`).

    /// `blocker` blocks `blocked` (again: nothing changes).
    async fn block(
        &self,
        blocker: UserId,
        blocked: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// `blocker` stops blocking `blocked` (not blocked: nothing changes).
    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError>;
    /// The users `user` blocks, in the order blocked.
    async fn blocked_users(&self, user: UserId) -> Result<Vec<User>, StoreError>;
    /// Everyone `user` blocks or is blocked by.
    async fn block_peers(&self, user: UserId) -> Result<Vec<UserId>, StoreError>;
    /// `user` accepts the pending message request from `other`: it stops
    /// being one for good, and the read receipts it withheld reach `other` as one `read` event.
    /// Nothing pending: no change, no event.
    async fn accept_request(
        &self,
        user: &User,
        other: UserId,
        at: Timestamp,
    ) -> Result<Vec<UserEvent>, StoreError>;
    /// `user` declines the pending message request from `other`: hidden from their list, and
    /// `other`'s sends refused until `user` writes to them. Nothing pending: no change.
    async fn decline_request(&self, user: UserId, other: UserId) -> Result<(), StoreError>;
    /// `user` accepts group `group`, a request for them (else no change); `NotFound` unless
    /// they are a current member.
    async fn accept_group(&self, user: UserId, group: ConversationId) -> Result<(), StoreError>;
    /// Whether `from`'s typing may reach `to` in their direct conversation: it has a message,
    /// neither blocks the other, it is not declined, and `from` is not the recipient of a
    /// pending request in it.
    async fn typing_allowed(&self, from: UserId, to: UserId) -> Result<bool, StoreError>;
}

// -- Authentication (auth) --

/// A new bearer token. Only the SHA-256 of the secret is stored; `id` is what its owner sees
/// of it in the token list.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: Vec<u8>,
    pub id: String,
    pub user: UserId,
    pub at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// A live bearer token, as a request made with it finds it.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub user: User,
    pub id: String,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// A bearer token as its owner's token list shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

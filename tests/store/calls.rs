//! The one door from the stories to the store. Every store method a story calls and every
//! request type it builds goes through a function here, and the domain types stories name are
//! imported here once and re-exported: when the `Store` trait changes shape (conversation ids
//! instead of user pairs, new request types, moved modules), this file changes and the stories
//! do not. Stories speak of people (`&User`) and messages; the helpers that cannot fail in a
//! correct store `expect` success, the `try_` ones return the store's answer.
//!
//! The store is conversation-first: reads and read-up-to take a conversation id and the member
//! asking. The pair helpers resolve the direct conversation of `me` and `other` here, as the
//! actions do at the edge (no conversation: an empty page, or `NotFound` for a receipt); the
//! `_of` / `_in` helpers take a conversation id, for the stories that pin membership.

pub use linkup::domain::{
    ConversationId, Cursor, Event, Message, MessageId, MessageStatus, Timestamp, User, UserEvent,
};
pub use linkup::store::{
    ConversationSummary, ConversationSync, EventPage, HistoryPage, MessageReceipts, Sent,
    SessionRecord, StatusOutcome, Store, StoreError, TokenInfo, TokenRecord,
};

pub use linkup::domain::group::{Group, History, Role, Settings, SettingsPatch};
pub use linkup::domain::message::{Quote, Reaction};
pub use linkup::domain::message_rules::Windows;
pub use linkup::domain::upload::{Upload, UploadId};
pub use linkup::store::{Changed, GroupEdit, GroupWrite, Member, MessageEdit, NewUpload, Refusal};

use linkup::domain::group::{Description, Title};
use linkup::domain::input::{Body, ClientId, Username};
use linkup::domain::reaction::Emoji;
use linkup::store::{
    Destination, GroupRequest, MessageChange, NewGroup, NewSession, NewToken, NewUser, ReadUpTo,
    SendRequest, StatusChange,
};

/// Large enough for every body a story sends.
const MAX_BODY_CHARS: usize = 4096;

fn username(name: &str) -> Username {
    Username::parse(name).expect("a valid username")
}

fn client_id(raw: &str) -> ClientId {
    ClientId::parse(raw).expect("a valid client id")
}

// ---- accounts ----

pub async fn try_create_user(
    store: &dyn Store,
    name: &str,
    display: &str,
) -> Result<User, StoreError> {
    let username = username(name);
    let new = NewUser {
        password_hash: format!("hash-of-{username}"),
        username,
        display_name: display.to_owned(),
        at: Timestamp::now(),
    };
    store.create_user(new).await
}

/// A new user named `name` (also their display name).
pub async fn user(store: &dyn Store, name: &str) -> User {
    try_create_user(store, name, name)
        .await
        .expect("user created")
}

pub async fn users<const N: usize>(store: &dyn Store, names: [&str; N]) -> [User; N] {
    let mut made = Vec::with_capacity(N);
    for name in names {
        made.push(user(store, name).await);
    }
    made.try_into().expect("N users")
}

/// The user and password hash a login would check.
pub async fn credentials(store: &dyn Store, name: &str) -> Option<(User, String)> {
    let found = store
        .credentials(&username(name))
        .await
        .expect("credentials");
    found.map(|c| (c.user, c.password_hash))
}

pub async fn user_named(store: &dyn Store, name: &str) -> Option<User> {
    store
        .user_by_username(&username(name))
        .await
        .expect("user by username")
}

/// The usernames `search_users` answers, in its order.
pub async fn search(store: &dyn Store, prefix: &str, exclude: &User, limit: u32) -> Vec<String> {
    let found = store
        .search_users(prefix, exclude.id, limit)
        .await
        .expect("search");
    found.into_iter().map(|u| u.username).collect()
}

// ---- sessions and tokens ----

pub async fn create_session(
    store: &dyn Store,
    id_hash: &[u8],
    user: &User,
    csrf: &str,
    expires_at: Timestamp,
) {
    let session = NewSession {
        id_hash: id_hash.to_vec(),
        user: user.id,
        csrf_token: csrf.to_owned(),
        at: Timestamp(expires_at.0 - 60_000),
        expires_at,
    };
    store
        .create_session(session)
        .await
        .expect("session created");
}

pub async fn session(store: &dyn Store, id_hash: &[u8], now: Timestamp) -> Option<SessionRecord> {
    store
        .session(id_hash.to_vec(), now)
        .await
        .expect("session read")
}

pub async fn delete_session(store: &dyn Store, id_hash: &[u8]) {
    store
        .delete_session(id_hash.to_vec())
        .await
        .expect("session deleted");
}

pub async fn create_token(store: &dyn Store, hash: &[u8], user: &User) {
    let at = Timestamp::now();
    let id = format!("id-{}", String::from_utf8_lossy(hash));
    create_token_at(store, hash, &id, user, at, None).await;
}

/// A token with public id `id`, made at `at`, ending at `expires_at` (never: `None`).
pub async fn create_token_at(
    store: &dyn Store,
    hash: &[u8],
    id: &str,
    user: &User,
    at: Timestamp,
    expires_at: Option<Timestamp>,
) {
    let token = NewToken {
        hash: hash.to_vec(),
        id: id.to_owned(),
        user: user.id,
        at,
        expires_at,
    };
    store.create_token(token).await.expect("token created");
}

pub async fn token_user(store: &dyn Store, hash: &[u8]) -> Option<User> {
    token_at(store, hash, Timestamp::now())
        .await
        .map(|t| t.user)
}

/// The token with this hash as a request at `now` finds it.
pub async fn token_at(store: &dyn Store, hash: &[u8], now: Timestamp) -> Option<TokenRecord> {
    store
        .token_user(hash.to_vec(), now)
        .await
        .expect("token read")
}

pub async fn tokens(store: &dyn Store, user: &User, now: Timestamp) -> Vec<TokenInfo> {
    store.tokens(user.id, now).await.expect("tokens listed")
}

pub async fn revoke_token(store: &dyn Store, user: &User, id: &str) -> Option<Vec<u8>> {
    store
        .revoke_token(user.id, id.to_owned())
        .await
        .expect("token revoked")
}

pub async fn touch_token(store: &dyn Store, hash: &[u8], at: Timestamp) {
    store
        .touch_token(hash.to_vec(), at)
        .await
        .expect("token use recorded");
}

pub async fn change_password(
    store: &dyn Store,
    user: &User,
    password_hash: &str,
    keep: Option<&[u8]>,
) -> Vec<Vec<u8>> {
    store
        .change_password(user.id, password_hash.to_owned(), keep.map(<[u8]>::to_vec))
        .await
        .expect("password changed")
}

pub async fn purge_expired(store: &dyn Store, now: Timestamp) -> u64 {
    store.purge_expired(now).await.expect("purged")
}

pub async fn delete_token(store: &dyn Store, hash: &[u8]) {
    store
        .delete_token(hash.to_vec())
        .await
        .expect("token deleted");
}

// ---- sends ----

/// A message `from` asks to send to `to`, not yet sent.
pub fn draft(from: &User, to: &User, client_id_raw: &str, body: &str) -> SendRequest {
    SendRequest {
        sender: from.clone(),
        to: Destination::Direct(to.clone()),
        client_id: client_id(client_id_raw),
        body: Body::parse(body, MAX_BODY_CHARS).expect("a valid body"),
        reply_to: None,
        attachments: Vec::new(),
        at: Timestamp::now(),
        requests: false,
    }
}

pub async fn try_send(
    store: &dyn Store,
    from: &User,
    to: &User,
    client_id_raw: &str,
    body: &str,
) -> Result<Sent, StoreError> {
    store
        .send_message(draft(from, to, client_id_raw, body))
        .await
}

/// Sends a message that must be stored (new or a retry).
pub async fn send(
    store: &dyn Store,
    from: &User,
    to: &User,
    client_id_raw: &str,
    body: &str,
) -> Sent {
    try_send(store, from, to, client_id_raw, body)
        .await
        .expect("message sent")
}

/// Sends several drafts in one call (committed together); one answer per draft, in order.
pub async fn send_all(
    store: &dyn Store,
    drafts: Vec<SendRequest>,
) -> Vec<Result<Sent, StoreError>> {
    store.send_messages(drafts).await
}

pub async fn sent_message(store: &dyn Store, from: &User, client_id_raw: &str) -> Option<Message> {
    let id = client_id(client_id_raw);
    store
        .sent_message(from.id, &id)
        .await
        .expect("sent message read")
}

/// The same draft as a reply to message `to`.
pub fn replying(draft: SendRequest, to: MessageId) -> SendRequest {
    SendRequest {
        reply_to: Some(to),
        ..draft
    }
}

/// The same draft, carrying `uploads`.
pub fn carrying(draft: SendRequest, uploads: &[UploadId]) -> SendRequest {
    SendRequest {
        attachments: uploads.to_vec(),
        ..draft
    }
}

/// The same draft, sent at `at`.
pub fn sent_at(draft: SendRequest, at: Timestamp) -> SendRequest {
    SendRequest { at, ..draft }
}

// ---- uploads ----

/// Records an upload of `size` bytes by `uploader` at `at`; returns its id.
pub async fn upload_at(store: &dyn Store, uploader: &User, size: i64, at: Timestamp) -> UploadId {
    let id = UploadId::random();
    let upload = Upload {
        id: id.clone(),
        filename: "file.bin".to_owned(),
        content_type: "application/octet-stream".to_owned(),
        size,
        sha256: "00".repeat(32),
        width: None,
        height: None,
        thumbnail: false,
    };
    store
        .create_upload(NewUpload {
            upload,
            uploader: uploader.id,
            at,
        })
        .await
        .expect("upload recorded");
    id
}

/// Whether `viewer` may download upload `id` at `now`.
pub async fn readable(store: &dyn Store, viewer: &User, id: &UploadId, now: Timestamp) -> bool {
    store
        .readable_upload(viewer.id, id.clone(), now)
        .await
        .expect("access read")
        .is_some()
}

// ---- changes to sent messages ----

/// An edit to `body`.
pub fn new_body(body: &str) -> MessageEdit {
    MessageEdit::Body(Body::parse(body, MAX_BODY_CHARS).expect("a valid body"))
}

/// Setting one's reaction to `emoji`.
pub fn reacting(emoji: &str) -> MessageEdit {
    MessageEdit::React(Some(Emoji::parse(emoji).expect("an emoji")))
}

/// `actor` changes message `id` by `edit` at `at`, under the default windows.
pub async fn try_change_message_at(
    store: &dyn Store,
    actor: &User,
    id: MessageId,
    edit: MessageEdit,
    at: Timestamp,
) -> Result<Changed, StoreError> {
    let change = MessageChange {
        actor: actor.clone(),
        message: id,
        edit,
        windows: Windows::default(),
        at,
        erasure: false,
    };
    store.change_message(change).await
}

/// `actor` changes message `id` by `edit` now.
pub async fn try_change_message(
    store: &dyn Store,
    actor: &User,
    id: MessageId,
    edit: MessageEdit,
) -> Result<Changed, StoreError> {
    try_change_message_at(store, actor, id, edit, Timestamp::now()).await
}

/// A change that must be accepted.
pub async fn change_message(
    store: &dyn Store,
    actor: &User,
    id: MessageId,
    edit: MessageEdit,
) -> Changed {
    try_change_message(store, actor, id, edit)
        .await
        .expect("message changed")
}

// ---- groups ----

/// The most members a story's groups may have.
pub const MAX_MEMBERS: usize = 256;

/// `creator` creates a group titled `title` with `members`, under `client_id_raw`.
pub async fn try_create_group(
    store: &dyn Store,
    creator: &User,
    client_id_raw: &str,
    title: &str,
    members: &[&User],
    settings: Settings,
) -> Result<GroupWrite, StoreError> {
    let new = NewGroup {
        creator: creator.clone(),
        client_id: client_id(client_id_raw),
        title: Title::parse(title).expect("a valid title"),
        description: Description::default(),
        settings,
        members: members.iter().map(|u| (*u).clone()).collect(),
        only_retry: false,
        at: Timestamp::now(),
        requests: false,
    };
    store.create_group(new).await
}

/// A new group with default settings; returns its id.
pub async fn group_of(
    store: &dyn Store,
    creator: &User,
    title: &str,
    members: &[&User],
) -> ConversationId {
    let client = format!("g-{}-{}", creator.username, title.replace(' ', "-"));
    try_create_group(store, creator, &client, title, members, Settings::default())
        .await
        .expect("group created")
        .group
        .expect("the group")
        .id
}

/// `actor` changes group `group` by `edit`.
pub async fn change(
    store: &dyn Store,
    actor: &User,
    group: ConversationId,
    edit: GroupEdit,
) -> Result<GroupWrite, StoreError> {
    let request = GroupRequest {
        actor: actor.clone(),
        group,
        edit,
        max_members: MAX_MEMBERS,
        at: Timestamp::now(),
        requests: false,
    };
    store.change_group(request).await
}

/// A group message `from` asks to send, not yet sent.
pub fn group_draft(
    from: &User,
    group: ConversationId,
    client_id_raw: &str,
    body: &str,
) -> SendRequest {
    SendRequest {
        sender: from.clone(),
        to: Destination::Group(group),
        client_id: client_id(client_id_raw),
        body: Body::parse(body, MAX_BODY_CHARS).expect("a valid body"),
        reply_to: None,
        attachments: Vec::new(),
        at: Timestamp::now(),
        requests: false,
    }
}

pub async fn try_send_to_group(
    store: &dyn Store,
    from: &User,
    group: ConversationId,
    client_id_raw: &str,
    body: &str,
) -> Result<Sent, StoreError> {
    store
        .send_message(group_draft(from, group, client_id_raw, body))
        .await
}

/// The group as `viewer` sees it.
pub async fn group_view(
    store: &dyn Store,
    viewer: &User,
    group: ConversationId,
) -> Result<Group, StoreError> {
    store.group(viewer.id, group).await
}

pub async fn group_members(
    store: &dyn Store,
    viewer: &User,
    group: ConversationId,
) -> Result<Vec<Member>, StoreError> {
    store.group_members(viewer.id, group).await
}

// ---- receipts ----

/// `reader` moves the listed messages forward to `status`.
pub async fn mark(
    store: &dyn Store,
    reader: &User,
    ids: &[MessageId],
    status: MessageStatus,
) -> Result<StatusOutcome, StoreError> {
    let change = StatusChange {
        reader: reader.clone(),
        message_ids: ids.to_vec(),
        status,
        live_max: 32,
        at: Timestamp::now(),
    };
    store.set_status(change).await
}

/// `reader` reads everything from `other` in their conversation up to `up_to`.
pub async fn read_up_to(
    store: &dyn Store,
    reader: &User,
    other: &User,
    up_to: MessageId,
) -> Result<StatusOutcome, StoreError> {
    // Without a conversation there is nothing to read, as the action answers.
    let Some(conversation) = direct(store, reader, other).await else {
        return Err(StoreError::NotFound);
    };
    read_up_to_in(store, reader, conversation, up_to).await
}

/// `reader` reads everything to them in `conversation` up to `up_to`.
pub async fn read_up_to_in(
    store: &dyn Store,
    reader: &User,
    conversation: ConversationId,
    up_to: MessageId,
) -> Result<StatusOutcome, StoreError> {
    let request = ReadUpTo {
        reader: reader.clone(),
        conversation,
        up_to,
        live_max: 32,
        at: Timestamp::now(),
    };
    store.read_up_to(request).await
}

/// `reader` moves the listed messages forward to `status` at time `at`.
pub async fn mark_at(
    store: &dyn Store,
    reader: &User,
    ids: &[MessageId],
    status: MessageStatus,
    at: Timestamp,
) -> StatusOutcome {
    let change = StatusChange {
        reader: reader.clone(),
        message_ids: ids.to_vec(),
        status,
        live_max: 32,
        at,
    };
    store.set_status(change).await.expect("marked")
}

/// "Message info" for message `id` as `viewer` asks for it.
pub async fn message_receipts(
    store: &dyn Store,
    viewer: &User,
    id: MessageId,
) -> Result<MessageReceipts, StoreError> {
    store.message_receipts(viewer.id, id).await
}

// ---- reads ----

/// The direct conversation of two users, if they have one.
pub async fn direct(store: &dyn Store, a: &User, b: &User) -> Option<ConversationId> {
    store
        .direct_conversation(a.id, b.id)
        .await
        .expect("direct conversation")
}

/// A page of the conversation of `me` with `other`: messages before `before` (or the newest).
/// A pair with no conversation reads as an empty page, as the action answers.
pub async fn history(
    store: &dyn Store,
    me: &User,
    other: &User,
    before: Option<MessageId>,
    limit: u32,
) -> HistoryPage {
    match direct(store, me, other).await {
        Some(conversation) => try_history_of(store, me, conversation, before, limit)
            .await
            .expect("history"),
        None => HistoryPage {
            messages: Vec::new(),
            has_more: false,
        },
    }
}

/// A page of `conversation` as `member` reads it.
pub async fn try_history_of(
    store: &dyn Store,
    member: &User,
    conversation: ConversationId,
    before: Option<MessageId>,
    limit: u32,
) -> Result<HistoryPage, StoreError> {
    store.history(member.id, conversation, before, limit).await
}

/// The whole conversation of `me` with `other`, ascending.
pub async fn whole_history(store: &dyn Store, me: &User, other: &User) -> Vec<Message> {
    let page = history(store, me, other, None, 100_000).await;
    assert!(!page.has_more, "a whole history fits one page");
    page.messages
}

pub async fn conversation_sync(
    store: &dyn Store,
    me: &User,
    other: &User,
    after: MessageId,
    limit: u32,
) -> ConversationSync {
    match direct(store, me, other).await {
        Some(conversation) => try_conversation_sync_of(store, me, conversation, after, limit)
            .await
            .expect("conversation sync"),
        None => ConversationSync {
            messages: Vec::new(),
            has_more: false,
            statuses: Vec::new(),
        },
    }
}

/// A re-sync of `conversation` as `member` reads it.
pub async fn try_conversation_sync_of(
    store: &dyn Store,
    member: &User,
    conversation: ConversationId,
    after: MessageId,
    limit: u32,
) -> Result<ConversationSync, StoreError> {
    store
        .conversation_sync(member.id, conversation, after, limit)
        .await
}

pub async fn conversations(store: &dyn Store, me: &User, limit: u32) -> Vec<ConversationSummary> {
    store
        .conversations(me.id, limit)
        .await
        .expect("conversations")
}

/// The username a conversation summary is with.
pub fn with(summary: &ConversationSummary) -> &str {
    summary.with.as_ref().map_or_else(
        || summary.group.as_ref().map_or("", |g| g.title.as_str()),
        |u| u.username.as_str(),
    )
}

pub async fn events_since(store: &dyn Store, me: &User, since: Cursor, limit: u32) -> EventPage {
    store
        .events_since(me.id, since, limit)
        .await
        .expect("events")
}

/// Every event of `me`'s stream, in order.
pub async fn all_events(store: &dyn Store, me: &User) -> Vec<Event> {
    let page = events_since(store, me, Cursor(0), 100_000).await;
    assert!(!page.has_more, "a whole stream fits one page");
    page.events
}

pub async fn last_cursor(store: &dyn Store, me: &User) -> Cursor {
    store.last_cursor(me.id).await.expect("last cursor")
}

// ---- presence ----

/// The people `me` shares a conversation with and when each was last seen, by username.
pub async fn contacts(store: &dyn Store, me: &User) -> Vec<(String, Option<Timestamp>)> {
    let found = store.contacts(me.id).await.expect("contacts");
    let mut seen: Vec<_> = found
        .into_iter()
        .map(|c| (c.user.username, c.last_seen))
        .collect();
    seen.sort();
    seen
}

pub async fn set_last_seen(store: &dyn Store, me: &User, at: Timestamp) {
    store
        .set_last_seen(me.id, at)
        .await
        .expect("last seen recorded");
}

// ---- accounts, reports and operators (v2 safety) ----

pub use linkup::store::{AccountStatus, Admission, Footprint, Report, ReportSummary};

/// `reporter` reports message `id` for `reason` at `at`; `Ok(false)` for a repeat.
pub async fn try_report(
    store: &dyn Store,
    reporter: &User,
    id: MessageId,
    reason: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    store
        .report_message(linkup::store::NewReport {
            reporter: reporter.id,
            message: id,
            reason: reason.to_owned(),
            at,
        })
        .await
}

/// Every report, oldest first.
pub async fn all_reports(store: &dyn Store) -> Vec<Report> {
    store.reports(0, 1000).await.expect("reports read")
}

pub async fn reports_by(store: &dyn Store, user: &User) -> Vec<ReportSummary> {
    store.reports_by(user.id).await.expect("reports read")
}

pub async fn set_status(store: &dyn Store, user: &User, status: AccountStatus) {
    store
        .set_account_status(user.id, status)
        .await
        .expect("status set");
}

pub async fn account_status_of(store: &dyn Store, user: &User) -> AccountStatus {
    store.account_status(user.id).await.expect("status read")
}

pub async fn admit(store: &dyn Store, user: &User, now: Timestamp) -> Admission {
    store.admit_login(user.id, now).await.expect("login judged")
}

pub async fn reset_password(store: &dyn Store, user: &User, hash: &str, until: Timestamp) {
    store
        .reset_password(user.id, hash.to_owned(), until)
        .await
        .expect("password reset");
}

pub async fn footprint(store: &dyn Store, user: &User) -> Footprint {
    store
        .account_footprint(user.id)
        .await
        .expect("footprint read")
}

/// Retires `user` as `new_name`, its old name held until `until`.
pub async fn try_retire(
    store: &dyn Store,
    user: &User,
    new_name: &str,
    until: Timestamp,
    remove_uploads: bool,
) -> Result<(), StoreError> {
    store
        .retire_account(linkup::store::Retirement {
            user: user.id,
            old_username: user.username.clone(),
            new_username: username(new_name),
            display_name: "Deleted account".to_owned(),
            retired_until: until,
            remove_uploads,
            at: Timestamp::now(),
        })
        .await
}

pub async fn retired(store: &dyn Store, name: &str, now: Timestamp) -> bool {
    store
        .username_retired(&username(name), now)
        .await
        .expect("retired names read")
}

pub async fn claim_export(
    store: &dyn Store,
    user: &User,
    now: Timestamp,
    not_before: Timestamp,
) -> Option<Timestamp> {
    store
        .claim_export(user.id, now, not_before)
        .await
        .expect("export claimed")
}

pub async fn user_uploads(store: &dyn Store, user: &User) -> Vec<Upload> {
    store.user_uploads(user.id).await.expect("uploads read")
}

pub async fn purge(store: &dyn Store, now: Timestamp, reports_before: Timestamp) {
    store
        .purge_kept(now, reports_before)
        .await
        .expect("housekeeping");
}

// Safety: blocks and message requests.

/// The same send with message requests on.
pub fn requesting(draft: SendRequest) -> SendRequest {
    SendRequest {
        requests: true,
        ..draft
    }
}

/// `creator` creates a group of `members` with message requests on.
pub async fn create_group_requesting(
    store: &dyn Store,
    creator: &User,
    client_id_raw: &str,
    members: &[&User],
) -> Result<GroupWrite, StoreError> {
    let new = NewGroup {
        creator: creator.clone(),
        client_id: client_id(client_id_raw),
        title: Title::parse("Team").expect("a valid title"),
        description: Description::default(),
        settings: Settings::default(),
        members: members.iter().map(|u| (*u).clone()).collect(),
        only_retry: false,
        at: Timestamp::now(),
        requests: true,
    };
    store.create_group(new).await
}

/// `actor` adds `users` to `group` with message requests on.
pub async fn add_requesting(
    store: &dyn Store,
    actor: &User,
    group: ConversationId,
    users: &[&User],
) -> Result<GroupWrite, StoreError> {
    let request = GroupRequest {
        actor: actor.clone(),
        group,
        edit: GroupEdit::Add(users.iter().map(|u| (*u).clone()).collect()),
        max_members: MAX_MEMBERS,
        at: Timestamp::now(),
        requests: true,
    };
    store.change_group(request).await
}

/// The code a store refusal carries (403s and 400s), or a panic for anything else.
pub fn refusal_code<T: std::fmt::Debug>(result: Result<T, StoreError>) -> &'static str {
    match result {
        Err(StoreError::Refused(Refusal::Forbidden(code) | Refusal::Invalid(code), _)) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A requesting send that must be stored.
pub async fn request_send(store: &dyn Store, from: &User, to: &User, client_id_raw: &str) -> Sent {
    store
        .send_message(requesting(draft(from, to, client_id_raw, "hello")))
        .await
        .expect("message sent")
}

/// A requesting send, as the store answers it.
pub async fn try_request_send(
    store: &dyn Store,
    from: &User,
    to: &User,
    client_id_raw: &str,
) -> Result<Sent, StoreError> {
    store
        .send_message(requesting(draft(from, to, client_id_raw, "hello")))
        .await
}

/// Whether `me`'s list shows the conversation with `other` (a username or group title), and
/// as a request.
pub async fn listed(store: &dyn Store, me: &User, other: &str) -> Option<bool> {
    conversations(store, me, 100)
        .await
        .iter()
        .find(|c| with(c) == other)
        .map(|c| c.request)
}

/// `me`'s contacts with whether `me`'s presence reaches them and theirs reaches `me`.
pub async fn presence_contacts(store: &dyn Store, me: &User) -> Vec<(String, bool, bool)> {
    let mut found: Vec<_> = store
        .contacts(me.id)
        .await
        .expect("contacts")
        .into_iter()
        .map(|c| (c.user.username, c.hears_user, c.heard_by_user))
        .collect();
    found.sort();
    found
}

//! A `Store` that records how long each call of the store it wraps takes, under the call's
//! name (`linkup_store_latency_seconds{operation=…}`; two keep the labels v1 gave them:
//! `send_message` for `send_messages`, `token` for `token_user`). The server wraps its store in one, so
//! every action is timed the same way and none has to time itself.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use super::{AccountStatus, Admission, Footprint, NewReport, Report, ReportSummary, Retirement};
use super::{
    Changed, Contact, ConversationSummary, ConversationSync, Credentials, EventPage, GroupRequest,
    GroupWrite, HistoryPage, Member, MessageChange, MessageReceipts, NewGroup, NewSession,
    NewUpload, NewUser, ReadUpTo, SendRequest, Sent, SessionRecord, StatusChange, StatusOutcome,
    Store, StoreError, UploadUsage,
};
// -- Authentication (auth) --
use super::{NewToken, TokenInfo, TokenRecord};
use crate::domain::event::UserEvent;
use crate::domain::group::Group;
use crate::domain::input::{ClientId, Username};
use crate::domain::upload::{Upload, UploadId};
use crate::domain::{ConversationId, Cursor, Message, MessageId, Timestamp, User, UserId};
use crate::metrics::StoreLabels;

/// The latency histograms, one per operation.
pub type Latencies = Family<StoreLabels, Histogram, fn() -> Histogram>;

pub struct Timed {
    inner: Arc<dyn Store>,
    latency: Latencies,
}

impl Timed {
    pub fn new(inner: Arc<dyn Store>, latency: Latencies) -> Self {
        Timed { inner, latency }
    }

    async fn time<T>(&self, operation: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = call.await;
        self.latency
            .get_or_create(&StoreLabels { operation })
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

#[async_trait]
impl Store for Timed {
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        self.time("create_user", self.inner.create_user(new)).await
    }

    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        self.time("credentials", self.inner.credentials(username))
            .await
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.time("user_by_username", self.inner.user_by_username(username))
            .await
    }

    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        self.time(
            "search_users",
            self.inner.search_users(prefix, exclude, limit),
        )
        .await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.time("create_session", self.inner.create_session(session))
            .await
    }

    async fn session(
        &self,
        id_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.time("session", self.inner.session(id_hash, now)).await
    }

    async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        self.time("delete_session", self.inner.delete_session(id_hash))
            .await
    }

    async fn create_token(&self, token: NewToken) -> Result<(), StoreError> {
        self.time("create_token", self.inner.create_token(token))
            .await
    }

    async fn token_user(
        &self,
        token_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.time("token", self.inner.token_user(token_hash, now))
            .await
    }

    async fn delete_token(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        self.time("delete_token", self.inner.delete_token(token_hash))
            .await
    }

    async fn send_messages(&self, requests: Vec<SendRequest>) -> Vec<Result<Sent, StoreError>> {
        self.time("send_message", self.inner.send_messages(requests))
            .await
    }

    async fn sent_message(
        &self,
        sender: UserId,
        client_id: &ClientId,
    ) -> Result<Option<Message>, StoreError> {
        self.time("sent_message", self.inner.sent_message(sender, client_id))
            .await
    }

    async fn set_status(&self, change: StatusChange) -> Result<StatusOutcome, StoreError> {
        self.time("set_status", self.inner.set_status(change)).await
    }

    async fn read_up_to(&self, request: ReadUpTo) -> Result<StatusOutcome, StoreError> {
        self.time("read_up_to", self.inner.read_up_to(request))
            .await
    }

    async fn message_receipts(
        &self,
        viewer: UserId,
        id: MessageId,
    ) -> Result<MessageReceipts, StoreError> {
        self.time("message_receipts", self.inner.message_receipts(viewer, id))
            .await
    }

    async fn create_group(&self, group: NewGroup) -> Result<GroupWrite, StoreError> {
        self.time("create_group", self.inner.create_group(group))
            .await
    }

    async fn change_message(&self, change: MessageChange) -> Result<Changed, StoreError> {
        self.time("change_message", self.inner.change_message(change))
            .await
    }

    async fn change_group(&self, request: GroupRequest) -> Result<GroupWrite, StoreError> {
        self.time("change_group", self.inner.change_group(request))
            .await
    }

    async fn group(&self, viewer: UserId, id: ConversationId) -> Result<Group, StoreError> {
        self.time("group", self.inner.group(viewer, id)).await
    }

    async fn group_members(
        &self,
        viewer: UserId,
        id: ConversationId,
    ) -> Result<Vec<Member>, StoreError> {
        self.time("group_members", self.inner.group_members(viewer, id))
            .await
    }

    async fn direct_party(
        &self,
        member: UserId,
        id: ConversationId,
    ) -> Result<Option<User>, StoreError> {
        self.time("direct_party", self.inner.direct_party(member, id))
            .await
    }

    async fn direct_conversation(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, StoreError> {
        self.time("direct_conversation", self.inner.direct_conversation(a, b))
            .await
    }

    async fn history(
        &self,
        member: UserId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        self.time(
            "history",
            self.inner.history(member, conversation, before, limit),
        )
        .await
    }

    async fn conversation_sync(
        &self,
        member: UserId,
        conversation: ConversationId,
        after: MessageId,
        limit: u32,
    ) -> Result<ConversationSync, StoreError> {
        self.time(
            "conversation_sync",
            self.inner
                .conversation_sync(member, conversation, after, limit),
        )
        .await
    }

    async fn conversations(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.time("conversations", self.inner.conversations(user, limit))
            .await
    }

    async fn events_since(
        &self,
        user: UserId,
        since: Cursor,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        self.time("events_since", self.inner.events_since(user, since, limit))
            .await
    }

    async fn last_cursor(&self, user: UserId) -> Result<Cursor, StoreError> {
        self.time("last_cursor", self.inner.last_cursor(user)).await
    }

    async fn contacts(&self, user: UserId) -> Result<Vec<Contact>, StoreError> {
        self.time("contacts", self.inner.contacts(user)).await
    }

    async fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        self.time("set_last_seen", self.inner.set_last_seen(user, at))
            .await
    }

    async fn create_upload(&self, upload: NewUpload) -> Result<(), StoreError> {
        self.time("create_upload", self.inner.create_upload(upload))
            .await
    }

    async fn upload_usage(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<UploadUsage, StoreError> {
        self.time("upload_usage", self.inner.upload_usage(user, since))
            .await
    }

    async fn readable_upload(
        &self,
        viewer: UserId,
        id: UploadId,
        now: Timestamp,
    ) -> Result<Option<Upload>, StoreError> {
        self.time(
            "readable_upload",
            self.inner.readable_upload(viewer, id, now),
        )
        .await
    }

    async fn sweep_uploads(&self, now: Timestamp, limit: u32) -> Result<Vec<UploadId>, StoreError> {
        self.time("sweep_uploads", self.inner.sweep_uploads(now, limit))
            .await
    }

    async fn uploads_removed(
        &self,
        ids: Vec<UploadId>,
        forget_before: Timestamp,
    ) -> Result<(), StoreError> {
        self.time(
            "uploads_removed",
            self.inner.uploads_removed(ids, forget_before),
        )
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.time("ping", self.inner.ping()).await
    }

    async fn close(&self) {
        self.inner.close().await;
    }

    // -- Authentication (auth) --
    async fn tokens(&self, user: UserId, now: Timestamp) -> Result<Vec<TokenInfo>, StoreError> {
        self.time("tokens", self.inner.tokens(user, now)).await
    }

    async fn revoke_token(&self, user: UserId, id: String) -> Result<Option<Vec<u8>>, StoreError> {
        self.time("revoke_token", self.inner.revoke_token(user, id))
            .await
    }

    async fn touch_token(&self, token_hash: Vec<u8>, at: Timestamp) -> Result<(), StoreError> {
        self.time("touch_token", self.inner.touch_token(token_hash, at))
            .await
    }

    async fn change_password(
        &self,
        user: UserId,
        password_hash: String,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.time(
            "change_password",
            self.inner.change_password(user, password_hash, keep),
        )
        .await
    }

    // Accounts, reports and operators (v2 safety).

    async fn set_account_status(
        &self,
        user: UserId,
        status: AccountStatus,
    ) -> Result<(), StoreError> {
        self.time(
            "set_account_status",
            self.inner.set_account_status(user, status),
        )
        .await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.time("purge_expired", self.inner.purge_expired(now))
            .await
    }

    async fn account_status(&self, user: UserId) -> Result<AccountStatus, StoreError> {
        self.time("account_status", self.inner.account_status(user))
            .await
    }

    async fn admit_login(&self, user: UserId, now: Timestamp) -> Result<Admission, StoreError> {
        self.time("admit_login", self.inner.admit_login(user, now))
            .await
    }

    async fn reset_password(
        &self,
        user: UserId,
        password_hash: String,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        self.time(
            "reset_password",
            self.inner.reset_password(user, password_hash, until),
        )
        .await
    }

    async fn report_message(&self, report: NewReport) -> Result<bool, StoreError> {
        self.time("report_message", self.inner.report_message(report))
            .await
    }

    async fn reports(&self, after: i64, limit: u32) -> Result<Vec<Report>, StoreError> {
        self.time("reports", self.inner.reports(after, limit)).await
    }

    async fn reports_by(&self, user: UserId) -> Result<Vec<ReportSummary>, StoreError> {
        self.time("reports_by", self.inner.reports_by(user)).await
    }

    async fn account_footprint(&self, user: UserId) -> Result<Footprint, StoreError> {
        self.time("account_footprint", self.inner.account_footprint(user))
            .await
    }

    async fn retire_account(&self, retirement: Retirement) -> Result<(), StoreError> {
        self.time("retire_account", self.inner.retire_account(retirement))
            .await
    }

    async fn username_retired(
        &self,
        username: &Username,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.time(
            "username_retired",
            self.inner.username_retired(username, now),
        )
        .await
    }

    async fn claim_export(
        &self,
        user: UserId,
        now: Timestamp,
        not_before: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.time(
            "claim_export",
            self.inner.claim_export(user, now, not_before),
        )
        .await
    }

    async fn user_uploads(&self, user: UserId) -> Result<Vec<Upload>, StoreError> {
        self.time("user_uploads", self.inner.user_uploads(user))
            .await
    }

    async fn purge_kept(
        &self,
        now: Timestamp,
        reports_before: Timestamp,
    ) -> Result<(), StoreError> {
        self.time("purge_kept", self.inner.purge_kept(now, reports_before))
            .await
    }

    // Safety: blocks and message requests.

    async fn block(
        &self,
        blocker: UserId,
        blocked: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.time("block", self.inner.block(blocker, blocked, at))
            .await
    }

    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError> {
        self.time("unblock", self.inner.unblock(blocker, blocked))
            .await
    }

    async fn blocked_users(&self, user: UserId) -> Result<Vec<User>, StoreError> {
        self.time("blocked_users", self.inner.blocked_users(user))
            .await
    }

    async fn block_peers(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        self.time("block_peers", self.inner.block_peers(user)).await
    }

    async fn accept_request(
        &self,
        user: &User,
        other: UserId,
        at: Timestamp,
    ) -> Result<Vec<UserEvent>, StoreError> {
        self.time("accept_request", self.inner.accept_request(user, other, at))
            .await
    }

    async fn decline_request(&self, user: UserId, other: UserId) -> Result<(), StoreError> {
        self.time("decline_request", self.inner.decline_request(user, other))
            .await
    }

    async fn accept_group(&self, user: UserId, group: ConversationId) -> Result<(), StoreError> {
        self.time("accept_group", self.inner.accept_group(user, group))
            .await
    }

    async fn typing_allowed(&self, from: UserId, to: UserId) -> Result<bool, StoreError> {
        self.time("typing_allowed", self.inner.typing_allowed(from, to))
            .await
    }
}

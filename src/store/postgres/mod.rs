//! The PostgreSQL store, for several nodes sharing one database. Same interface and guarantees
//! as SQLite; concurrency is handled by row locks and unique indexes.
//!
//! Gap-free counters come from row locks, never from sequences: a user's cursors are taken
//! after locking their `users` row, a conversation's seqs after locking its row, always in one
//! global order (conversations, then messages, then users, each in ascending id order: see
//! `batch`), counting on from the newest event or message. Idempotency is decided by the
//! unique index on `(sender_id, client_id)`.
//!
//! This file opens and closes the store and routes each call of the `Store` trait: reads to a
//! pooled connection, sends and status changes to the writer's group commit (`writer`,
//! `batch`), the other writes to transactions of their own (`transactions` judges failures and
//! retries). What the calls do lives with their aggregate: `accounts` (users, sessions, tokens,
//! last-seen, contacts), `messages` (how a message reads back), `conversations` (the direct
//! conversation, membership, history, re-sync, the list), `receipts` (read-up-to), `events`
//! (users' streams and cursors). `schema` holds the migrations.

mod accounts;
mod batch;
mod conversations;
mod edits;
mod events;
mod groups;
mod list;
mod marks;
mod membership;
mod messages;
mod ranges;
mod reactions;
mod receipts;
mod replies;
pub(super) mod safety;
pub mod schema;
mod standing;
mod transactions;
mod uploads;
mod writer;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};

use super::{AccountStatus, Admission, Footprint, NewReport, Report, ReportSummary, Retirement};
use super::{
    Changed, Contact, ConversationSummary, ConversationSync, Credentials, EventPage, GroupRequest,
    GroupWrite, HistoryPage, Member, MessageChange, MessageReceipts, NewGroup, NewSession,
    NewUpload, NewUser, ReadUpTo, SendRequest, Sent, SessionRecord, StatusChange, StatusOutcome,
    Store, StoreError, UploadUsage, User,
};
use crate::domain::Message;
use crate::domain::event::UserEvent;
use crate::domain::group::Group;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::input::{ClientId, Username};
use crate::domain::time::Timestamp;
use crate::domain::upload::{Upload, UploadId};
pub(crate) use transactions::failure;
use transactions::{Step, finish};
use writer::Writer;
// -- Authentication (auth) --
use super::{NewToken, TokenInfo, TokenRecord};

/// Tuning of the PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub max_connections: u32,
    pub statement_timeout: Duration,
    pub acquire_timeout: Duration,
    /// How many tasks commit batches of writes at once, each on a pooled connection.
    pub writers: usize,
    /// The most sends and status changes one batch commits together.
    pub max_batch: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 16,
            statement_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(5),
            writers: 2,
            max_batch: 256,
        }
    }
}

/// The PostgreSQL store: reads on pooled connections, sends and receipts through the writer's
/// group commit, the other writes in transactions of their own.
pub struct PostgresStore {
    pool: PgPool,
    writer: Writer,
}

impl PostgresStore {
    /// Connects to `url` and applies pending migrations.
    pub async fn open(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let timeout_ms = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad PostgreSQL URL: {e}")))?
            .application_name("linkup")
            .options([("statement_timeout", timeout_ms.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(failure)?;
        let applied = schema::migrate(&pool).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied PostgreSQL migrations");
        }
        let writer = Writer::start(pool.clone(), options.writers, options.max_batch);
        Ok(PostgresStore { pool, writer })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The server's version string, for `linkup doctor`.
    pub async fn version(&self) -> Result<String, StoreError> {
        sqlx::query_scalar("SHOW server_version")
            .fetch_one(&self.pool)
            .await
            .map_err(failure)
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, StoreError> {
        self.pool.acquire().await.map_err(failure)
    }
}

/// Runs a read on a pooled connection.
macro_rules! reads_on {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let mut held = $store.conn().await?;
        let $conn: &mut PgConnection = &mut held;
        $body.await
    }};
}

/// Runs `$body` (which uses `$conn: &mut PgConnection`) in a transaction with retries.
macro_rules! transaction {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = $store.pool.begin().await.map_err(failure)?;
            let result = {
                let $conn: &mut PgConnection = &mut tx;
                $body.await
            };
            match finish(tx, result, attempt).await {
                Step::Done(result) => break result,
                Step::Retry => continue,
            }
        }
    }};
}

/// Runs a future that needs no transaction (single statements) with the store's error mapping.
async fn single<T>(query: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, StoreError> {
    query.await.map_err(failure)
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        transaction!(self, |c| accounts::create_user(c, &new))
    }

    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        accounts::credentials(&self.pool, username.as_str()).await
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        accounts::user_by_username(&self.pool, username.as_str()).await
    }

    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        accounts::search_users(&self.pool, prefix, exclude, limit).await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        accounts::create_session(&self.pool, session).await
    }

    async fn session(
        &self,
        id_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        accounts::session(&self.pool, id_hash, now).await
    }

    async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        accounts::delete_session(&self.pool, id_hash).await
    }

    async fn create_token(&self, token: NewToken) -> Result<(), StoreError> {
        accounts::create_token(&self.pool, token).await
    }

    async fn token_user(
        &self,
        token_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        accounts::token_user(&self.pool, token_hash, now).await
    }

    async fn delete_token(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        accounts::delete_token(&self.pool, token_hash).await
    }

    async fn send_messages(&self, requests: Vec<SendRequest>) -> Vec<Result<Sent, StoreError>> {
        self.writer.send(requests).await
    }

    async fn sent_message(
        &self,
        sender: UserId,
        client_id: &ClientId,
    ) -> Result<Option<Message>, StoreError> {
        reads_on!(self, |c| messages::sent_message(
            c,
            sender,
            client_id.as_str()
        ))
    }

    async fn set_status(&self, change: StatusChange) -> Result<StatusOutcome, StoreError> {
        self.writer.set_status(change).await
    }

    async fn read_up_to(&self, request: ReadUpTo) -> Result<StatusOutcome, StoreError> {
        transaction!(self, |c| receipts::read_up_to(c, &request))
    }

    async fn message_receipts(
        &self,
        viewer: UserId,
        id: MessageId,
    ) -> Result<MessageReceipts, StoreError> {
        reads_on!(self, |c| receipts::message_receipts(c, viewer, id))
    }

    async fn change_message(&self, change: MessageChange) -> Result<Changed, StoreError> {
        transaction!(self, |c| edits::change_message(c, &change))
    }

    async fn create_group(&self, group: NewGroup) -> Result<GroupWrite, StoreError> {
        transaction!(self, |c| groups::create_group(c, &group))
    }

    async fn change_group(&self, request: GroupRequest) -> Result<GroupWrite, StoreError> {
        transaction!(self, |c| membership::change_group(c, &request))
    }

    async fn group(&self, viewer: UserId, id: ConversationId) -> Result<Group, StoreError> {
        reads_on!(self, |c| groups::group(c, viewer, id))
    }

    async fn group_members(
        &self,
        viewer: UserId,
        id: ConversationId,
    ) -> Result<Vec<Member>, StoreError> {
        reads_on!(self, |c| groups::members(c, viewer, id))
    }

    async fn direct_party(
        &self,
        member: UserId,
        id: ConversationId,
    ) -> Result<Option<User>, StoreError> {
        accounts::direct_party(&self.pool, member, id).await
    }

    async fn direct_conversation(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, StoreError> {
        reads_on!(self, |c| conversations::direct_conversation(c, a, b))
    }

    async fn history(
        &self,
        member: UserId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        reads_on!(self, |c| conversations::history(
            c,
            member,
            conversation,
            before,
            limit
        ))
    }

    async fn conversation_sync(
        &self,
        member: UserId,
        conversation: ConversationId,
        after: MessageId,
        limit: u32,
    ) -> Result<ConversationSync, StoreError> {
        reads_on!(self, |c| conversations::conversation_sync(
            c,
            member,
            conversation,
            after,
            limit
        ))
    }

    async fn conversations(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        reads_on!(self, |c| list::conversations(c, user, limit))
    }

    async fn events_since(
        &self,
        user: UserId,
        since: Cursor,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        reads_on!(self, |c| events::events_since(c, user, since, limit))
    }

    async fn last_cursor(&self, user: UserId) -> Result<Cursor, StoreError> {
        events::last_cursor(&self.pool, user).await
    }

    async fn contacts(&self, user: UserId) -> Result<Vec<Contact>, StoreError> {
        reads_on!(self, |c| accounts::contacts(c, user))
    }

    async fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        accounts::set_last_seen(&self.pool, user, at).await
    }

    async fn create_upload(&self, upload: NewUpload) -> Result<(), StoreError> {
        uploads::create_upload(&self.pool, &upload).await
    }

    async fn upload_usage(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<UploadUsage, StoreError> {
        uploads::upload_usage(&self.pool, user, since).await
    }

    async fn readable_upload(
        &self,
        viewer: UserId,
        id: UploadId,
        now: Timestamp,
    ) -> Result<Option<Upload>, StoreError> {
        uploads::readable_upload(&self.pool, viewer, &id, now).await
    }

    async fn sweep_uploads(&self, now: Timestamp, limit: u32) -> Result<Vec<UploadId>, StoreError> {
        uploads::sweep_uploads(&self.pool, now, limit).await
    }

    async fn uploads_removed(
        &self,
        ids: Vec<UploadId>,
        forget_before: Timestamp,
    ) -> Result<(), StoreError> {
        uploads::uploads_removed(&self.pool, &ids, forget_before).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        single(sqlx::query("SELECT 1").execute(&self.pool))
            .await
            .map(|_| ())
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    // -- Authentication (auth) --
    async fn tokens(&self, user: UserId, now: Timestamp) -> Result<Vec<TokenInfo>, StoreError> {
        accounts::tokens(&self.pool, user, now).await
    }

    async fn revoke_token(&self, user: UserId, id: String) -> Result<Option<Vec<u8>>, StoreError> {
        accounts::revoke_token(&self.pool, user, id).await
    }

    async fn touch_token(&self, token_hash: Vec<u8>, at: Timestamp) -> Result<(), StoreError> {
        accounts::touch_token(&self.pool, token_hash, at).await
    }

    async fn change_password(
        &self,
        user: UserId,
        password_hash: String,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let keep = keep.unwrap_or_default();
        transaction!(self, |c| accounts::change_password(
            c,
            user,
            &password_hash,
            &keep
        ))
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, StoreError> {
        accounts::purge_expired(&self.pool, now).await
    }

    // Accounts, reports and operators (v2 safety).

    async fn set_account_status(
        &self,
        user: UserId,
        status: AccountStatus,
    ) -> Result<(), StoreError> {
        transaction!(self, |c| standing::set_account_status(c, user, status))
    }

    async fn account_status(&self, user: UserId) -> Result<AccountStatus, StoreError> {
        standing::account_status(&self.pool, user).await
    }

    async fn admit_login(&self, user: UserId, now: Timestamp) -> Result<Admission, StoreError> {
        transaction!(self, |c| standing::admit_login(c, user, now))
    }

    async fn reset_password(
        &self,
        user: UserId,
        password_hash: String,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        transaction!(self, |c| standing::reset_password(
            c,
            user,
            &password_hash,
            until
        ))
    }

    async fn report_message(&self, report: NewReport) -> Result<bool, StoreError> {
        transaction!(self, |c| standing::report_message(c, &report))
    }

    async fn reports(&self, after: i64, limit: u32) -> Result<Vec<Report>, StoreError> {
        standing::reports(&self.pool, after, limit).await
    }

    async fn reports_by(&self, user: UserId) -> Result<Vec<ReportSummary>, StoreError> {
        standing::reports_by(&self.pool, user).await
    }

    async fn account_footprint(&self, user: UserId) -> Result<Footprint, StoreError> {
        standing::account_footprint(&self.pool, user).await
    }

    async fn retire_account(&self, retirement: Retirement) -> Result<(), StoreError> {
        transaction!(self, |c| standing::retire_account(c, &retirement))
    }

    async fn username_retired(
        &self,
        username: &Username,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        standing::username_retired(&self.pool, username.as_str(), now).await
    }

    async fn claim_export(
        &self,
        user: UserId,
        now: Timestamp,
        not_before: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        standing::claim_export(&self.pool, user, now, not_before).await
    }

    async fn user_uploads(&self, user: UserId) -> Result<Vec<Upload>, StoreError> {
        uploads::user_uploads(&self.pool, user).await
    }

    async fn purge_kept(
        &self,
        now: Timestamp,
        reports_before: Timestamp,
    ) -> Result<(), StoreError> {
        transaction!(self, |c| standing::purge_kept(c, now, reports_before))
    }

    // Safety: blocks and message requests.

    async fn block(
        &self,
        blocker: UserId,
        blocked: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        reads_on!(self, |c| safety::block(c, blocker, blocked, at))
    }

    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError> {
        reads_on!(self, |c| safety::unblock(c, blocker, blocked))
    }

    async fn blocked_users(&self, user: UserId) -> Result<Vec<User>, StoreError> {
        reads_on!(self, |c| safety::blocked_users(c, user))
    }

    async fn block_peers(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        reads_on!(self, |c| safety::block_peers(c, user))
    }

    async fn accept_request(
        &self,
        user: &User,
        other: UserId,
        at: Timestamp,
    ) -> Result<Vec<UserEvent>, StoreError> {
        transaction!(self, |c| receipts::accepted(c, user, other, at))
    }

    async fn decline_request(&self, user: UserId, other: UserId) -> Result<(), StoreError> {
        reads_on!(self, |c| safety::decline_request(c, user, other))
    }

    async fn accept_group(&self, user: UserId, group: ConversationId) -> Result<(), StoreError> {
        transaction!(self, |c| safety::accept_group_by(c, group, user))
    }

    async fn typing_allowed(&self, from: UserId, to: UserId) -> Result<bool, StoreError> {
        reads_on!(self, |c| safety::typing_allowed(c, from, to))
    }
}

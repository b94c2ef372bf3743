//! The embedded SQLite store: one writer thread with group commit (`writer`) and a pool of
//! read connections. WAL mode lets reads run beside the writer.
//!
//! This file opens and closes the store and routes each call of the `Store` trait: reads to a
//! pooled connection, writes to the writer as jobs. What the calls do lives with their
//! aggregate: `accounts` (users, sessions, tokens, last-seen, contacts), `messages` (how a
//! message reads back), `sends` (storing one), `conversations` (the direct conversation,
//! membership, history, re-sync, the list), `receipts` (statuses), `events` (users' streams
//! and cursors). `schema` holds the migrations, `checkpoint` copies the WAL back.

mod accounts;
mod checkpoint;
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
mod safety;
pub mod schema;
mod sends;
mod standing;
mod statuses;
mod uploads;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_sqlite::{Config as PoolConfig, Hook, HookError, Pool, Runtime};
use rusqlite::{Connection, OptionalExtension};

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
use crate::metrics::WriterMetrics;
use checkpoint::{Checkpointer, RESTART_FRAMES, WalRestart};
use writer::Writer;
// -- Authentication (auth) --
use super::{NewToken, TokenInfo, TokenRecord};

/// How often the WAL is copied back into the database file. Each pass ends with an `fsync` of
/// the pages it copied, and a commit that flushes the log meanwhile waits behind it; short
/// passes keep that wait short, at the price of copying hot pages more often (send→deliver p99
/// at 5,000 msg/s was mostly lower with 25 ms than with 100 ms passes over alternated runs,
/// and 10 ms cost closed-loop throughput: BENCHMARKS.md, fifth round).
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(25);

/// Maps any rusqlite error to a store error, telling busy/locked/IO failures apart.
pub(crate) fn other(err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match err.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | SystemIoFailure | DiskFull | CannotOpen) => {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Other(err.to_string()),
    }
}

/// Tuning of the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Read connections in the pool.
    pub readers: usize,
    /// Writes that may wait for the writer before senders are slowed down.
    pub queue_depth: usize,
    /// The most writes committed together.
    pub max_batch: usize,
    /// Where the writer records its batches (the server's `/metrics`).
    pub metrics: WriterMetrics,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            queue_depth: 8192,
            max_batch: 512,
            metrics: WriterMetrics::default(),
        }
    }
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Writer>,
    /// Receipts waiting for the writer, stored together (`statuses`).
    statuses: statuses::Statuses,
    checkpointer: Checkpointer,
    readers: Pool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        let writer_path = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let mut conn = Connection::open(&writer_path).map_err(other)?;
            schema::configure_writer(&conn).map_err(other)?;
            let applied = schema::migrate(&mut conn)?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied SQLite migrations");
                // A migration that rebuilds a table leaves a log as large as the table; copy
                // it back and empty it now, before anything else opens the database.
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(other)?;
            }
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Other(e.to_string()))??;
        let restart = WalRestart::default();
        let writer = Arc::new(Writer::start(
            conn,
            options.queue_depth,
            options.max_batch,
            restart.clone(),
            options.metrics,
        ));
        let checkpointer =
            Checkpointer::start(&path, CHECKPOINT_INTERVAL, restart, RESTART_FRAMES)?;
        let readers = PoolConfig::new(&path)
            .builder(Runtime::Tokio1)
            .map_err(|e| StoreError::Other(e.to_string()))?
            .max_size(options.readers)
            .post_create(Hook::async_fn(|conn, _| {
                Box::pin(async move {
                    conn.interact(|c| {
                        schema::configure(c)?;
                        c.execute_batch("PRAGMA query_only = ON;")
                    })
                    .await
                    .map_err(|e| HookError::message(e.to_string()))?
                    .map_err(HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(SqliteStore {
            path,
            writer,
            statuses: statuses::Statuses::default(),
            checkpointer,
            readers,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self
            .readers
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        conn.interact(move |c| f(c))
            .await
            .map_err(|e| StoreError::Other(e.to_string()))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        self.writer
            .write(move |c| accounts::create_user(c, &new))
            .await
    }

    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        let username = username.as_str().to_owned();
        self.read(move |c| accounts::credentials(c, &username))
            .await
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let username = username.as_str().to_owned();
        self.read(move |c| accounts::user_by_username(c, &username))
            .await
    }

    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let prefix = prefix.to_owned();
        self.read(move |c| accounts::search_users(c, &prefix, exclude, limit))
            .await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.writer
            .write(move |c| accounts::create_session(c, &session))
            .await
    }

    async fn session(
        &self,
        id_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.read(move |c| accounts::session(c, &id_hash, now))
            .await
    }

    async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        self.writer
            .write(move |c| accounts::delete_session(c, &id_hash))
            .await
    }

    async fn create_token(&self, token: NewToken) -> Result<(), StoreError> {
        self.writer
            .write(move |c| accounts::create_token(c, &token))
            .await
    }

    async fn token_user(
        &self,
        token_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.read(move |c| accounts::token_user(c, &token_hash, now))
            .await
    }

    async fn delete_token(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        self.writer
            .write(move |c| accounts::delete_token(c, &token_hash))
            .await
    }

    async fn send_messages(&self, requests: Vec<SendRequest>) -> Vec<Result<Sent, StoreError>> {
        let ops = requests
            .into_iter()
            .map(|request| move |c: &Connection| sends::send_message(c, &request))
            .collect();
        self.writer.write_all(ops).await
    }

    async fn sent_message(
        &self,
        sender: UserId,
        client_id: &ClientId,
    ) -> Result<Option<Message>, StoreError> {
        let client_id = client_id.as_str().to_owned();
        self.read(move |c| messages::sent_message(c, sender, &client_id))
            .await
    }

    async fn set_status(&self, change: StatusChange) -> Result<StatusOutcome, StoreError> {
        self.statuses.set_status(&self.writer, change).await
    }

    async fn read_up_to(&self, request: ReadUpTo) -> Result<StatusOutcome, StoreError> {
        self.writer
            .write(move |c| receipts::read_up_to(c, &request))
            .await
    }

    async fn message_receipts(
        &self,
        viewer: UserId,
        id: MessageId,
    ) -> Result<MessageReceipts, StoreError> {
        self.read(move |c| receipts::message_receipts(c, viewer, id))
            .await
    }

    async fn change_message(&self, change: MessageChange) -> Result<Changed, StoreError> {
        self.writer
            .write(move |c| edits::change_message(c, &change))
            .await
    }

    async fn create_group(&self, group: NewGroup) -> Result<GroupWrite, StoreError> {
        self.writer
            .write(move |c| groups::create_group(c, &group))
            .await
    }

    async fn change_group(&self, request: GroupRequest) -> Result<GroupWrite, StoreError> {
        self.writer
            .write(move |c| membership::change_group(c, &request))
            .await
    }

    async fn group(&self, viewer: UserId, id: ConversationId) -> Result<Group, StoreError> {
        self.read(move |c| groups::group(c, viewer, id)).await
    }

    async fn group_members(
        &self,
        viewer: UserId,
        id: ConversationId,
    ) -> Result<Vec<Member>, StoreError> {
        self.read(move |c| groups::members(c, viewer, id)).await
    }

    async fn direct_party(
        &self,
        member: UserId,
        id: ConversationId,
    ) -> Result<Option<User>, StoreError> {
        self.read(move |c| accounts::direct_party(c, member, id))
            .await
    }

    async fn direct_conversation(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, StoreError> {
        self.read(move |c| conversations::direct_conversation(c, a, b))
            .await
    }

    async fn history(
        &self,
        member: UserId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        self.read(move |c| conversations::history(c, member, conversation, before, limit))
            .await
    }

    async fn conversation_sync(
        &self,
        member: UserId,
        conversation: ConversationId,
        after: MessageId,
        limit: u32,
    ) -> Result<ConversationSync, StoreError> {
        self.read(move |c| conversations::conversation_sync(c, member, conversation, after, limit))
            .await
    }

    async fn conversations(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.read(move |c| list::conversations(c, user, limit))
            .await
    }

    async fn events_since(
        &self,
        user: UserId,
        since: Cursor,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        self.read(move |c| events::events_since(c, user, since, limit))
            .await
    }

    async fn last_cursor(&self, user: UserId) -> Result<Cursor, StoreError> {
        self.read(move |c| events::last_cursor(c, user)).await
    }

    async fn contacts(&self, user: UserId) -> Result<Vec<Contact>, StoreError> {
        self.read(move |c| accounts::contacts(c, user)).await
    }

    async fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        self.writer
            .write(move |c| accounts::set_last_seen(c, user, at))
            .await
    }

    async fn create_upload(&self, upload: NewUpload) -> Result<(), StoreError> {
        self.writer
            .write(move |c| uploads::create_upload(c, &upload))
            .await
    }

    async fn upload_usage(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<UploadUsage, StoreError> {
        self.read(move |c| uploads::upload_usage(c, user, since))
            .await
    }

    async fn readable_upload(
        &self,
        viewer: UserId,
        id: UploadId,
        now: Timestamp,
    ) -> Result<Option<Upload>, StoreError> {
        self.read(move |c| uploads::readable_upload(c, viewer, &id, now))
            .await
    }

    async fn sweep_uploads(&self, now: Timestamp, limit: u32) -> Result<Vec<UploadId>, StoreError> {
        self.writer
            .write(move |c| uploads::sweep_uploads(c, now, limit))
            .await
    }

    async fn uploads_removed(
        &self,
        ids: Vec<UploadId>,
        forget_before: Timestamp,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |c| uploads::uploads_removed(c, &ids, forget_before))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(other))
            .await
    }

    async fn close(&self) {
        self.checkpointer.stop().await;
        self.writer.close().await;
        self.readers.close();
    }

    // -- Authentication (auth) --
    async fn tokens(&self, user: UserId, now: Timestamp) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(move |c| accounts::tokens(c, user, now)).await
    }

    async fn revoke_token(&self, user: UserId, id: String) -> Result<Option<Vec<u8>>, StoreError> {
        self.writer
            .write(move |c| accounts::revoke_token(c, user, &id))
            .await
    }

    async fn touch_token(&self, token_hash: Vec<u8>, at: Timestamp) -> Result<(), StoreError> {
        self.writer
            .write(move |c| accounts::touch_token(c, &token_hash, at))
            .await
    }

    async fn change_password(
        &self,
        user: UserId,
        password_hash: String,
        keep: Option<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let keep = keep.unwrap_or_default();
        self.writer
            .write(move |c| accounts::change_password(c, user, &password_hash, &keep))
            .await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.writer
            .write(move |c| accounts::purge_expired(c, now))
            .await
    }

    // Accounts, reports and operators (v2 safety).

    async fn set_account_status(
        &self,
        user: UserId,
        status: AccountStatus,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |c| standing::set_account_status(c, user, status))
            .await
    }

    async fn account_status(&self, user: UserId) -> Result<AccountStatus, StoreError> {
        self.read(move |c| standing::account_status(c, user)).await
    }

    async fn admit_login(&self, user: UserId, now: Timestamp) -> Result<Admission, StoreError> {
        self.writer
            .write(move |c| standing::admit_login(c, user, now))
            .await
    }

    async fn reset_password(
        &self,
        user: UserId,
        password_hash: String,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |c| standing::reset_password(c, user, &password_hash, until))
            .await
    }

    async fn report_message(&self, report: NewReport) -> Result<bool, StoreError> {
        self.writer
            .write(move |c| standing::report_message(c, &report))
            .await
    }

    async fn reports(&self, after: i64, limit: u32) -> Result<Vec<Report>, StoreError> {
        self.read(move |c| standing::reports(c, after, limit)).await
    }

    async fn reports_by(&self, user: UserId) -> Result<Vec<ReportSummary>, StoreError> {
        self.read(move |c| standing::reports_by(c, user)).await
    }

    async fn account_footprint(&self, user: UserId) -> Result<Footprint, StoreError> {
        self.read(move |c| standing::account_footprint(c, user))
            .await
    }

    async fn retire_account(&self, retirement: Retirement) -> Result<(), StoreError> {
        self.writer
            .write(move |c| standing::retire_account(c, &retirement))
            .await
    }

    async fn username_retired(
        &self,
        username: &Username,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let username = username.as_str().to_owned();
        self.read(move |c| standing::username_retired(c, &username, now))
            .await
    }

    async fn claim_export(
        &self,
        user: UserId,
        now: Timestamp,
        not_before: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.writer
            .write(move |c| standing::claim_export(c, user, now, not_before))
            .await
    }

    async fn user_uploads(&self, user: UserId) -> Result<Vec<Upload>, StoreError> {
        self.read(move |c| uploads::user_uploads(c, user)).await
    }

    async fn purge_kept(
        &self,
        now: Timestamp,
        reports_before: Timestamp,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |c| standing::purge_kept(c, now, reports_before))
            .await
    }

    // Safety: blocks and message requests.

    async fn block(
        &self,
        blocker: UserId,
        blocked: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |c| safety::block(c, blocker, blocked, at))
            .await
    }

    async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<(), StoreError> {
        self.writer
            .write(move |c| safety::unblock(c, blocker, blocked))
            .await
    }

    async fn blocked_users(&self, user: UserId) -> Result<Vec<User>, StoreError> {
        self.read(move |c| safety::blocked_users(c, user)).await
    }

    async fn block_peers(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        self.read(move |c| safety::block_peers(c, user)).await
    }

    async fn accept_request(
        &self,
        user: &User,
        other: UserId,
        at: Timestamp,
    ) -> Result<Vec<UserEvent>, StoreError> {
        let user = user.clone();
        self.writer
            .write(move |c| safety::accept_request(c, &user, other, at))
            .await
    }

    async fn decline_request(&self, user: UserId, other: UserId) -> Result<(), StoreError> {
        self.writer
            .write(move |c| safety::decline_request(c, user, other))
            .await
    }

    async fn accept_group(&self, user: UserId, group: ConversationId) -> Result<(), StoreError> {
        self.writer
            .write(move |c| {
                let current: Option<bool> = c
                    .query_row(
                        "SELECT me.left_id IS NULL FROM conversation_members me \
                         JOIN conversations g ON g.id = me.conversation_id AND g.kind = 'group' \
                         WHERE me.conversation_id = ?1 AND me.user_id = ?2",
                        rusqlite::params![group.0, user.0],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(other)?;
                super::groups::Standing::require(current)?;
                safety::accept_group(c, group, user)
            })
            .await
    }

    async fn typing_allowed(&self, from: UserId, to: UserId) -> Result<bool, StoreError> {
        self.read(move |c| safety::typing_allowed(c, from, to))
            .await
    }
}

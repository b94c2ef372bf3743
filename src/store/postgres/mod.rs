//! The PostgreSQL store, for several nodes sharing one database. Same interface and guarantees
//! as SQLite; concurrency is handled by row locks and unique indexes (see `writes`).

mod batch;
pub mod reads;
pub mod schema;
mod transactions;
mod writer;
mod writes;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Row};

use super::records::like_prefix;
use super::{
    Contact, ConversationSummary, ConversationSync, Credentials, EventPage, HistoryPage,
    NewSession, NewUser, ReadUpTo, SendRequest, Sent, SessionRecord, StatusChange, StatusOutcome,
    Store, StoreError, User,
};
use crate::domain::Message;
use crate::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use crate::domain::input::{ClientId, Username};
use crate::domain::time::Timestamp;
pub(crate) use transactions::failure;
use transactions::{Step, finish};
use writer::Writer;

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

/// Runs `$body` (which uses `$conn: &mut PgConnection`) in a transaction with retries.
/// Runs a read on a pooled connection.
macro_rules! reads_on {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let mut held = $store.conn().await?;
        let $conn: &mut PgConnection = &mut held;
        $body.await
    }};
}

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
        transaction!(self, |c| writes::create_user(c, &new))
    }

    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        let row = single(
            sqlx::query(
                "SELECT id, username, display_name, password_hash FROM users WHERE username = $1",
            )
            .bind(username.as_str())
            .fetch_optional(&self.pool),
        )
        .await?;
        row.map(|r| {
            Ok(Credentials {
                user: reads::user_from_row(&r)?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
        .map_err(failure)
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let row = single(
            sqlx::query("SELECT id, username, display_name FROM users WHERE username = $1")
                .bind(username.as_str())
                .fetch_optional(&self.pool),
        )
        .await?;
        row.as_ref()
            .map(reads::user_from_row)
            .transpose()
            .map_err(failure)
    }

    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let pattern = like_prefix(prefix);
        let rows = single(
            sqlx::query(
                "SELECT id, username, display_name FROM users WHERE username LIKE $1 AND id != $2 \
                 ORDER BY username LIMIT $3",
            )
            .bind(pattern)
            .bind(exclude.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool),
        )
        .await?;
        rows.iter()
            .map(reads::user_from_row)
            .collect::<Result<_, _>>()
            .map_err(failure)
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        single(
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.id_hash)
            .bind(session.user.0)
            .bind(session.csrf_token)
            .bind(session.at.millis())
            .bind(session.expires_at.millis())
            .execute(&self.pool),
        )
        .await
        .map(|_| ())
    }

    async fn session(
        &self,
        id_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = single(
            sqlx::query(
                "SELECT u.id, u.username, u.display_name, s.csrf_token, s.expires_at FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2",
            )
            .bind(id_hash)
            .bind(now.millis())
            .fetch_optional(&self.pool),
        )
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                user: reads::user_from_row(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: Timestamp(r.try_get("expires_at")?),
            })
        })
        .transpose()
        .map_err(failure)
    }

    async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        single(
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(&self.pool),
        )
        .await
        .map(|_| ())
    }

    async fn create_token(
        &self,
        token_hash: Vec<u8>,
        user: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        single(
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash)
            .bind(user.0)
            .bind(at.millis())
            .execute(&self.pool),
        )
        .await
        .map(|_| ())
    }

    async fn token_user(&self, token_hash: Vec<u8>) -> Result<Option<User>, StoreError> {
        let row = single(
            sqlx::query(
                "SELECT u.id, u.username, u.display_name FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&self.pool),
        )
        .await?;
        row.as_ref()
            .map(reads::user_from_row)
            .transpose()
            .map_err(failure)
    }

    async fn delete_token(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        single(
            sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&self.pool),
        )
        .await
        .map(|_| ())
    }

    async fn send_messages(&self, requests: Vec<SendRequest>) -> Vec<Result<Sent, StoreError>> {
        self.writer.send(requests).await
    }

    async fn sent_message(
        &self,
        sender: UserId,
        client_id: &ClientId,
    ) -> Result<Option<Message>, StoreError> {
        reads_on!(self, |c| reads::sent_message(c, sender, client_id.as_str()))
    }

    async fn set_status(&self, change: StatusChange) -> Result<StatusOutcome, StoreError> {
        self.writer.set_status(change).await
    }

    async fn read_up_to(&self, request: ReadUpTo) -> Result<StatusOutcome, StoreError> {
        transaction!(self, |c| writes::read_up_to(c, &request))
    }

    async fn direct_conversation(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, StoreError> {
        reads_on!(self, |c| reads::direct_conversation(c, a, b))
    }

    async fn history(
        &self,
        member: UserId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        reads_on!(self, |c| reads::history(
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
        reads_on!(self, |c| reads::conversation_sync(
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
        reads_on!(self, |c| reads::conversations(c, user, limit))
    }

    async fn events_since(
        &self,
        user: UserId,
        since: Cursor,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        reads_on!(self, |c| reads::events_since(c, user, since, limit))
    }

    async fn last_cursor(&self, user: UserId) -> Result<Cursor, StoreError> {
        let cursor: i64 = single(
            sqlx::query_scalar("SELECT COALESCE(MAX(cursor), 0) FROM events WHERE user_id = $1")
                .bind(user.0)
                .fetch_one(&self.pool),
        )
        .await?;
        Ok(Cursor(cursor))
    }

    async fn contacts(&self, user: UserId) -> Result<Vec<Contact>, StoreError> {
        reads_on!(self, |c| reads::contacts(c, user))
    }

    async fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        single(
            sqlx::query("UPDATE users SET last_seen_at = $1 WHERE id = $2")
                .bind(at.millis())
                .bind(user.0)
                .execute(&self.pool),
        )
        .await
        .map(|_| ())
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
}

//! The embedded SQLite store: one writer thread with group commit (`writer`) and a pool of
//! read connections. WAL mode lets reads run beside the writer.

mod checkpoint;
pub mod reads;
pub mod schema;
mod writer;
mod writes;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use deadpool_sqlite::{Config as PoolConfig, Hook, HookError, Pool, Runtime};
use rusqlite::{Connection, OptionalExtension, params};

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
use checkpoint::{Checkpointer, RESTART_FRAMES, WalRestart};
use writer::Writer;

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
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            queue_depth: 8192,
            max_batch: 512,
        }
    }
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
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
        let writer = Writer::start(
            conn,
            options.queue_depth,
            options.max_batch,
            restart.clone(),
        );
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

fn user_query(
    conn: &Connection,
    sql: &str,
    arg: impl rusqlite::ToSql,
) -> Result<Option<User>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row([arg], |r| reads::user_from_row(r, 0))
                .optional()
        })
        .map_err(other)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        self.writer
            .write(move |c| writes::create_user(c, &new))
            .await
    }

    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        let username = username.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT id, username, display_name, password_hash FROM users WHERE username = ?1",
            )
            .and_then(|mut s| {
                s.query_row([username], |r| {
                    Ok(Credentials {
                        user: reads::user_from_row(r, 0)?,
                        password_hash: r.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(other)
        })
        .await
    }

    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let username = username.as_str().to_owned();
        self.read(move |c| {
            user_query(
                c,
                "SELECT id, username, display_name FROM users WHERE username = ?1",
                username,
            )
        })
        .await
    }

    async fn search_users(
        &self,
        prefix: &str,
        exclude: UserId,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        // Usernames only hold [a-z0-9_.-]; '_' is a LIKE wildcard, so escape it.
        let pattern = like_prefix(prefix);
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, username, display_name FROM users \
                     WHERE username LIKE ?1 ESCAPE '\\' AND id != ?2 ORDER BY username LIMIT ?3",
                )
                .map_err(other)?;
            let rows = stmt
                .query_map(params![pattern, exclude.0, limit], |r| {
                    reads::user_from_row(r, 0)
                })
                .map_err(other)?;
            rows.collect::<Result<_, _>>().map_err(other)
        })
        .await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.writer
            .write(move |c| {
                c.prepare_cached(
                    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut s| {
                    s.execute(params![session.id_hash, session.user.0, session.csrf_token, session.at.millis(), session.expires_at.millis()])
                })
                .map(|_| ())
                .map_err(other)
            })
            .await
    }

    async fn session(
        &self,
        id_hash: Vec<u8>,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT u.id, u.username, u.display_name, s.csrf_token, s.expires_at FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1 AND s.expires_at > ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![id_hash, now.millis()], |r| {
                    Ok(SessionRecord {
                        user: reads::user_from_row(r, 0)?,
                        csrf_token: r.get(3)?,
                        expires_at: Timestamp(r.get(4)?),
                    })
                })
                .optional()
            })
            .map_err(other)
        })
        .await
    }

    async fn delete_session(&self, id_hash: Vec<u8>) -> Result<(), StoreError> {
        self.writer
            .write(move |c| {
                c.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])
                    .map(|_| ())
                    .map_err(other)
            })
            .await
    }

    async fn create_token(
        &self,
        token_hash: Vec<u8>,
        user: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |c| {
                c.execute(
                    "INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES (?1, ?2, ?3)",
                    params![token_hash, user.0, at.millis()],
                )
                .map(|_| ())
                .map_err(other)
            })
            .await
    }

    async fn token_user(&self, token_hash: Vec<u8>) -> Result<Option<User>, StoreError> {
        self.read(move |c| {
            user_query(
                c,
                "SELECT u.id, u.username, u.display_name FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = ?1",
                token_hash,
            )
        })
        .await
    }

    async fn delete_token(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        self.writer
            .write(move |c| {
                c.execute(
                    "DELETE FROM api_tokens WHERE token_hash = ?1",
                    [&token_hash],
                )
                .map(|_| ())
                .map_err(other)
            })
            .await
    }

    async fn send_messages(&self, requests: Vec<SendRequest>) -> Vec<Result<Sent, StoreError>> {
        let ops = requests
            .into_iter()
            .map(|request| move |c: &Connection| writes::send_message(c, &request))
            .collect();
        self.writer.write_all(ops).await
    }

    async fn sent_message(
        &self,
        sender: UserId,
        client_id: &ClientId,
    ) -> Result<Option<Message>, StoreError> {
        let client_id = client_id.as_str().to_owned();
        self.read(move |c| reads::sent_message(c, sender, &client_id))
            .await
    }

    async fn set_status(&self, change: StatusChange) -> Result<StatusOutcome, StoreError> {
        self.writer
            .write(move |c| writes::set_status(c, &change))
            .await
    }

    async fn read_up_to(&self, request: ReadUpTo) -> Result<StatusOutcome, StoreError> {
        self.writer
            .write(move |c| writes::read_up_to(c, &request))
            .await
    }

    async fn direct_conversation(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ConversationId>, StoreError> {
        self.read(move |c| reads::direct_conversation(c, a, b))
            .await
    }

    async fn history(
        &self,
        member: UserId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        self.read(move |c| reads::history(c, member, conversation, before, limit))
            .await
    }

    async fn conversation_sync(
        &self,
        member: UserId,
        conversation: ConversationId,
        after: MessageId,
        limit: u32,
    ) -> Result<ConversationSync, StoreError> {
        self.read(move |c| reads::conversation_sync(c, member, conversation, after, limit))
            .await
    }

    async fn conversations(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.read(move |c| reads::conversations(c, user, limit))
            .await
    }

    async fn events_since(
        &self,
        user: UserId,
        since: Cursor,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        self.read(move |c| reads::events_since(c, user, since, limit))
            .await
    }

    async fn last_cursor(&self, user: UserId) -> Result<Cursor, StoreError> {
        self.read(move |c| {
            c.prepare_cached("SELECT COALESCE(MAX(cursor), 0) FROM events WHERE user_id = ?1")
                .and_then(|mut s| s.query_row([user.0], |r| r.get(0)))
                .map(Cursor)
                .map_err(other)
        })
        .await
    }

    async fn contacts(&self, user: UserId) -> Result<Vec<Contact>, StoreError> {
        self.read(move |c| reads::contacts(c, user)).await
    }

    async fn set_last_seen(&self, user: UserId, at: Timestamp) -> Result<(), StoreError> {
        self.writer
            .write(move |c| {
                c.prepare_cached("UPDATE users SET last_seen_at = ?1 WHERE id = ?2")
                    .and_then(|mut s| s.execute(params![at.millis(), user.0]))
                    .map(|_| ())
                    .map_err(other)
            })
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
}

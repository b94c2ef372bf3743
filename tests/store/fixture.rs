//! The storage one story runs on, owned by the story's test and removed when it ends, pass or
//! fail: a temp directory holding a SQLite database, or a PostgreSQL database created for the
//! test on `LINKUP_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and dropped
//! by a guard, so a panicking story leaves nothing behind either.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use linkup::store::Store;
use linkup::store::postgres::{PostgresOptions, PostgresStore};
use linkup::store::sqlite::{SqliteOptions, SqliteStore};
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An open store and the storage under it.
pub struct Fixture {
    store: Arc<dyn Store>,
    // Dropped after `store` (fields drop in order): the files or database outlive the store.
    _directory: Option<TempDir>,
    _database: Option<PgDatabase>,
}

impl Fixture {
    pub async fn open(backend: Backend) -> Fixture {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("linkup.db");
                let store = SqliteStore::open(&path, SqliteOptions::default())
                    .await
                    .expect("SQLite store opens");
                Fixture {
                    store: Arc::new(store),
                    _directory: Some(dir),
                    _database: None,
                }
            }
            Backend::Postgres => {
                let database = PgDatabase::create().await;
                let options = PostgresOptions {
                    max_connections: 8,
                    ..PostgresOptions::default()
                };
                let store = PostgresStore::open(&database.url(), options)
                    .await
                    .expect("PostgreSQL store opens");
                Fixture {
                    store: Arc::new(store),
                    _directory: None,
                    _database: Some(database),
                }
            }
        }
    }

    /// Finishes queued writes and releases the store; the storage goes when `self` drops.
    pub async fn close(self) {
        self.store.close().await;
    }
}

/// What a story takes from its fixture: `&dyn Store`, or `Arc<dyn Store>` to share with tasks.
pub trait Given<'a> {
    fn given(fixture: &'a Fixture) -> Self;
}

impl<'a> Given<'a> for &'a dyn Store {
    fn given(fixture: &'a Fixture) -> Self {
        fixture.store.as_ref()
    }
}

impl<'a> Given<'a> for Arc<dyn Store> {
    fn given(fixture: &'a Fixture) -> Self {
        fixture.store.clone()
    }
}

fn admin_url() -> String {
    std::env::var("LINKUP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database created for one test, dropped (with any connection still open) on drop.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    async fn create() -> PgDatabase {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "linkup_store_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("PostgreSQL reachable for tests");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("test database created");
        PgDatabase { name }
    }

    fn url(&self) -> String {
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run while a runtime unwinds: do the work on a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url()).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

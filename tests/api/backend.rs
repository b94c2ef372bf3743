//! Which store a test server runs on, and the per-test database that goes with it: a temp
//! directory for SQLite, a freshly created (and afterwards dropped) database for PostgreSQL.

use std::sync::atomic::{AtomicU64, Ordering};

use linkup::config::Config;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on (`LINKUP_TEST_PG_URL` to change).
pub fn admin_url() -> String {
    std::env::var("LINKUP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A test's own storage; removed when dropped.
pub struct TestStore {
    pub dir: TempDir,
    database: Option<PgDatabase>,
}

impl TestStore {
    pub async fn new(backend: Backend) -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await),
        };
        TestStore { dir, database }
    }

    /// Points a server configuration at this storage.
    pub fn configure(&self, config: &mut Config) {
        config.data_dir = self.dir.path().to_path_buf();
        config.database_url = self.database.as_ref().map(PgDatabase::url);
    }

    /// `serve` flags selecting this storage, for tests that start the real binary.
    pub fn flags(&self) -> Vec<String> {
        match &self.database {
            None => vec!["--data-dir".into(), self.dir.path().display().to_string()],
            Some(db) => vec!["--database-url".into(), db.url()],
        }
    }
}

/// A database created for one test.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    async fn create() -> PgDatabase {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "linkup_test_{}_{}_{}",
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
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        format!("{base}/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any async context we could borrow: use a short-lived runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url()).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
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

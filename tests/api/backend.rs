//! Which store and bus a test server runs on, and the per-test storage that goes with them: a
//! temp directory for SQLite (with the in-process bus); for PostgreSQL, a freshly created (and
//! afterwards dropped) database plus the Redis bus under a key prefix of the test's own (whose
//! keys are deleted afterwards).

use std::sync::atomic::{AtomicU64, Ordering};

use linkup::config::Config;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite and the in-process bus.
    Sqlite,
    /// PostgreSQL and the Redis bus: what several nodes run on.
    Postgres,
}

/// The Redis server tests use (`LINKUP_TEST_REDIS_URL` to change).
pub fn redis_url() -> String {
    std::env::var("LINKUP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
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
        if let Some(db) = &self.database {
            config.database_url = Some(db.url());
            config.redis_url = Some(redis_url());
            config.redis_prefix = db.name.clone();
        }
    }

    /// The PostgreSQL URL of this storage, if it is PostgreSQL (only the PostgreSQL binary's
    /// tests need it).
    #[allow(dead_code)]
    pub fn database_url(&self) -> Option<String> {
        self.database.as_ref().map(PgDatabase::url)
    }

    /// `serve` flags selecting this storage, for tests that start the real binary.
    pub fn flags(&self) -> Vec<String> {
        match &self.database {
            None => vec!["--data-dir".into(), self.dir.path().display().to_string()],
            Some(db) => vec![
                "--database-url".into(),
                db.url(),
                "--redis-url".into(),
                redis_url(),
                "--redis-prefix".into(),
                db.name.clone(),
            ],
        }
    }
}

/// A database created for one test; its name is also the test's Redis key prefix.
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
                forget_redis_keys(&name).await;
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

/// Deletes every Redis key under `prefix:`.
async fn forget_redis_keys(prefix: &str) {
    let Ok(client) = redis::Client::open(redis_url()) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let pattern = format!("{prefix}:*");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}

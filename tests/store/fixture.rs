//! The store one story runs on, over storage owned by the story's test and removed when it
//! ends, pass or fail (`backend::TestStore`, as the HTTP suites use): a temp directory holding
//! a SQLite database, or a PostgreSQL database created for the test on `LINKUP_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and dropped by a guard, so a panicking
//! story leaves nothing behind either.

use std::sync::Arc;

use linkup::store::Store;
use linkup::store::postgres::{PostgresOptions, PostgresStore};
use linkup::store::sqlite::{SqliteOptions, SqliteStore};

use crate::backend::{Backend, TestStore};

/// An open store and the storage under it.
pub struct Fixture {
    store: Arc<dyn Store>,
    // Dropped after `store` (fields drop in order): the files or database outlive the store.
    _storage: TestStore,
}

impl Fixture {
    pub async fn open(backend: Backend) -> Fixture {
        let storage = TestStore::new(backend).await;
        let store: Arc<dyn Store> = match storage.database_url() {
            None => {
                let path = storage.dir.path().join("linkup.db");
                let store = SqliteStore::open(&path, SqliteOptions::default())
                    .await
                    .expect("SQLite store opens");
                Arc::new(store)
            }
            Some(url) => {
                let options = PostgresOptions {
                    max_connections: 8,
                    ..PostgresOptions::default()
                };
                let store = PostgresStore::open(&url, options)
                    .await
                    .expect("PostgreSQL store opens");
                Arc::new(store)
            }
        };
        Fixture {
            store,
            _storage: storage,
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

//! The newest schema on a database that v1 filled (SQLite from version 2, PostgreSQL from
//! version 1): the counter columns go, and seqs, cursors, unread counts and the conversation
//! list go on from the rows themselves; the per-message statuses become the members'
//! watermarks and receipt log (v2), so both parties see what they saw and "message info"
//! keeps v1's times.

use std::path::PathBuf;
use std::sync::Arc;

use linkup::domain::MessageStatus;
use linkup::domain::ids::{ConversationId, Cursor, MessageId, UserId};
use linkup::domain::input::{Body, ClientId, Username};
use linkup::domain::time::Timestamp;
use linkup::store::postgres::{PostgresOptions, PostgresStore};
use linkup::store::sqlite::{SqliteOptions, SqliteStore};
use linkup::store::{Destination, ReadUpTo, SendRequest, Store, postgres, sqlite};
use sqlx::{Connection, PgConnection};

use crate::BACKEND;
use crate::backend::{Backend, TestStore};

/// Alice sent bob two messages, the first read, the second delivered, with the counters the
/// previous schema kept in `users` and `conversations` (the same columns on both backends).
const PREVIOUS_VERSION_ROWS: &str = "
    INSERT INTO users (id, username, display_name, password_hash, created_at, last_cursor)
        VALUES (1, 'alice', 'Alice', 'x', 1, 2), (2, 'bob', 'Bob', 'x', 1, 2);
    INSERT INTO conversations (id, kind, last_seq, last_message_id, updated_at)
        VALUES (1, 'direct', 2, 2, 20);
    INSERT INTO conversation_members (user_id, conversation_id) VALUES (1, 1), (2, 1);
    INSERT INTO direct_conversations (user_low, user_high, conversation_id) VALUES (1, 2, 1);
    INSERT INTO messages (id, conversation_id, seq, sender_id, recipient_id, client_id, body,
                          created_at, status, delivered_at, read_at)
        VALUES (1, 1, 1, 1, 2, 'c1', 'first', 10, 2, 11, 12),
               (2, 1, 2, 1, 2, 'c2', 'second', 20, 1, 21, NULL);
    INSERT INTO events (user_id, cursor, kind, message_id, created_at)
        VALUES (1, 1, 1, 1, 10), (2, 1, 1, 1, 10), (1, 2, 1, 2, 20), (2, 2, 1, 2, 20);";

/// PostgreSQL's id sequences, set past the rows inserted with explicit ids.
const POSTGRES_SEQUENCES: &str = "
    SELECT setval(pg_get_serial_sequence('users', 'id'), 2);
    SELECT setval(pg_get_serial_sequence('conversations', 'id'), 1);
    SELECT setval(pg_get_serial_sequence('messages', 'id'), 2);";

/// Where the previous version's database is, once filled.
enum Previous {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Bob's receipt for the second message as v1 recorded it: a status event's payload had
/// neither `up_to_id` nor `all`.
const V1_STATUS_EVENTS: &str = r#"
    INSERT INTO events (user_id, cursor, kind, message_id, data, created_at)
        VALUES (1, 3, 2, NULL, '{"conversation_id":1,"message_ids":[2],"status":"delivered","by":"bob","at":21}', 21),
               (2, 3, 2, NULL, '{"conversation_id":1,"message_ids":[2],"status":"delivered","by":"bob","at":21}', 21);"#;

async fn previous_version(storage: &TestStore) -> Previous {
    previous_version_with(storage, "").await
}

/// The previous version's rows, and `more` rows after them.
async fn previous_version_with(storage: &TestStore, more: &str) -> Previous {
    match BACKEND {
        Backend::Sqlite => {
            let path = storage.dir.path().join("linkup.db");
            let mut conn = rusqlite::Connection::open(&path).expect("database file");
            assert_eq!(sqlite::schema::migrate_to(&mut conn, 2).unwrap(), [1, 2]);
            conn.execute_batch(&format!("{PREVIOUS_VERSION_ROWS}{more}"))
                .expect("version-2 rows");
            Previous::Sqlite(path)
        }
        Backend::Postgres => {
            let url = storage.database_url().expect("a PostgreSQL test store");
            let pool = sqlx::PgPool::connect(&url).await.expect("pool");
            assert_eq!(postgres::schema::migrate_to(&pool, 1).await.unwrap(), [1]);
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "{PREVIOUS_VERSION_ROWS}{more}"
            )))
            .execute(&pool)
            .await
            .expect("version-1 rows");
            sqlx::raw_sql(POSTGRES_SEQUENCES)
                .execute(&pool)
                .await
                .expect("sequences");
            pool.close().await;
            Previous::Postgres(url)
        }
    }
}

/// Opens the store, which migrates the database to the newest version.
async fn open(previous: &Previous) -> Arc<dyn Store> {
    match previous {
        Previous::Sqlite(path) => {
            let store = SqliteStore::open(path, SqliteOptions::default())
                .await
                .expect("store opens and migrates");
            let log = std::fs::metadata(path.with_extension("db-wal")).map_or(0, |m| m.len());
            assert_eq!(log, 0, "the rebuild's log is copied back and emptied");
            Arc::new(store)
        }
        Previous::Postgres(url) => Arc::new(
            PostgresStore::open(url, PostgresOptions::default())
                .await
                .expect("store opens and migrates"),
        ),
    }
}

/// When the conversation was created, as stored.
async fn conversation_created_at(previous: &Previous) -> i64 {
    let sql = "SELECT created_at FROM conversations WHERE id = 1";
    match previous {
        Previous::Sqlite(path) => rusqlite::Connection::open(path)
            .expect("database file")
            .query_row(sql, [], |r| r.get(0))
            .expect("conversation"),
        Previous::Postgres(url) => {
            let mut db = PgConnection::connect(url).await.expect("connection");
            sqlx::query_scalar(sql)
                .fetch_one(&mut db)
                .await
                .expect("conversation")
        }
    }
}

#[tokio::test]
async fn the_newest_schema_goes_on_from_the_rows_of_the_previous_one() {
    let storage = TestStore::new(BACKEND).await;
    let previous = previous_version(&storage).await;
    let store = open(&previous).await;
    let named = |name: &str| Username::parse(name).expect("username");
    let alice = store
        .user_by_username(&named("alice"))
        .await
        .unwrap()
        .unwrap();
    let bob = store
        .user_by_username(&named("bob"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.last_cursor(bob.id).await.unwrap(), Cursor(2));
    assert_eq!(store.conversations(bob.id, 10).await.unwrap()[0].unread, 1);

    // The per-message statuses became bob's watermarks: both parties see what they saw, and
    // "message info" keeps the times v1 recorded.
    for viewer in [&alice, &bob] {
        let page = store
            .history(viewer.id, ConversationId(1), None, 10)
            .await
            .expect("history");
        let statuses: Vec<Option<MessageStatus>> = page.messages.iter().map(|m| m.status).collect();
        assert_eq!(
            statuses,
            [Some(MessageStatus::Read), Some(MessageStatus::Delivered)],
            "as {} sees them",
            viewer.username
        );
    }
    let first = store
        .message_receipts(alice.id, MessageId(1))
        .await
        .unwrap();
    let read: Vec<(&str, Timestamp)> = first
        .read
        .iter()
        .map(|(u, at)| (u.username.as_str(), *at))
        .collect();
    assert_eq!(read, [("bob", Timestamp(12))]);
    let second = store
        .message_receipts(alice.id, MessageId(2))
        .await
        .unwrap();
    let delivered: Vec<(&str, Timestamp)> = second
        .delivered
        .iter()
        .map(|(u, at)| (u.username.as_str(), *at))
        .collect();
    assert_eq!(delivered, [("bob", Timestamp(21))]);

    let sent = store
        .send_message(SendRequest {
            sender: alice.clone(),
            to: Destination::Direct(bob.clone()),
            client_id: ClientId::parse("c3").unwrap(),
            body: Body::parse("third", 100).unwrap(),
            reply_to: None,
            attachments: Vec::new(),
            at: Timestamp(30),
            requests: false,
        })
        .await
        .expect("sent");
    assert_eq!(sent.message.seq, 3, "the conversation's seq goes on");
    let cursors: Vec<(UserId, Cursor)> = sent
        .events
        .iter()
        .map(|e| (e.user, e.event.cursor()))
        .collect();
    assert_eq!(cursors, [(alice.id, Cursor(3)), (bob.id, Cursor(3))]);
    let list = store.conversations(bob.id, 10).await.unwrap();
    assert_eq!(list[0].unread, 2, "the delivered message and the new one");
    assert_eq!(
        list[0].last_message.as_ref().map(|m| m.id),
        Some(sent.message.id)
    );

    let read = store
        .read_up_to(ReadUpTo {
            reader: bob.clone(),
            conversation: sent.message.conversation_id,
            up_to: sent.message.id,
            live_max: 32,
            at: Timestamp(40),
        })
        .await
        .expect("read up to");
    assert_eq!(read.updated, [MessageId(2), sent.message.id]);
    assert_eq!(store.conversations(bob.id, 10).await.unwrap()[0].unread, 0);
    store.close().await;
    assert_eq!(
        conversation_created_at(&previous).await,
        10,
        "the time of its first message"
    );
}

/// v1's status events read back as v2 ones: `up_to_id` is the largest id they list, and `all` is
/// true, as for every status event of a direct conversation.
#[tokio::test]
async fn status_events_recorded_by_v1_read_back() {
    let storage = TestStore::new(BACKEND).await;
    let previous = previous_version_with(&storage, V1_STATUS_EVENTS).await;
    let store = open(&previous).await;
    for user in [UserId(1), UserId(2)] {
        let page = store
            .events_since(user, Cursor(2), 10)
            .await
            .expect("v1's events read back");
        let statuses: Vec<_> = page
            .events
            .iter()
            .map(|event| match event {
                linkup::domain::Event::Status {
                    cursor,
                    message_ids,
                    up_to_id,
                    status,
                    by,
                    all,
                    ..
                } => (
                    *cursor,
                    message_ids.clone(),
                    *up_to_id,
                    *status,
                    by.clone(),
                    *all,
                ),
                other => panic!("not a status event: {other:?}"),
            })
            .collect();
        assert_eq!(
            statuses,
            [(
                Cursor(3),
                vec![MessageId(2)],
                MessageId(2),
                MessageStatus::Delivered,
                "bob".to_owned(),
                true
            )]
        );
    }
    store.close().await;
}

//! The PostgreSQL store's group commit, driven through the `Store` trait: sends and receipts
//! from many callers committed together must keep every guarantee of one-by-one writes — a
//! failing job fails alone, seqs and cursors stay gap-free, and two stores (two nodes) writing
//! batches crosswise into the same conversations neither deadlock nor leave gaps.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::Connection;

use linkup::domain::MessageStatus;
use linkup::domain::User;
use linkup::domain::event::Event;
use linkup::domain::ids::{Cursor, MessageId, UserId};
use linkup::domain::input::{Body, ClientId, Username};
use linkup::domain::time::Timestamp;
use linkup::store::postgres::{PostgresOptions, PostgresStore};
use linkup::store::{Destination, NewUser, SendRequest, StatusChange, Store, StoreError};

use crate::backend::{Backend, TestStore};

async fn open(storage: &TestStore) -> Arc<PostgresStore> {
    let url = storage.database_url().expect("a PostgreSQL test store");
    Arc::new(
        PostgresStore::open(&url, PostgresOptions::default())
            .await
            .expect("store opens"),
    )
}

async fn user(store: &PostgresStore, name: &str) -> User {
    let new = NewUser {
        username: Username::parse(name).expect("username"),
        display_name: name.to_owned(),
        password_hash: "not a hash".to_owned(),
        at: Timestamp::now(),
    };
    store.create_user(new).await.expect("user created")
}

fn send(from: &User, to: &User, client_id: &str, body: &str) -> SendRequest {
    SendRequest {
        sender: from.clone(),
        to: Destination::Direct(to.clone()),
        client_id: ClientId::parse(client_id).expect("client id"),
        body: Body::parse(body, 4096).expect("body"),
        reply_to: None,
        attachments: Vec::new(),
        at: Timestamp::now(),
        requests: false,
    }
}

/// Asserts the conversation's seqs are 1..=M in ascending id order; returns M.
async fn assert_conversation_gap_free(store: &PostgresStore, a: &User, b: &User) -> usize {
    let conversation = store
        .direct_conversation(a.id, b.id)
        .await
        .expect("lookup")
        .expect("the two have a conversation");
    let page = store
        .history(a.id, conversation, None, 10_000)
        .await
        .expect("history");
    let seqs: Vec<i64> = page.messages.iter().map(|m| m.seq).collect();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "{} and {}: seqs", a.username, b.username);
    let ids: Vec<MessageId> = page.messages.iter().map(|m| m.id).collect();
    assert!(
        ids.is_sorted_by(|x, y| x < y),
        "ids ascend with seq: {ids:?}"
    );
    seqs.len()
}

/// Asserts the user's cursors are exactly 1..=N; returns N.
async fn assert_stream_gap_free(store: &PostgresStore, user: UserId) -> usize {
    let page = store
        .events_since(user, Cursor(0), 100_000)
        .await
        .expect("events");
    let cursors: Vec<i64> = page.events.iter().map(|e| e.cursor().0).collect();
    let expected: Vec<i64> = (1..=cursors.len() as i64).collect();
    assert_eq!(cursors, expected, "user {}: cursors", user.0);
    assert_eq!(
        store.last_cursor(user).await.expect("cursor").0,
        cursors.len() as i64
    );
    cursors.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_conflicting_sends_commits_the_others_without_gaps() {
    let storage = TestStore::new(Backend::Postgres).await;
    let store = open(&storage).await;
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    let first = store
        .send_message(send(&alice, &bob, "c1", "first"))
        .await
        .expect("first send");
    let results = store
        .send_messages(vec![
            send(&alice, &bob, "c2", "second"),
            send(&alice, &bob, "c1", "another body"),
            send(&alice, &bob, "c3", "third"),
            send(&alice, &carol, "c1", "first"),
            send(&alice, &bob, "c2", "second"),
            send(&alice, &bob, "c1", "first"),
            send(&carol, &bob, "c1", "from carol"),
        ])
        .await;
    let ok = |i: usize| results[i].as_ref().expect("stored");
    assert!(ok(0).created && ok(0).message.seq == 2 && ok(0).events.len() == 2);
    assert!(matches!(results[1], Err(StoreError::Conflict(_))));
    assert!(ok(2).created && ok(2).message.seq == 3);
    assert!(matches!(results[3], Err(StoreError::Conflict(_))));
    // The same send twice in one batch is stored once; the second is answered as a retry.
    assert!(!ok(4).created && ok(4).events.is_empty());
    assert_eq!(ok(4).message.id, ok(0).message.id);
    assert!(!ok(5).created && ok(5).message.id == first.message.id);
    assert!(ok(6).created && ok(6).message.seq == 1);

    assert_eq!(assert_conversation_gap_free(&store, &alice, &bob).await, 3);
    assert_eq!(assert_conversation_gap_free(&store, &carol, &bob).await, 1);
    assert_eq!(assert_stream_gap_free(&store, alice.id).await, 3);
    assert_eq!(assert_stream_gap_free(&store, bob.id).await, 4);
    assert_eq!(assert_stream_gap_free(&store, carol.id).await, 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_committed_together_move_forward_and_fail_alone() {
    let storage = TestStore::new(Backend::Postgres).await;
    let store = open(&storage).await;
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let sends = (0..6)
        .map(|n| send(&alice, &bob, &format!("m{n}"), "hi"))
        .collect();
    let ids: Vec<MessageId> = store
        .send_messages(sends)
        .await
        .into_iter()
        .map(|r| r.expect("stored").message.id)
        .collect();
    let change = |reader: &User, ids: &[MessageId], status| StatusChange {
        reader: reader.clone(),
        message_ids: ids.to_vec(),
        status,
        live_max: 32,
        at: Timestamp::now(),
    };
    // Queued together, so they usually share a batch: delivered up to the last message, read
    // up to the fourth, a change naming someone else's message, and a change that moves
    // nothing new. Receipts are up-to: each moves everything before the newest id it names.
    let (delivered, read, foreign, again) = tokio::join!(
        store.set_status(change(&bob, &ids[..6], MessageStatus::Delivered)),
        store.set_status(change(&bob, &ids[2..4], MessageStatus::Read)),
        store.set_status(change(&alice, &ids[..1], MessageStatus::Read)),
        store.set_status(change(&bob, &ids[..1], MessageStatus::Delivered)),
    );
    assert!(matches!(foreign, Err(StoreError::NotFound)));
    let delivered = delivered.expect("delivered");
    let read = read.expect("read");
    let again = again.expect("again");
    assert_eq!(read.updated, ids[..4].to_vec(), "nothing was read before");
    assert_eq!(read.up_to, Some(ids[3]));
    // The changes may commit in any order (two writers): the last two messages are delivered
    // by `delivered` whatever the order; the first ones only if it came before the read (and
    // the first one by `again` if that came before both).
    assert!(delivered.updated.ends_with(&ids[4..]), "{delivered:?}");
    assert!(again.updated.is_empty() || again.updated == ids[..1]);
    let mut delivered_first: Vec<MessageId> = delivered
        .updated
        .iter()
        .chain(&again.updated)
        .copied()
        .collect();
    delivered_first.sort();
    delivered_first.dedup();
    assert_eq!(
        delivered_first.len(),
        delivered.updated.len() + again.updated.len(),
        "delivered once each: {delivered:?} {again:?}"
    );
    let conversation = store
        .direct_conversation(bob.id, alice.id)
        .await
        .expect("lookup")
        .expect("the two have a conversation");
    let page = store
        .history(bob.id, conversation, None, 100)
        .await
        .expect("history");
    let statuses: BTreeMap<MessageId, Option<MessageStatus>> =
        page.messages.iter().map(|m| (m.id, m.status)).collect();
    for (n, id) in ids.iter().enumerate() {
        let expected = Some(if n < 4 {
            MessageStatus::Read
        } else {
            MessageStatus::Delivered
        });
        assert_eq!(statuses[id], expected, "message {n}");
    }
    assert_stream_gap_free(&store, alice.id).await;
    assert_stream_gap_free(&store, bob.id).await;
    store.close().await;
}

/// Sends from `task` through `store`: `rounds` batches, each one message along every ordered
/// pair of `people`, visited forwards or backwards so that batches lock conversations in
/// opposite orders of arrival.
///
/// Receipts are up-to, so one may also move messages of other tasks that came before the ones
/// it names (or find its own already moved by another's); returns every id its receipts moved.
async fn crosswise(
    store: Arc<PostgresStore>,
    people: Arc<Vec<User>>,
    task: usize,
    rounds: usize,
) -> Vec<MessageId> {
    let mut moved = Vec::new();
    let mut pairs = Vec::new();
    for a in people.iter() {
        for b in people.iter().filter(|b| b.id != a.id) {
            pairs.push((a, b));
        }
    }
    if task % 2 == 1 {
        pairs.reverse();
    }
    for round in 0..rounds {
        let batch = pairs
            .iter()
            .map(|(a, b)| send(a, b, &format!("t{task}r{round}u{}", b.id.0), "crosswise"))
            .collect();
        let mut received: BTreeMap<UserId, (User, Vec<MessageId>)> = BTreeMap::new();
        for ((_, to), result) in pairs.iter().zip(store.send_messages(batch).await) {
            let sent = result.expect("every crosswise send is stored");
            assert!(sent.created);
            let entry = received
                .entry(to.id)
                .or_insert_with(|| ((*to).clone(), Vec::new()));
            entry.1.push(sent.message.id);
        }
        // Everyone marks what they just received as delivered, all at once.
        let receipts = received.into_values().map(|(reader, message_ids)| {
            let change = StatusChange {
                reader,
                message_ids,
                status: MessageStatus::Delivered,
                live_max: 32,
                at: Timestamp::now(),
            };
            store.set_status(change)
        });
        for outcome in futures_util::future::join_all(receipts).await {
            moved.extend(outcome.expect("a receipt").updated);
        }
    }
    moved
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_writing_crosswise_batches_neither_deadlock_nor_leave_gaps() {
    let storage = TestStore::new(Backend::Postgres).await;
    let stores = [open(&storage).await, open(&storage).await];
    let mut people = Vec::new();
    for name in ["ann", "ben", "cat", "dan"] {
        people.push(user(&stores[0], name).await);
    }
    let people = Arc::new(people);
    let rounds = 15;
    let tasks: Vec<_> = (0..6)
        .map(|task| {
            let store = stores[task % 2].clone();
            tokio::spawn(crosswise(store, people.clone(), task, rounds))
        })
        .collect();
    let mut moved = Vec::new();
    for task in tasks {
        moved.extend(task.await.expect("a crosswise sender"));
    }
    // Every message was named by its recipient's receipt, so each moved exactly once.
    let total = moved.len();
    moved.sort();
    moved.dedup();
    assert_eq!(moved.len(), total, "no message moves twice");
    let pairs = people.len() - 1;
    assert_eq!(total, 6 * rounds * people.len() * pairs);
    for (i, a) in people.iter().enumerate() {
        for b in &people[i + 1..] {
            let count = assert_conversation_gap_free(&stores[1], a, b).await;
            assert_eq!(count, 6 * rounds * 2, "{} and {}", a.username, b.username);
        }
        // An event per message sent or received, and status events that move each of those
        // messages once.
        assert_stream_gap_free(&stores[0], a.id).await;
        let events = stores[0]
            .events_since(a.id, Cursor(0), 100_000)
            .await
            .expect("events")
            .events;
        let (mut messages, mut statuses) = (0, Vec::new());
        for event in events {
            match event {
                Event::Message { .. } => messages += 1,
                Event::Status { message_ids, .. } => statuses.extend(message_ids),
                other => panic!("a send or a receipt recorded {other:?}"),
            }
        }
        assert_eq!(
            messages,
            6 * rounds * pairs * 2,
            "{}'s messages",
            a.username
        );
        let count = statuses.len();
        statuses.sort();
        statuses.dedup();
        assert_eq!(
            (statuses.len(), count),
            (messages, messages),
            "{}'s status events move each message once",
            a.username
        );
    }
    for store in stores {
        store.close().await;
    }
}

/// How often PostgreSQL's statistics say `messages` was scanned whole, once every connection
/// the store had is gone: a backend reports its counts as it exits, so this waits until no other
/// backend is connected to the database and `inserted` rows have been counted.
async fn messages_table_scans(url: &str, inserted: i64) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connects");
    for _ in 0..200 {
        let (others, scans, rows): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()), \
             seq_scan, n_tup_ins FROM pg_stat_user_tables WHERE relname = 'messages'",
        )
        .fetch_one(&mut conn)
        .await
        .expect("table statistics");
        if others == 0 && rows >= inserted {
            return scans;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the store's connections never all closed with {inserted} messages counted");
}

/// A new database has no statistics on `messages`, and the plans PostgreSQL then caches for a
/// batch's statements must still find messages through an index: one that scans the table makes
/// every batch slower as it grows (BENCHMARKS.md, fifth round).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_on_a_new_database_never_scan_the_messages_table() {
    let storage = TestStore::new(Backend::Postgres).await;
    let url = storage.database_url().expect("a PostgreSQL test store");
    let store = open(&storage).await;
    let (ann, bob) = (user(&store, "ann").await, user(&store, "bob").await);
    let first = store
        .send_message(send(&ann, &bob, "first", "hello"))
        .await
        .expect("stored");
    store.close().await;
    drop(store);
    let before = messages_table_scans(&url, 1).await;

    // More rounds than the five custom plans PostgreSQL tries before it caches a generic one.
    let store = open(&storage).await;
    let rounds = 12;
    for round in 0..rounds {
        let requests = (0..3)
            .map(|n| send(&ann, &bob, &format!("r{round}-{n}"), "hi"))
            .chain([send(&ann, &bob, "first", "hello")])
            .collect();
        let sent = store.send_messages(requests).await;
        let ids: Vec<MessageId> = sent
            .into_iter()
            .map(|s| s.expect("stored").message.id)
            .collect();
        assert_eq!(
            ids[3], first.message.id,
            "the retried send is answered, not stored"
        );
        store
            .set_status(StatusChange {
                reader: bob.clone(),
                message_ids: ids[..3].to_vec(),
                status: MessageStatus::Delivered,
                live_max: 32,
                at: Timestamp::now(),
            })
            .await
            .expect("delivered");
    }
    store.close().await;
    drop(store);
    let after = messages_table_scans(&url, 1 + 3 * rounds).await;
    assert_eq!(
        after, before,
        "scans of the whole messages table by the batches"
    );
}

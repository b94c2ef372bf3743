//! Exactly-once delivery across reconnects: while messages pour in from several senders, the
//! recipient's socket goes away at (seeded) random moments and comes back with
//! `?since=<last cursor seen>`. Every message must arrive once, in `seq` order per
//! conversation, with cursors strictly +1 — and match what `GET /api/sync` says.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::socket::{Auth, FRAME_WAIT, Socket, open_once_freed, token};
use crate::support::{Client, TestApp};

/// A small deterministic generator (splitmix64), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Sends `count` messages from `client` to bob, tagged `tag`.
async fn send_many(client: Arc<Client>, tag: &'static str, count: usize) {
    for i in 0..count {
        let (status, body) = client
            .send("bob", &format!("{tag}-{i}"), &format!("{tag} {i}"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{tag} {i}: {body}");
    }
}

/// Opens bob's socket from `since`, retrying while the server still counts closed sockets.
async fn reconnect(app: &TestApp, bob: &Client, since: i64) -> Socket {
    let path = format!("/ws/notifications/?since={since}");
    open_once_freed(&app.url, &path, Auth::Bearer(token(bob))).await
}

/// What bob has seen, checked as it arrives.
#[derive(Default)]
struct Seen {
    last_cursor: i64,
    ids: HashSet<i64>,
    order: Vec<i64>,
    last_seq: HashMap<String, i64>,
}

impl Seen {
    fn take(&mut self, frame: &Value) {
        let cursor = frame["cursor"].as_i64().expect("a cursor");
        assert_eq!(
            cursor,
            self.last_cursor + 1,
            "cursors go up by one: {frame}"
        );
        self.last_cursor = cursor;
        assert_eq!(frame["type"], "message", "{frame}");
        let message = &frame["message"];
        let id = message["id"].as_i64().expect("an id");
        assert!(self.ids.insert(id), "message {id} arrived twice");
        self.order.push(id);
        let sender = message["sender"].as_str().expect("a sender").to_owned();
        let seq = message["seq"].as_i64().expect("a seq");
        let previous = self.last_seq.insert(sender.clone(), seq).unwrap_or(0);
        assert_eq!(
            seq,
            previous + 1,
            "seq order in the conversation with {sender}"
        );
    }
}

#[tokio::test]
async fn every_message_arrives_exactly_once_across_random_reconnects() {
    const PER_TASK: usize = 500;
    const TOTAL: usize = 4 * PER_TASK;
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    let (alice, carol) = (Arc::new(alice), Arc::new(carol));
    let senders = [
        (&alice, "a0"),
        (&alice, "a1"),
        (&carol, "c0"),
        (&carol, "c1"),
    ]
    .map(|(client, tag)| tokio::spawn(send_many(client.clone(), tag, PER_TASK)));

    let mut rng = Rng(0x5EED_2024);
    let mut seen = Seen::default();
    let (mut sessions, mut server_closes) = (0, 0);
    let started = Instant::now();
    while seen.order.len() < TOTAL {
        let mut socket = reconnect(&app, &bob, seen.last_cursor).await;
        sessions += 1;
        // Read a random number of events (sometimes none), then go away.
        let mut budget = rng.below(80);
        while budget > 0 && seen.order.len() < TOTAL {
            match socket.next_within(FRAME_WAIT).await {
                Ok(Some(frame)) if frame.get("cursor").is_some() => {
                    seen.take(&frame);
                    budget -= 1;
                }
                Ok(Some(frame)) => assert_eq!(frame["type"], "presence", "{frame}"),
                Ok(None) => {
                    server_closes += 1;
                    break;
                }
                Err(()) => panic!("stalled after {} messages", seen.order.len()),
            }
        }
        match rng.below(3) {
            0 => drop(socket),
            1 => {
                let _ = socket.stream.close(None).await;
            }
            _ => {
                let _ = socket
                    .send_raw(Message::Text(r#"{"type":"ping"}"#.into()))
                    .await;
                drop(socket);
            }
        }
    }
    for sender in senders {
        sender.await.expect("sender task");
    }
    eprintln!(
        "{TOTAL} messages over {sessions} sockets ({server_closes} closed by the server) in {:?}",
        started.elapsed()
    );
    assert!(sessions > 10, "the test reconnected only {sessions} times");

    // Each conversation arrived complete, and the stream equals what sync says.
    assert_eq!(seen.last_seq.get("alice"), Some(&(2 * PER_TASK as i64)));
    assert_eq!(seen.last_seq.get("carol"), Some(&(2 * PER_TASK as i64)));
    let synced: Vec<i64> = bob
        .all_events(0)
        .await
        .iter()
        .map(|e| e["message"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(synced, seen.order);
    // And nothing more is owed.
    let mut socket = reconnect(&app, &bob, seen.last_cursor).await;
    socket.assert_no_more_events().await;
    app.stop().await;
}

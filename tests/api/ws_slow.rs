//! A slow client never slows others: its bounded queue overflows, it is disconnected (1013, or
//! just closed), and it catches up from its cursor; a socket that reads keeps up with every
//! message meanwhile. A peer that stopped reading (its socket's writes stuck) does not hold up
//! logout or shutdown either.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::socket::{NOTIFICATIONS, Socket, session_cookie};
use crate::support::{Client, TestApp, eventually};

/// Reads message events up to the one with client_id `last`; returns their cursors.
async fn read_until_last(mut socket: Socket) -> Vec<i64> {
    let mut cursors = Vec::new();
    loop {
        let frame = socket
            .next()
            .await
            .unwrap_or_else(|| panic!("closed after {} messages", cursors.len()));
        if frame["type"] == "message" {
            cursors.push(frame["cursor"].as_i64().expect("a cursor"));
            if frame["message"]["client_id"] == "last" {
                return cursors;
            }
        }
    }
}

#[tokio::test]
async fn a_socket_that_stops_reading_is_dropped_while_others_get_everything() {
    // Bodies of 14,000 four-byte characters make 56 KB frames, which fill the stalled
    // socket's kernel buffers after a few dozen sends.
    const CHARS: usize = 14_000;
    const MAX_SENDS: usize = 2_000;
    const AFTER_DROP: usize = 20;
    let app = TestApp::spawn_with(|c| {
        c.ws_queue = 16;
        c.max_body_chars = CHARS;
    })
    .await;
    let [alice, bob] = app.token_users(["alice", "bob"]).await;
    let hub = app.server.state().hub.clone();
    let mut stalled = app.notifications(&bob).await;
    let reader = app.notifications(&bob).await;
    let reader = tokio::spawn(read_until_last(reader));
    assert_eq!(hub.subscriptions(), 2);

    let body = "\u{1F4AC}".repeat(CHARS);
    let mut sent = 0;
    let mut dropped_after = None;
    let started = Instant::now();
    while sent < dropped_after.map_or(MAX_SENDS, |n| n + AFTER_DROP) {
        sent += 1;
        let client_id = format!("m{sent}");
        let (status, message) = alice.send("bob", &client_id, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{}", message["error"]);
        if dropped_after.is_none() && hub.subscriptions() < 2 {
            dropped_after = Some(sent);
        }
    }
    let dropped_after = dropped_after.expect("the stalled socket was never dropped");
    let (status, last) = alice.send("bob", "last", "that's all").await;
    assert_eq!(status, StatusCode::CREATED, "{last}");
    let total = sent as i64 + 1;
    eprintln!(
        "stalled socket dropped after {dropped_after} sends; {total} sent in {:?}",
        started.elapsed()
    );

    let cursors = tokio::time::timeout(Duration::from_secs(20), reader)
        .await
        .expect("the reading socket kept up")
        .expect("reader task");
    assert_eq!(
        cursors,
        (1..=total).collect::<Vec<_>>(),
        "every message, in order, once"
    );
    assert_eq!(hub.subscriptions(), 1, "the reader stayed subscribed");

    // The stalled socket, read at last: what was buffered (in order), then the end.
    let (buffered, close) = stalled.drain().await;
    let mut seen = 0;
    for frame in buffered.iter().filter(|f| f["type"] == "message") {
        let cursor = frame["cursor"].as_i64().unwrap();
        assert_eq!(cursor, seen + 1, "buffered frames in order");
        seen = cursor;
    }
    eprintln!("the stalled socket had {seen} messages buffered, then close {close:?}");
    assert!(matches!(close, None | Some(1013)), "closed with {close:?}");
    assert!(seen < total, "it was dropped before it got everything");

    // It catches up from its cursor, exactly where it left off.
    let path = format!("/ws/notifications/?since={seen}");
    let again = app.socket(&bob, &path).await;
    let rest = read_until_last(again).await;
    assert_eq!(rest, (seen + 1..=total).collect::<Vec<_>>());
    app.stop().await;
}

/// A server with big bodies allowed, alice and bob, and bob's socket (opened with his session
/// cookie, or a token) that never reads, its kernel buffers filled by `FILL` messages of 56 KB
/// so that the server's task for it is stuck writing. Returns bob's session too.
async fn stalled_bob(auth_session: bool) -> (TestApp, Client, Socket, String) {
    const FILL: usize = 150;
    let app = TestApp::spawn_with(|c| c.max_body_chars = 14_000).await;
    let [alice, bob] = app.token_users(["alice", "bob"]).await;
    let session = session_cookie(&app.url, "bob").await;
    let stalled = if auth_session {
        app.cookie_socket(&session, NOTIFICATIONS).await
    } else {
        app.notifications(&bob).await
    };
    let body = "\u{1F4AC}".repeat(14_000);
    for i in 0..FILL {
        let (status, message) = alice.send("bob", &format!("fill{i}"), &body).await;
        assert_eq!(status, StatusCode::CREATED, "{}", message["error"]);
    }
    assert_eq!(
        app.server.state().hub.subscriptions(),
        1,
        "still subscribed (queue not full)"
    );
    (app, alice, stalled, session)
}

#[tokio::test]
async fn stopping_the_server_does_not_wait_for_a_socket_that_stopped_reading() {
    let (app, _alice, mut stalled, _) = stalled_bob(false).await;
    let started = Instant::now();
    app.stop().await;
    let took = started.elapsed();
    let (_, close) = stalled.drain().await;
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    assert!(matches!(close, None | Some(1001)), "closed with {close:?}");
}

#[tokio::test]
async fn logout_stops_delivery_even_to_a_socket_that_stopped_reading() {
    let (app, alice, mut stalled, session) = stalled_bob(true).await;
    crate::ws_lifecycle::logout_session(&app.url, &session).await;
    for i in 0..5 {
        let (status, _) = alice
            .send("bob", &format!("after{i}"), "sent after the logout")
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let hub = app.server.state().hub.clone();
    let unregistered = || hub.subscriptions() == 0;
    let what = "the logged-out socket unregistered";
    eventually(Duration::from_secs(2), what, unregistered).await;
    let (frames, close) = stalled.drain().await;
    let leaked: Vec<&Value> = frames
        .iter()
        .filter(|f| {
            f["message"]["client_id"]
                .as_str()
                .is_some_and(|c| c.starts_with("after"))
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "{} messages reached a logged-out session",
        leaked.len()
    );
    assert!(matches!(close, None | Some(4001)), "closed with {close:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_peer_that_stops_reading_for_10_s_is_disconnected() {
    let (app, _alice, mut stalled, _) = stalled_bob(false).await;
    let hub = app.server.state().hub.clone();
    let unregistered = || hub.subscriptions() == 0;
    let what = "the stuck peer unregistered";
    eventually(Duration::from_secs(15), what, unregistered).await;
    let (frames, close) = stalled.drain().await;
    assert!(!frames.is_empty(), "what was buffered still arrives");
    assert!(matches!(close, None | Some(1013)), "closed with {close:?}");
    app.stop().await;
}

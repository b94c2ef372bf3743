//! How sockets end: logout closes the sockets of that credential only (4001, within a second),
//! a peer that stops answering pings is dropped, and stopping the server closes every socket
//! with 1001.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::socket::{Auth, NOTIFICATIONS, Socket, connect, open, session_cookie, token};
use crate::support::{TestApp, eventually};

/// Logs the session out over HTTP, the way a browser would (cookie plus CSRF header).
pub async fn logout_session(base: &str, session: &str) {
    let http = reqwest::Client::new();
    let cookie = format!("linkup_session={session}");
    let me: Value = http
        .get(format!("{base}/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me sent")
        .json()
        .await
        .expect("me is JSON");
    let csrf = me["csrf_token"].as_str().expect("a csrf token");
    let response = http
        .post(format!("{base}/api/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .expect("logout sent");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// Waits at most a second for the server to close `socket`; returns the close code.
async fn close_code_within_a_second(socket: &mut Socket) -> Option<u16> {
    tokio::time::timeout(Duration::from_secs(1), socket.closed())
        .await
        .expect("the socket closed within a second")
        .map(|frame| u16::from(frame.code))
}

#[tokio::test]
async fn logout_closes_the_sockets_of_that_session_only() {
    let (app, [alice, _bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let doomed = session_cookie(&app.url, "alice").await;
    let kept = session_cookie(&app.url, "alice").await;
    let mut doomed_all = app.cookie_socket(&doomed, NOTIFICATIONS).await;
    let mut doomed_chat = app.cookie_socket(&doomed, "/ws/chat/bob/").await;
    let mut kept_ws = app.cookie_socket(&kept, NOTIFICATIONS).await;
    let mut bearer_ws = app.socket(&alice, "/ws/chat/bob/").await;
    doomed_all.ping().await;
    doomed_chat.ping().await;

    logout_session(&app.url, &doomed).await;
    assert_eq!(
        close_code_within_a_second(&mut doomed_all).await,
        Some(4001)
    );
    assert_eq!(
        close_code_within_a_second(&mut doomed_chat).await,
        Some(4001)
    );
    kept_ws.ping().await;
    bearer_ws.ping().await;
    let again = connect(&app.url, NOTIFICATIONS, app.cookie(&doomed)).await;
    assert_eq!(
        again.err(),
        Some(401),
        "a logged-out session cannot reopen a socket"
    );
    app.stop().await;
}

#[tokio::test]
async fn revoking_a_bearer_token_closes_its_sockets_only() {
    let (app, [doomed, _bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let kept = app.token_client("alice").await;
    let session = session_cookie(&app.url, "alice").await;
    let mut doomed_ws = open(&app.url, NOTIFICATIONS, Auth::Query(token(&doomed))).await;
    let mut kept_ws = app.notifications(&kept).await;
    let mut cookie_ws = app.cookie_socket(&session, "/ws/chat/bob/").await;
    doomed_ws.ping().await;

    let (status, body) = doomed.post("/api/auth/logout", serde_json::json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(close_code_within_a_second(&mut doomed_ws).await, Some(4001));
    kept_ws.ping().await;
    cookie_ws.ping().await;
    app.stop().await;
}

#[tokio::test]
async fn a_peer_that_never_answers_pings_is_dropped() {
    let app = TestApp::spawn_with(|c| c.ws_ping_secs = 1).await;
    let [alice, bob] = app.token_users(["alice", "bob"]).await;
    // Opened, then never polled: tungstenite answers pings only while the stream is read.
    let mut dead = app.notifications(&alice).await;
    let mut live = app.notifications(&bob).await;
    let hub = app.server.state().hub.clone();
    assert_eq!(hub.subscriptions(), 2);

    let started = Instant::now();
    let deadline = Duration::from_secs(8);
    while hub.subscriptions() > 1 {
        assert!(
            started.elapsed() < deadline,
            "a silent peer was not dropped within {deadline:?}"
        );
        // Reading the live socket is what lets it answer the server's pings.
        let frame = live.next_within(Duration::from_millis(50)).await;
        assert!(
            matches!(frame, Err(()) | Ok(Some(_))),
            "the live socket closed: {frame:?}"
        );
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "dropped after only {took:?}: not for silence"
    );
    assert_eq!(hub.users(), 1, "bob is still registered");
    // The answering peer outlived two more intervals of pings.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        let frame = live.next_within(Duration::from_millis(100)).await;
        assert!(
            matches!(frame, Err(()) | Ok(Some(_))),
            "the live socket closed: {frame:?}"
        );
    }
    assert_eq!(hub.subscriptions(), 1);
    live.ping().await;

    // The silent peer finds a policy close waiting once it reads again.
    dead.assert_closed_with(1008).await;
    let unregistered = || hub.subscriptions() == 1;
    eventually(
        Duration::from_secs(1),
        "the dropped peer unregistered",
        unregistered,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn stopping_the_server_closes_every_socket_with_1001() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let session = session_cookie(&app.url, "bob").await;
    let mut sockets = vec![
        app.notifications(&alice).await,
        open(&app.url, "/ws/chat/bob/", Auth::Query(token(&alice))).await,
        app.cookie_socket(&session, "/ws/chat/alice/").await,
        app.notifications(&bob).await,
    ];
    for socket in &mut sockets {
        socket.ping().await;
    }
    let url = app.url.clone();
    let started = Instant::now();
    app.stop().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "stopping took {took:?}: sockets held it up"
    );
    for socket in &mut sockets {
        socket.assert_closed_with(1001).await;
    }
    assert!(
        reqwest::get(format!("{url}/healthz")).await.is_err(),
        "the server no longer accepts connections"
    );
}

#[tokio::test]
async fn after_a_restart_a_socket_resumes_from_its_cursor() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let mut bob_ws = app.notifications(&bob).await;
    for i in 0..3 {
        alice
            .send_created("bob", &format!("a{i}"), "before the restart")
            .await;
    }
    assert_eq!(bob_ws.next_of("message").await["cursor"], 1);
    assert_eq!(bob_ws.next_of("message").await["cursor"], 2);

    // Stop (the socket is told 1001) and start again on the same data directory.
    let (stopped, app) = app.restart().await;
    bob_ws.assert_closed_with(1001).await;
    drop(stopped);

    // Tokens survive; the socket resumes from the last cursor it saw, then goes live.
    let mut bob_ws = app.socket(&bob, "/ws/notifications/?since=2").await;
    let resumed = bob_ws.next_of("message").await;
    assert_eq!(
        (
            resumed["cursor"].clone(),
            resumed["message"]["client_id"].clone()
        ),
        (3.into(), "a2".into())
    );
    let alice = app.token_client("alice").await;
    let live = alice.send_created("bob", "a3", "after the restart").await;
    let event = bob_ws.next_of("message").await;
    assert_eq!(
        (event["cursor"].clone(), event["message"]["id"].clone()),
        (4.into(), live["id"].clone())
    );
    app.stop().await;
}

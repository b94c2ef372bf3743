//! How sockets end: logout closes the sockets of that credential only (4001, within a second),
//! a peer that stops answering pings is dropped, and stopping the server closes every socket
//! with 1001.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::socket::{Auth, Socket, connect, session_cookie, token};
use crate::support::TestApp;

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
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    app.signup("bob").await;
    let doomed = session_cookie(&app.url, "alice").await;
    let kept = session_cookie(&app.url, "alice").await;
    let alice = app.token_client("alice").await;
    let origin = Some(app.url.as_str());
    let mut doomed_all = connect(
        &app.url,
        "/ws/notifications/",
        Auth::Cookie {
            session: &doomed,
            origin,
        },
    )
    .await
    .unwrap();
    let mut doomed_chat = connect(
        &app.url,
        "/ws/chat/bob/",
        Auth::Cookie {
            session: &doomed,
            origin,
        },
    )
    .await
    .unwrap();
    let mut kept_ws = connect(
        &app.url,
        "/ws/notifications/",
        Auth::Cookie {
            session: &kept,
            origin,
        },
    )
    .await
    .unwrap();
    let mut bearer_ws = connect(&app.url, "/ws/chat/bob/", Auth::Bearer(token(&alice)))
        .await
        .unwrap();
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
    let again = connect(
        &app.url,
        "/ws/notifications/",
        Auth::Cookie {
            session: &doomed,
            origin,
        },
    )
    .await;
    assert_eq!(
        again.err(),
        Some(401),
        "a logged-out session cannot reopen a socket"
    );
    app.stop().await;
}

#[tokio::test]
async fn revoking_a_bearer_token_closes_its_sockets_only() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    app.signup("bob").await;
    let doomed = app.token_client("alice").await;
    let kept = app.token_client("alice").await;
    let session = session_cookie(&app.url, "alice").await;
    let mut doomed_ws = connect(&app.url, "/ws/notifications/", Auth::Query(token(&doomed)))
        .await
        .unwrap();
    let mut kept_ws = connect(&app.url, "/ws/notifications/", Auth::Bearer(token(&kept)))
        .await
        .unwrap();
    let cookie = Auth::Cookie {
        session: &session,
        origin: Some(&app.url),
    };
    let mut cookie_ws = connect(&app.url, "/ws/chat/bob/", cookie).await.unwrap();
    doomed_ws.ping().await;

    let (status, body) = doomed.post("/api/auth/logout", serde_json::json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(close_code_within_a_second(&mut doomed_ws).await, Some(4001));
    kept_ws.ping().await;
    cookie_ws.ping().await;
    app.stop().await;
}

/// Polls `done` until it holds or `within` passes; returns how long it took.
async fn eventually(within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < within,
            "condition not reached within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_peer_that_never_answers_pings_is_dropped() {
    let app = TestApp::spawn_with(|c| c.ws_ping_secs = 1).await;
    app.signup("alice").await;
    app.signup("bob").await;
    let alice = app.token_client("alice").await;
    let bob = app.token_client("bob").await;
    // Opened, then never polled: tungstenite answers pings only while the stream is read.
    let mut dead = connect(&app.url, "/ws/notifications/", Auth::Bearer(token(&alice)))
        .await
        .unwrap();
    let mut live = connect(&app.url, "/ws/notifications/", Auth::Bearer(token(&bob)))
        .await
        .unwrap();
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
    let close = dead.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    eventually(Duration::from_secs(1), || hub.subscriptions() == 1).await;
    app.stop().await;
}

#[tokio::test]
async fn stopping_the_server_closes_every_socket_with_1001() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    app.signup("bob").await;
    let alice = app.token_client("alice").await;
    let bob = app.token_client("bob").await;
    let session = session_cookie(&app.url, "bob").await;
    let cookie = Auth::Cookie {
        session: &session,
        origin: Some(&app.url),
    };
    let mut sockets = vec![
        connect(&app.url, "/ws/notifications/", Auth::Bearer(token(&alice)))
            .await
            .unwrap(),
        connect(&app.url, "/ws/chat/bob/", Auth::Query(token(&alice)))
            .await
            .unwrap(),
        connect(&app.url, "/ws/chat/alice/", cookie).await.unwrap(),
        connect(&app.url, "/ws/notifications/", Auth::Bearer(token(&bob)))
            .await
            .unwrap(),
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
        let close = socket.closed().await.expect("a close frame");
        assert_eq!(u16::from(close.code), 1001, "{close:?}");
    }
    assert!(
        reqwest::get(format!("{url}/healthz")).await.is_err(),
        "the server no longer accepts connections"
    );
}

#[tokio::test]
async fn after_a_restart_a_socket_resumes_from_its_cursor() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    app.signup("bob").await;
    let alice = app.token_client("alice").await;
    let bob = app.token_client("bob").await;
    let mut bob_ws = connect(&app.url, "/ws/notifications/", Auth::Bearer(token(&bob)))
        .await
        .unwrap();
    for i in 0..3 {
        let (status, _) = alice
            .send("bob", &format!("a{i}"), "before the restart")
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(bob_ws.next_of("message").await["cursor"], 1);
    assert_eq!(bob_ws.next_of("message").await["cursor"], 2);

    // Stop (the socket is told 1001) and start again on the same data directory.
    let (stopped, app) = app.restart().await;
    let close = bob_ws.closed().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    drop(stopped);

    // Tokens survive; the socket resumes from the last cursor it saw, then goes live.
    let mut bob_ws = connect(
        &app.url,
        "/ws/notifications/?since=2",
        Auth::Bearer(token(&bob)),
    )
    .await
    .unwrap();
    let resumed = bob_ws.next_of("message").await;
    assert_eq!(
        (
            resumed["cursor"].clone(),
            resumed["message"]["client_id"].clone()
        ),
        (3.into(), "a2".into())
    );
    let alice = app.token_client("alice").await;
    let (status, live) = alice.send("bob", "a3", "after the restart").await;
    assert_eq!(status, StatusCode::CREATED, "{live}");
    let event = bob_ws.next_of("message").await;
    assert_eq!(
        (event["cursor"].clone(), event["message"]["id"].clone()),
        (4.into(), live["id"].clone())
    );
    app.stop().await;
}

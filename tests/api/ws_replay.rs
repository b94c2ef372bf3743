//! `?since=C`: a socket first replays exactly the events after C (as `GET /api/sync` shows
//! them), then goes live with no gap and no duplicate; a cursor that is not one is a 400.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::socket::{Auth, Socket, connect, refusal, token};
use crate::support::TestApp;

/// Reads the next `count` stored events (frames with a cursor), skipping signals.
async fn stored_events(socket: &mut Socket, count: usize) -> Vec<Value> {
    let mut events = Vec::new();
    while events.len() < count {
        let frame = socket.next().await.expect("the socket stays open");
        if frame.get("cursor").is_some() {
            events.push(frame);
        } else {
            assert_eq!(frame["type"], "presence", "{frame}");
        }
    }
    events
}

/// Asserts no stored event follows (presence snapshots may), up to a pong and a quiet spell.
async fn assert_no_more_events(socket: &mut Socket) {
    for frame in socket.ping().await {
        assert_eq!(frame["type"], "presence", "unexpected frame: {frame}");
    }
    socket.assert_quiet().await;
}

#[tokio::test]
async fn since_replays_exactly_the_events_after_the_cursor_then_goes_live() {
    let app = TestApp::spawn().await;
    for name in ["alice", "bob", "carol"] {
        app.signup(name).await;
    }
    let alice = app.token_client("alice").await;
    let bob = app.token_client("bob").await;
    let carol = app.token_client("carol").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let (status, message) = alice
            .send("bob", &format!("a{i}"), &format!("message {i}"))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(message["id"].clone());
    }
    let (status, _) = carol.send("bob", "c0", "from carol").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = bob
        .post(
            "/api/messages/status",
            json!({"message_ids": [ids[0], ids[1]], "status": "read"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // bob's stream: 1-4 alice's messages, 5 carol's, 6 the read status.
    let history = bob.all_events(0).await;
    assert_eq!(history.len(), 6);

    for since in [0, 3, 5, 6] {
        let path = format!("/ws/notifications/?since={since}");
        let mut socket = connect(&app.url, &path, Auth::Bearer(token(&bob)))
            .await
            .unwrap();
        let replayed = stored_events(&mut socket, 6 - since).await;
        assert_eq!(replayed, history[since..], "since={since}");
        assert_no_more_events(&mut socket).await;
    }

    // A chat socket replays its own conversation only.
    let mut chat = connect(
        &app.url,
        "/ws/chat/carol/?since=0",
        Auth::Bearer(token(&bob)),
    )
    .await
    .unwrap();
    let replayed = stored_events(&mut chat, 1).await;
    assert_eq!(replayed[0], history[4]);
    assert_no_more_events(&mut chat).await;

    // Replay, then live: the seam has no gap and no duplicate.
    let mut socket = connect(
        &app.url,
        "/ws/notifications/?since=2",
        Auth::Bearer(token(&bob)),
    )
    .await
    .unwrap();
    let (status, live) = alice.send("bob", "a-live", "live one").await;
    assert_eq!(status, StatusCode::CREATED);
    let events = stored_events(&mut socket, 5).await;
    let cursors: Vec<&Value> = events.iter().map(|e| &e["cursor"]).collect();
    assert_eq!(cursors, [3, 4, 5, 6, 7]);
    assert_eq!(events[4]["message"], live);
    assert_no_more_events(&mut socket).await;
    let mut chat = connect(
        &app.url,
        "/ws/chat/alice/?since=7",
        Auth::Bearer(token(&bob)),
    )
    .await
    .unwrap();
    let (_, live) = alice.send("bob", "a-live2", "another").await;
    let (_, _) = carol.send("bob", "c-live", "not for this chat").await;
    let (_, third) = alice.send("bob", "a-live3", "and another").await;
    let events = stored_events(&mut chat, 2).await;
    assert_eq!(
        (&events[0]["message"], &events[0]["cursor"]),
        (&live, &json!(8))
    );
    assert_eq!(
        (&events[1]["message"], &events[1]["cursor"]),
        (&third, &json!(10))
    );
    assert_no_more_events(&mut chat).await;
    app.stop().await;
}

#[tokio::test]
async fn a_since_that_is_not_a_cursor_of_yours_is_400() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    app.signup("bob").await;
    let alice = app.token_client("alice").await;
    let bob = app.token_client("bob").await;
    for i in 0..3 {
        let (status, _) = alice.send("bob", &format!("a{i}"), "hi").await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let bearer = format!("Bearer {}", token(&bob));
    let headers = [("authorization", bearer.as_str())];
    for since in [
        "4",
        "99999999999",
        "abc",
        "-1",
        "1.5",
        "",
        "temp_client_1770216496118_y8zwwov1h",
        "9223372036854775808",
    ] {
        for route in ["/ws/notifications/", "/ws/chat/alice/"] {
            let path = format!("{route}?since={since}");
            let refused = connect(&app.url, &path, Auth::Bearer(token(&bob))).await;
            assert_eq!(refused.err(), Some(400), "{path}");
            let (status, body) = refusal(&app.url, &path, &headers).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert_eq!(body["error"]["code"], "invalid_cursor", "{path}: {body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("since")),
                "{body}"
            );
        }
    }
    // Cursors are per user: alice has three events too, but carol, who has none, only has 0.
    app.signup("carol").await;
    let carol = app.token_client("carol").await;
    assert_eq!(
        connect(
            &app.url,
            "/ws/notifications/?since=1",
            Auth::Bearer(token(&carol))
        )
        .await
        .err(),
        Some(400)
    );
    let mut socket = connect(
        &app.url,
        "/ws/notifications/?since=0",
        Auth::Bearer(token(&carol)),
    )
    .await
    .unwrap();
    assert_no_more_events(&mut socket).await;
    let mut socket = connect(
        &app.url,
        "/ws/notifications/?since=3",
        Auth::Bearer(token(&bob)),
    )
    .await
    .unwrap();
    assert_no_more_events(&mut socket).await;
    app.stop().await;
}

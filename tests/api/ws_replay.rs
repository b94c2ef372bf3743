//! `?since=C`: a socket first replays exactly the events after C (as `GET /api/sync` shows
//! them), then goes live with no gap and no duplicate; a cursor that is not one is a 400.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::socket::{Auth, bearer_refusal, connect, token};
use crate::support::{TestApp, assert_ok, id};

#[tokio::test]
async fn since_replays_exactly_the_events_after_the_cursor_then_goes_live() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let message = alice
            .send_created("bob", &format!("a{i}"), &format!("message {i}"))
            .await;
        ids.push(id(&message));
    }
    carol.send_created("bob", "c0", "from carol").await;
    assert_ok(&bob.mark(&ids[..2], "read").await);
    // bob's stream: 1-4 alice's messages, 5 carol's, 6 the read status.
    let history = bob.all_events(0).await;
    assert_eq!(history.len(), 6);

    for since in [0, 3, 5, 6] {
        let path = format!("/ws/notifications/?since={since}");
        let mut socket = app.socket(&bob, &path).await;
        let replayed = socket.stored_events(6 - since).await;
        assert_eq!(replayed, history[since..], "since={since}");
        socket.assert_no_more_events().await;
    }

    // A chat socket replays its own conversation only.
    let mut chat = app.socket(&bob, "/ws/chat/carol/?since=0").await;
    let replayed = chat.stored_events(1).await;
    assert_eq!(replayed[0], history[4]);
    chat.assert_no_more_events().await;

    // Replay, then live: the seam has no gap and no duplicate.
    let mut socket = app.socket(&bob, "/ws/notifications/?since=2").await;
    let live = alice.send_created("bob", "a-live", "live one").await;
    let events = socket.stored_events(5).await;
    let cursors: Vec<&Value> = events.iter().map(|e| &e["cursor"]).collect();
    assert_eq!(cursors, [3, 4, 5, 6, 7]);
    assert_eq!(events[4]["message"], live);
    socket.assert_no_more_events().await;
    let mut chat = app.socket(&bob, "/ws/chat/alice/?since=7").await;
    let (_, live) = alice.send("bob", "a-live2", "another").await;
    let (_, _) = carol.send("bob", "c-live", "not for this chat").await;
    let (_, third) = alice.send("bob", "a-live3", "and another").await;
    let events = chat.stored_events(2).await;
    assert_eq!(
        (&events[0]["message"], &events[0]["cursor"]),
        (&live, &json!(8))
    );
    assert_eq!(
        (&events[1]["message"], &events[1]["cursor"]),
        (&third, &json!(10))
    );
    chat.assert_no_more_events().await;
    app.stop().await;
}

#[tokio::test]
async fn a_since_that_is_not_a_cursor_of_yours_is_400() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    for i in 0..3 {
        alice.send_created("bob", &format!("a{i}"), "hi").await;
    }
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
            let (status, body) = bearer_refusal(&app.url, &path, &bob).await;
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
    let [carol] = app.token_users(["carol"]).await;
    let refused = connect(
        &app.url,
        "/ws/notifications/?since=1",
        Auth::Bearer(token(&carol)),
    )
    .await;
    assert_eq!(refused.err(), Some(400));
    let mut socket = app.socket(&carol, "/ws/notifications/?since=0").await;
    socket.assert_no_more_events().await;
    let mut socket = app.socket(&bob, "/ws/notifications/?since=3").await;
    socket.assert_no_more_events().await;
    app.stop().await;
}

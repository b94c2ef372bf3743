//! What blocks and message requests hold back of the ephemeral signals (PROTOCOL.md,
//! WebSocket): typing only within a conversation both share and neither blocks, presence only
//! across a direct conversation that is not a pending request towards its sender nor blocked;
//! the rest dropped without an error frame.

use serde_json::{Value, json};

use crate::socket::Socket;
use crate::support::TestApp;

/// Asserts the socket got no error frame (only presence, if anything) up to a pong.
async fn no_error(socket: &mut Socket) {
    for frame in socket.ping().await {
        assert_eq!(frame["type"], "presence", "unexpected frame: {frame}");
    }
}

/// The users a socket's opening presence snapshot names.
async fn snapshot(socket: &mut Socket) -> Vec<Value> {
    socket
        .ping()
        .await
        .into_iter()
        .filter(|f| f["type"] == "presence")
        .map(|f| f["user"].clone())
        .collect()
}

#[tokio::test]
async fn typing_to_a_stranger_is_dropped_without_an_error() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let mut alice_ws = app.notifications(&alice).await;
    let mut bob_ws = app.notifications(&bob).await;
    alice_ws.send_typing(Some("bob"), true).await;
    no_error(&mut alice_ws).await;
    bob_ws.assert_quiet().await;
    app.stop().await;
}

#[tokio::test]
async fn a_block_stops_typing_and_presence_everywhere() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    alice.send_ok("bob", "a1").await;
    let group = carol.create_group_ok("Crew", &["alice", "bob"]).await;
    bob.request(reqwest::Method::PUT, "/api/blocks/alice", None)
        .await;

    let mut alice_ws = app.notifications(&alice).await;
    assert!(
        snapshot(&mut alice_ws).await.is_empty(),
        "no presence of bob"
    );
    let mut bob_ws = app.notifications(&bob).await;
    assert!(
        snapshot(&mut bob_ws).await.is_empty(),
        "no presence of alice"
    );
    let mut carol_ws = app.notifications(&carol).await;
    alice_ws.assert_quiet().await;

    alice_ws.send_typing(Some("bob"), true).await;
    alice_ws
        .send_json(json!({"type": "typing", "conversation_id": group, "active": true}))
        .await;
    no_error(&mut alice_ws).await;
    let typing = carol_ws.next_of("typing").await;
    assert_eq!(
        typing,
        json!({"type": "typing", "conversation_id": group, "from": "alice", "active": true})
    );
    bob_ws.assert_quiet().await;
    app.stop().await;
}

#[tokio::test]
async fn a_pending_request_hides_the_recipient_from_the_sender() {
    let app = TestApp::spawn_with(|config| config.message_requests = true).await;
    let [alice, bob] = app.token_users(["alice", "bob"]).await;
    alice.send_ok("bob", "a1").await;
    let mut bob_ws = app.notifications(&bob).await;
    assert_eq!(
        snapshot(&mut bob_ws).await,
        [json!("alice")],
        "the sender's presence reaches"
    );
    let mut alice_ws = app.notifications(&alice).await;
    assert!(
        snapshot(&mut alice_ws).await.is_empty(),
        "the recipient's does not"
    );
    // Alice coming online reaches bob; bob's typing does not reach alice, hers reaches him.
    assert_eq!(bob_ws.next_of("presence").await["user"], "alice");
    bob_ws.send_typing(Some("alice"), true).await;
    no_error(&mut bob_ws).await;
    alice_ws.assert_quiet().await;
    alice_ws.send_typing(Some("bob"), true).await;
    assert_eq!(bob_ws.next_of("typing").await["from"], "alice");

    // Accepted, it flows both ways.
    bob.post("/api/conversations/alice/accept", json!({})).await;
    bob_ws.send_typing(Some("alice"), true).await;
    assert_eq!(alice_ws.next_of("typing").await["from"], "bob");
    app.stop().await;
}

#[tokio::test]
async fn a_refused_socket_send_is_an_error_frame_with_its_client_id() {
    let app = TestApp::spawn_with(|config| config.message_requests = true).await;
    let [alice, bob, carol] = app.token_users(["alice", "bob", "carol"]).await;
    bob.request(reqwest::Method::PUT, "/api/blocks/alice", None)
        .await;
    let mut alice_ws = app.notifications(&alice).await;
    alice_ws.send_message("a1", "hello", Some("bob")).await;
    let refused = alice_ws.next_of("error").await;
    assert_eq!(
        (refused["code"].as_str(), refused["client_id"].as_str()),
        (Some("cannot_message_user"), Some("a1")),
        "{refused}"
    );
    for n in 1..=3 {
        alice_ws
            .send_message(&format!("c{n}"), "hi", Some("carol"))
            .await;
        assert_eq!(alice_ws.next_of("ack").await["client_id"], format!("c{n}"));
    }
    alice_ws.send_message("c4", "hi", Some("carol")).await;
    let pending = alice_ws.next_of("error").await;
    assert_eq!(pending["code"], "request_pending", "{pending}");
    assert!(carol.messages("alice").await.len() == 3);
    app.stop().await;
}

//! WebSocket delivery: live push, acks, idempotent retries, replay seams.

use serde_json::json;

use crate::socket::{Auth, open, token};
use crate::support::TestApp;

#[tokio::test]
async fn a_message_sent_over_a_socket_is_acked_then_pushed_to_the_recipient() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let mut bob_ws = app.notifications(&bob).await;
    let mut alice_ws = open(&app.url, "/ws/chat/bob/", Auth::Query(token(&alice))).await;

    alice_ws.send_message("c1", "hello bob", None).await;
    let ack = alice_ws.next_of("ack").await;
    assert_eq!(ack["client_id"], "c1");
    assert_eq!(ack["message"]["body"], "hello bob");
    let own = alice_ws.next_of("message").await;
    assert_eq!(own["message"]["id"], ack["message"]["id"]);

    let pushed = bob_ws.next_of("message").await;
    assert_eq!(pushed["message"]["id"], ack["message"]["id"]);
    assert_eq!(pushed["cursor"], 1);

    // A retry acks the same message and pushes nothing new.
    alice_ws.send_message("c1", "hello bob", None).await;
    let again = alice_ws.next_of("ack").await;
    assert_eq!(again["message"]["id"], ack["message"]["id"]);
    bob_ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(
        bob_ws.next().await.unwrap()["type"],
        "pong",
        "no second message before the pong"
    );
    app.stop().await;
}

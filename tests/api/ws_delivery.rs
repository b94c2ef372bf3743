//! WebSocket delivery: live push, acks, idempotent retries, replay seams.

use serde_json::json;

use crate::socket::{Auth, open, send_frame, token};
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

#[tokio::test]
async fn pipelined_sends_are_stored_and_acked_in_the_order_sent() {
    let (app, [alice, bob, _carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    let mut alice_ws = app.notifications(&alice).await;
    let mut bob_ws = app.notifications(&bob).await;

    // One write carrying 30 sends, a retry of the sixth, a send to nobody and a send to carol.
    let mut frames: Vec<_> = (0..30)
        .map(|i| send_frame(&format!("p{i}"), &format!("pipelined {i}"), Some("bob")))
        .collect();
    frames.insert(20, send_frame("p5", "pipelined 5", Some("bob")));
    frames.insert(25, send_frame("ghost", "to nobody", Some("nobody")));
    frames.push(send_frame("c0", "to carol", Some("carol")));
    alice_ws.send_pipelined(&frames).await;

    let mut answers = Vec::new();
    while answers.len() < frames.len() {
        let frame = alice_ws.next().await.expect("socket open");
        if frame["type"] == "ack" || frame["type"] == "error" {
            answers.push(frame);
        }
    }
    let answered: Vec<&str> = answers
        .iter()
        .map(|a| a["client_id"].as_str().unwrap_or("?"))
        .collect();
    let asked: Vec<&str> = frames
        .iter()
        .map(|f| f["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(answered, asked, "one answer per frame, in the order sent");
    assert_eq!(answers[25]["type"], "error");
    assert_eq!(answers[25]["code"], "user_not_found");
    assert_eq!(
        answers[20]["message"]["id"], answers[5]["message"]["id"],
        "the retry in the same batch acks the stored message"
    );

    // The 30 distinct messages to bob have seq 1..=30 in the order sent, and reach him so.
    let to_bob: Vec<&serde_json::Value> = answers
        .iter()
        .enumerate()
        .filter(|(i, a)| *i != 20 && a["type"] == "ack" && a["message"]["recipient"] == "bob")
        .map(|(_, a)| a)
        .collect();
    let seqs: Vec<i64> = to_bob
        .iter()
        .map(|a| a["message"]["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=30).collect::<Vec<i64>>());
    let pushed = bob_ws.stored_events(30).await;
    let bodies: Vec<&str> = pushed
        .iter()
        .map(|e| e["message"]["body"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..30).map(|i| format!("pipelined {i}")).collect();
    assert_eq!(bodies, expected);
    bob_ws.assert_no_more_events().await;
    app.stop().await;
}

#[tokio::test]
async fn sends_written_just_before_a_close_are_stored() {
    use tokio_tungstenite::tungstenite::Message;
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let mut alice_ws = app.notifications(&alice).await;
    let text = |id: &str| Message::Text(send_frame(id, id, Some("bob")).to_string().into());
    // Read in one turn with the close, so the server can no longer answer them (a peer that
    // closed gets no more data frames): they must be stored all the same.
    alice_ws
        .send_frames(vec![text("last-1"), text("last-2"), Message::Close(None)])
        .await;
    let _ = alice_ws.drain().await;

    // The server answers the close at once; the commit may come a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let bodies = loop {
        let (_, history) = bob.get("/api/conversations/alice/messages").await;
        let bodies: Vec<String> = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect();
        if bodies.len() >= 2 || std::time::Instant::now() > deadline {
            break bodies;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(bodies, ["last-1", "last-2"]);
    app.stop().await;
}

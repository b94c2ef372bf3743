//! Client frames the server must survive: each bad frame gets an `error` frame with a stable
//! code (echoing `client_id` when it had one), stores nothing, and leaves the socket open. A
//! frame over 64 KiB closes with 1009; a client flooding frames is closed with 1008.

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

use crate::socket::{Socket, receipt_frame, send_frame, typing_frame};
use crate::support::TestApp;

/// Sends `frame` raw, expects the error `code` (with `client_id` echoed or absent), then checks
/// the socket still answers a ping with a pong and nothing else.
async fn expect_error(socket: &mut Socket, frame: Message, code: &str, client_id: Option<&str>) {
    let shown = format!("{frame:?}");
    socket.send_raw(frame).await.expect("frame sent");
    let error = socket
        .next()
        .await
        .unwrap_or_else(|| panic!("{shown}: the socket closed"));
    assert_eq!(error["type"], "error", "{shown}: {error}");
    assert_eq!(error["code"], code, "{shown}: {error}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{shown}: {error}"
    );
    assert_eq!(
        error.get("client_id").and_then(Value::as_str),
        client_id,
        "{shown}: {error}"
    );
    let before = socket.ping().await;
    assert!(before.is_empty(), "{shown}: unexpected frames {before:?}");
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

/// A `send` frame to `to`, as a text message.
fn send_to(client_id: &str, body: &str, to: &str) -> Message {
    text(send_frame(client_id, body, Some(to)))
}

/// A `receipt` frame, as a text message.
fn receipt(status: &str, message_ids: Value) -> Message {
    text(receipt_frame(status, message_ids))
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_socket_stays_open() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let mut all = app.notifications(&alice).await;
    let long = "x".repeat(4097);
    let cases: Vec<(Message, &str, Option<&str>)> = vec![
        (Message::Text("not json".into()), "invalid_json", None),
        (
            Message::Text("{\"type\":\"send\",".into()),
            "invalid_json",
            None,
        ),
        (text(json!({"type": "shout"})), "unknown_type", None),
        (text(json!({"no_type": 1})), "invalid_frame", None),
        (text(json!([1, 2])), "invalid_frame", None),
        (
            text(json!({"type": "send", "body": "hi", "to": "bob"})),
            "invalid_frame",
            None,
        ),
        (
            send_to("temp client 1!", "hi", "bob"),
            "invalid_client_id",
            Some("temp client 1!"),
        ),
        (send_to("", "hi", "bob"), "invalid_client_id", Some("")),
        (send_to("c1", "hi", "nobody"), "user_not_found", Some("c1")),
        (
            text(send_frame("c2", "hi", None)),
            "invalid_frame",
            Some("c2"),
        ),
        (
            send_to("c3", "hi", "alice"),
            "cannot_message_self",
            Some("c3"),
        ),
        (send_to("c4", "   ", "bob"), "invalid_body", Some("c4")),
        (
            send_to("c4n", "nul \u{0} inside", "bob"),
            "invalid_body",
            Some("c4n"),
        ),
        (send_to("c5", &long, "bob"), "body_too_long", Some("c5")),
        (
            text(
                json!({"type": "send", "client_id": "c6", "body": "hi", "to": "bob", "admin": true}),
            ),
            "invalid_frame",
            Some("c6"),
        ),
        (receipt("sent", json!([1])), "invalid_status", None),
        (receipt("read", json!([])), "invalid_message_ids", None),
        (receipt("read", json!([0])), "invalid_message_id", None),
        (receipt("read", json!(["x"])), "invalid_frame", None),
        (
            text(typing_frame(Some("nobody"), true)),
            "user_not_found",
            None,
        ),
        (
            text(json!({"type": "typing", "to": "bob", "active": "yes"})),
            "invalid_frame",
            None,
        ),
        (
            Message::Binary(vec![0xde, 0xad, 0xbe, 0xef].into()),
            "invalid_frame",
            None,
        ),
    ];
    for (frame, code, client_id) in cases {
        expect_error(&mut all, frame, code, client_id).await;
    }

    // A chat socket refuses to send elsewhere.
    let mut chat = app.socket(&alice, "/ws/chat/bob/").await;
    let elsewhere = send_to("c7", "hi", "carol");
    expect_error(&mut chat, elsewhere, "invalid_recipient", Some("c7")).await;

    // Nothing was stored for anyone, and a good frame still works afterwards.
    assert!(alice.all_events(0).await.is_empty());
    assert!(bob.all_events(0).await.is_empty());
    all.send_message("ok1", "finally", Some("bob")).await;
    assert_eq!(all.next_of("ack").await["message"]["seq"], 1);
    assert_eq!(all.next_of("message").await["cursor"], 1);
    // Reusing that client_id for another body is a conflict, and stores nothing either.
    let conflict = send_to("ok1", "something else", "bob");
    expect_error(&mut all, conflict, "client_id_conflict", Some("ok1")).await;
    assert_eq!(bob.all_events(0).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn typing_is_rate_limited_before_its_addressee_is_looked_at() {
    // Every typing frame counts against the typing limit (a burst of 10, then 5 a second),
    // whatever it names: frames to a name no one can have get `user_not_found` until the
    // bucket is empty, then `rate_limited`. Were the name looked at first, they never would.
    let (app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let mut socket = app.notifications(&alice).await;
    let mut answers = Vec::new();
    for _ in 0..200 {
        socket
            .send_raw(text(typing_frame(Some("no such name!"), true)))
            .await
            .expect("frame sent");
        let code = socket.next_of("error").await["code"].clone();
        answers.push(code.clone());
        if code == "rate_limited" {
            break;
        }
        assert_eq!(code, "user_not_found", "{answers:?}");
    }
    assert_eq!(answers.last(), Some(&json!("rate_limited")), "{answers:?}");
    assert!(
        answers.len() > 10,
        "the burst of 10 came first: {answers:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn invalid_message_id_code_is_checked_against_http() {
    // The receipt frame and POST /api/messages/status share one vocabulary.
    let (app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let (status, body) = alice.mark(&[0], "read").await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{body}");
    let mut socket = app.notifications(&alice).await;
    socket.send_receipt("read", json!([0])).await;
    let error = socket.next_of("error").await;
    assert_eq!(error["code"], body["error"]["code"], "{error} vs {body}");
    app.stop().await;
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_the_socket_with_1009() {
    let (app, [alice, _bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let mut socket = app.socket(&alice, "/ws/chat/bob/").await;
    // Just under the limit is a frame like any other (here: a body that is too long).
    let body = "y".repeat(60 * 1024);
    socket.send_message("big", &body, None).await;
    assert_eq!(socket.next_of("error").await["code"], "body_too_long");

    let body = "z".repeat(65 * 1024);
    let frame = send_frame("huge", &body, None);
    socket.send_raw(text(frame)).await.expect("frame sent");
    socket.assert_closed_with(1009).await;
    assert!(alice.all_events(0).await.is_empty());
    app.stop().await;
}

/// A masked client frame (zero mask key) with `first` as its first byte (FIN, opcode).
fn raw_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first, 0x80 | 126];
    frame.extend_from_slice(
        &u16::try_from(payload.len())
            .expect("under 64 KiB")
            .to_be_bytes(),
    );
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test]
async fn a_message_over_64_kib_in_small_fragments_closes_the_socket_with_1009() {
    let (app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let mut socket = app.notifications(&alice).await;
    // Three 30 KB fragments of one text message: each frame is small, the message is not.
    let chunk = vec![b' '; 30 * 1024];
    let mut bytes = raw_frame(0x01, &chunk);
    bytes.extend(raw_frame(0x00, &chunk));
    bytes.extend(raw_frame(0x80, &chunk));
    socket
        .stream
        .get_mut()
        .write_all(&bytes)
        .await
        .expect("fragments written");
    socket.assert_closed_with(1009).await;
    app.stop().await;
}

#[tokio::test]
async fn a_binary_frame_over_64_kib_closes_the_socket_with_1009() {
    let (app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let mut socket = app.notifications(&alice).await;
    socket
        .send_raw(Message::Binary(vec![7u8; 64 * 1024 + 1].into()))
        .await
        .expect("frame sent");
    socket.assert_closed_with(1009).await;
    app.stop().await;
}

#[tokio::test]
async fn a_client_flooding_frames_is_rate_limited_then_closed_with_1008() {
    let app = TestApp::spawn_with(|c| c.frame_rate = 1).await;
    let [alice] = app.token_users(["alice"]).await;
    let mut socket = app.notifications(&alice).await;
    for _ in 0..40 {
        socket.send_json(json!({"type": "ping"})).await;
    }
    let (frames, close) = socket.drain().await;
    let (mut pongs, mut limited) = (0, 0);
    for frame in frames {
        if frame["type"] == "pong" {
            pongs += 1;
        } else {
            assert_eq!(frame["code"], "rate_limited", "{frame}");
            limited += 1;
        }
    }
    assert!(
        (1..=5).contains(&pongs),
        "the burst is answered: {pongs} pongs"
    );
    assert!(
        limited >= 1,
        "rate-limited frames get errors first: {limited}"
    );
    assert_eq!(close, Some(1008));
    app.stop().await;
}

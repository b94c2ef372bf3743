//! Groups over WebSocket: `/ws/groups/{id}/` refuses strangers (404) and past members (403)
//! before the upgrade; a send on it (or with `conversation_id` on the notifications socket)
//! reaches every member's sockets once; naming another conversation on it, or `to` with
//! `conversation_id`, is refused; typing reaches the group's other members only; and a member
//! who is removed gets the `member_removed` message on the group socket, then a 4003 close,
//! and nothing more of the group on any socket.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::socket::{Socket, bearer_refusal};
use crate::support::{Client, TestApp};

/// A group created by `owner` with `members`; returns its id.
async fn group(owner: &Client, title: &str, members: &[&str]) -> i64 {
    let (status, body) = owner
        .post(
            "/api/groups",
            json!({"client_id": format!("g-{title}"), "title": title, "members": members}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("id")
}

fn path(id: i64) -> String {
    format!("/ws/groups/{id}/")
}

/// The next `message` event's message, skipping presence and other frames.
async fn next_message(socket: &mut Socket) -> Value {
    socket.next_of("message").await["message"].clone()
}

#[tokio::test]
async fn the_group_socket_refuses_strangers_and_past_members_before_the_upgrade() {
    let app = TestApp::spawn().await;
    let [alice, bob, eve] = app.token_users(["alice", "bob", "eve"]).await;
    let id = group(&alice, "Team", &["bob"]).await;
    let (status, body) = bearer_refusal(&app.url, &path(id), &eve).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "conversation_not_found");
    for bad in ["0", "abc", "99999"] {
        let (status, body) = bearer_refusal(&app.url, &format!("/ws/groups/{bad}/"), &bob).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}: {body}");
    }
    let (status, _) = bob
        .post(&format!("/api/groups/{id}/leave"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = bearer_refusal(&app.url, &path(id), &bob).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "not_a_member");
    app.stop().await;
}

#[tokio::test]
async fn a_send_on_the_group_socket_reaches_every_member_once() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol, dan] = app.token_users(["alice", "bob", "carol", "dan"]).await;
    let id = group(&alice, "Team", &["bob", "carol"]).await;
    let mut alices = app.socket(&alice, &path(id)).await;
    let mut bobs = app.socket(&bob, &path(id)).await;
    let mut carols = app.notifications(&carol).await;
    let mut dans = app.notifications(&dan).await;

    alices
        .send_json(json!({"type": "send", "client_id": "s1", "body": "hello all"}))
        .await;
    let ack = alices.next_of("ack").await;
    assert_eq!(ack["message"]["conversation_id"], id);
    assert_eq!(ack["message"]["recipient"], Value::Null);
    assert_eq!(ack["message"]["delivered_count"], 0);
    for socket in [&mut bobs, &mut carols] {
        let message = next_message(socket).await;
        assert_eq!(
            (message["body"].as_str(), message["sender"].as_str()),
            (Some("hello all"), Some("alice"))
        );
        assert!(
            message.get("delivered_count").is_none(),
            "only the sender sees counts"
        );
    }
    // The same with conversation_id on a notifications socket.
    carols
        .send_json(json!({"type": "send", "client_id": "c1", "body": "hi", "conversation_id": id}))
        .await;
    assert_eq!(carols.next_of("ack").await["message"]["sender"], "carol");
    assert_eq!(next_message(&mut bobs).await["body"], "hi");
    dans.assert_no_more_events().await;
    app.stop().await;
}

#[tokio::test]
async fn frames_naming_another_conversation_are_refused() {
    let app = TestApp::spawn().await;
    let [alice, bob, _carol] = app.token_users(["alice", "bob", "carol"]).await;
    let id = group(&alice, "Team", &["bob"]).await;
    let other = group(&alice, "Other", &["carol"]).await;
    let mut socket = app.socket(&alice, &path(id)).await;
    let frames = [
        (
            json!({"type": "send", "client_id": "x1", "body": "b", "conversation_id": other}),
            "invalid_recipient",
        ),
        (
            json!({"type": "send", "client_id": "x2", "body": "b", "to": "bob"}),
            "invalid_recipient",
        ),
        (
            json!({"type": "send", "client_id": "x3", "body": "b", "to": "bob", "conversation_id": id}),
            "invalid_frame",
        ),
        (
            json!({"type": "send", "client_id": "x4", "body": "b", "conversation_id": -1}),
            "invalid_frame",
        ),
    ];
    for (frame, code) in frames {
        socket.send_json(frame.clone()).await;
        let error = socket.next_of("error").await;
        assert_eq!(error["code"], code, "{frame}");
    }
    let mut notifications = app.notifications(&bob).await;
    notifications
        .send_json(
            json!({"type": "send", "client_id": "y1", "body": "b", "conversation_id": other}),
        )
        .await;
    assert_eq!(
        notifications.next_of("error").await["code"],
        "conversation_not_found"
    );
    app.stop().await;
}

#[tokio::test]
async fn typing_in_a_group_reaches_its_other_members_only() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.token_users(["alice", "bob", "carol"]).await;
    let id = group(&alice, "Team", &["bob"]).await;
    let mut bobs = app.socket(&bob, &path(id)).await;
    let mut carols = app.notifications(&carol).await;
    let mut alices = app.socket(&alice, &path(id)).await;
    alices
        .send_json(json!({"type": "typing", "active": true}))
        .await;
    let typing = bobs.next_of("typing").await;
    assert_eq!(
        (
            typing["from"].as_str(),
            typing["conversation_id"].as_i64(),
            typing["active"].as_bool()
        ),
        (Some("alice"), Some(id), Some(true))
    );
    carols.assert_quiet().await;
    // A stranger typing into the group is refused and reaches nobody.
    carols
        .send_json(json!({"type": "typing", "conversation_id": id, "active": true}))
        .await;
    assert_eq!(
        carols.next_of("error").await["code"],
        "conversation_not_found"
    );
    bobs.assert_quiet().await;
    app.stop().await;
}

#[tokio::test]
async fn a_removed_member_gets_the_removal_then_nothing_more() {
    let app = TestApp::spawn().await;
    let [alice, bob, _carol] = app.token_users(["alice", "bob", "carol"]).await;
    let id = group(&alice, "Team", &["bob", "carol"]).await;
    let mut group_socket = app.socket(&bob, &path(id)).await;
    let mut notifications = app.notifications(&bob).await;
    let (status, body) = alice
        .request(
            reqwest::Method::DELETE,
            &format!("/api/groups/{id}/members/bob"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (frames, close) = group_socket.drain().await;
    let last = frames
        .iter()
        .rev()
        .find(|f| f["type"] == "message")
        .expect("the removal");
    assert_eq!(last["message"]["system"]["event"], "member_removed");
    assert_eq!(last["message"]["system"]["targets"], json!(["bob"]));
    assert_eq!(close, Some(4003));
    assert_eq!(
        next_message(&mut notifications).await["system"]["event"],
        "member_removed"
    );
    let (status, _) = alice
        .post(
            &format!("/api/groups/{id}/messages"),
            json!({"client_id": "after", "body": "bob is gone"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    notifications.assert_no_more_events().await;
    app.stop().await;
}

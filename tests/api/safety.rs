//! Blocks and message requests over HTTP (PROTOCOL.md, Safety and privacy): the routes, what a
//! block refuses, the request state machine with `--message-requests on`, what the sender does
//! and does not see, and group requests. The store rules behind them are pinned, per backend,
//! in `tests/store/safety.rs`; typing and presence in `safety_signals`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Client, TestApp, assert_error, assert_fields, assert_no_content, assert_ok, id,
};

/// A server with message requests on and `names` signed up.
async fn with_requests<const N: usize>(names: [&str; N]) -> (TestApp, [Client; N]) {
    let app = TestApp::spawn_with(|config| config.message_requests = true).await;
    let clients = app.signups(names).await;
    (app, clients)
}

async fn put(client: &Client, path: &str) -> (StatusCode, Value) {
    client.request(Method::PUT, path, None).await
}

/// The caller's list item with `name` (a username or a group title), if listed.
async fn item(client: &Client, name: &str) -> Option<Value> {
    client
        .conversations()
        .await
        .into_iter()
        .find(|c| c["with"]["username"] == name || c["title"] == name)
}

#[tokio::test]
async fn blocks_are_set_listed_and_lifted() {
    let (app, [alice, bob, _carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    assert_no_content(&put(&alice, "/api/blocks/bob").await);
    assert_no_content(&put(&alice, "/api/blocks/BOB").await);
    assert_no_content(&put(&alice, "/api/blocks/carol").await);
    assert_eq!(
        alice.get_ok("/api/blocks").await,
        json!({"blocked": [
            {"username": "bob", "display_name": "bob"},
            {"username": "carol", "display_name": "carol"},
        ]})
    );
    assert_eq!(bob.get_ok("/api/blocks").await, json!({"blocked": []}));
    assert_no_content(&alice.delete("/api/blocks/carol").await);
    assert_no_content(&alice.delete("/api/blocks/carol").await);
    let blocked = alice.get_ok("/api/blocks").await;
    assert_eq!(blocked["blocked"].as_array().map(Vec::len), Some(1));

    assert_error(
        &put(&alice, "/api/blocks/nobody").await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    assert_error(
        &put(&alice, "/api/blocks/alice").await,
        StatusCode::BAD_REQUEST,
        "cannot_message_self",
    );
    app.stop().await;
}

#[tokio::test]
async fn a_block_refuses_sends_either_way_and_group_adds() {
    let (app, [alice, bob, carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    alice.send_ok("bob", "a1").await;
    assert_no_content(&put(&bob, "/api/blocks/alice").await);
    let refused = alice.send("bob", "a2", "hello?").await;
    assert_error(&refused, StatusCode::FORBIDDEN, "cannot_message_user");
    assert_error(
        &bob.send("alice", "b1", "x").await,
        StatusCode::FORBIDDEN,
        "cannot_message_user",
    );
    assert_eq!(alice.messages("bob").await.len(), 1, "nothing was stored");

    assert_error(
        &alice.create_group("g1", "Team", &["bob", "carol"]).await,
        StatusCode::FORBIDDEN,
        "cannot_add_user",
    );
    assert!(
        carol.conversations().await.is_empty(),
        "no group was created"
    );
    let group = carol.create_group_ok("Crew", &["alice"]).await;
    assert_error(
        &alice.group_add(group, &["bob"]).await,
        StatusCode::FORBIDDEN,
        "cannot_add_user",
    );
    // Someone else may add bob; shared groups keep working.
    assert_ok(&carol.group_add(group, &["bob"]).await);
    let message = alice.group_send_ok(group, "ga").await;
    assert_ok(&bob.mark(&[message], "read").await);

    assert_no_content(&bob.delete("/api/blocks/alice").await);
    alice.send_ok("bob", "a2").await;
    app.stop().await;
}

#[tokio::test]
async fn with_requests_off_a_first_contact_is_no_request() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    for n in 0..5 {
        alice.send_ok("bob", &format!("a{n}")).await;
    }
    let listed = item(&bob, "alice").await.expect("listed");
    assert_eq!(listed["request"], false);
    app.stop().await;
}

#[tokio::test]
async fn a_first_contact_is_a_request_of_three_messages() {
    let (app, [alice, bob]) = with_requests(["alice", "bob"]).await;
    let first = alice.send_created("bob", "a1", "Hi, I'm a recruiter").await;
    alice.send_ok("bob", "a2").await;
    alice.send_ok("bob", "a3").await;
    assert_error(
        &alice.send("bob", "a4", "x").await,
        StatusCode::FORBIDDEN,
        "request_pending",
    );
    // A retry of a stored one is answered, not counted.
    let (status, retried) = alice.send("bob", "a1", "Hi, I'm a recruiter").await;
    assert_eq!((status, id(&retried)), (StatusCode::OK, id(&first)));

    assert_fields(
        &item(&bob, "alice").await.expect("listed"),
        json!({"request": true, "unread": 3}),
    );
    assert_fields(
        &item(&alice, "bob").await.expect("listed"),
        json!({"request": false}),
    );

    // The recipient's reply ends it for good.
    bob.send_ok("alice", "b1").await;
    assert_fields(
        &item(&bob, "alice").await.expect("listed"),
        json!({"request": false}),
    );
    alice.send_ok("bob", "a4").await;
    alice.send_ok("bob", "a5").await;
    app.stop().await;
}

#[tokio::test]
async fn read_receipts_reach_the_sender_only_once_accepted() {
    let (app, [alice, bob]) = with_requests(["alice", "bob"]).await;
    let first = alice.send_ok("bob", "a1").await;
    let second = alice.send_ok("bob", "a2").await;
    let cursor = alice.last_cursor().await;
    assert_ok(&bob.mark(&[second], "read").await);
    let told = alice.all_events(cursor).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_fields(
        &told[0],
        json!({"type": "status", "status": "delivered", "message_ids": [first, second], "by": "bob"}),
    );
    assert_eq!(
        alice.statuses("bob").await,
        [
            (first, "delivered".to_owned()),
            (second, "delivered".to_owned())
        ]
    );
    let info = alice
        .get_ok(&format!("/api/messages/{second}/receipts"))
        .await;
    assert_eq!(info["read"], json!([]));
    assert_eq!(info["delivered"][0]["user"]["username"], "bob");
    let listed = item(&alice, "bob").await.expect("listed");
    assert_eq!(listed["last_message"]["status"], "delivered");
    let synced = alice.get_ok("/api/conversations/bob/sync?after_id=0").await;
    let synced: Vec<&Value> = synced["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .collect();
    assert!(
        synced.iter().all(|m| m["status"] == "delivered"),
        "{synced:?}"
    );
    let statuses = alice
        .get_ok(&format!("/api/conversations/bob/sync?after_id={second}"))
        .await;
    assert!(
        !statuses["statuses"].to_string().contains("read"),
        "{statuses}"
    );
    assert_eq!(
        bob.statuses("alice").await[1].1,
        "read",
        "the reader's own view"
    );

    let cursor = alice.last_cursor().await;
    assert_no_content(&bob.post("/api/conversations/alice/accept", json!({})).await);
    let told = alice.all_events(cursor).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_fields(
        &told[0],
        json!({"type": "status", "status": "read", "message_ids": [first, second], "by": "bob", "all": true}),
    );
    assert_eq!(alice.statuses("bob").await[1].1, "read");
    assert_fields(
        &item(&bob, "alice").await.expect("listed"),
        json!({"request": false}),
    );
    // Accepting again, or with nothing pending, changes nothing.
    assert_no_content(&bob.post("/api/conversations/alice/accept", json!({})).await);
    assert_no_content(&alice.post("/api/conversations/bob/accept", json!({})).await);
    assert_eq!(alice.all_events(cursor).await.len(), 1);
    for n in 3..=6 {
        alice.send_ok("bob", &format!("a{n}")).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_decline_hides_the_request_and_refuses_until_the_recipient_writes() {
    let (app, [alice, bob, carol]) = with_requests(["alice", "bob", "carol"]).await;
    alice.send_ok("bob", "a1").await;
    assert_no_content(
        &bob.post("/api/conversations/alice/decline", json!({}))
            .await,
    );
    assert!(
        item(&bob, "alice").await.is_none(),
        "hidden from bob's list"
    );
    assert!(item(&alice, "bob").await.is_some(), "still in alice's");
    assert_error(
        &alice.send("bob", "a2", "x").await,
        StatusCode::FORBIDDEN,
        "cannot_message_user",
    );
    assert_error(
        &bob.post("/api/conversations/nobody/decline", json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    // A later shared group does not lift it.
    let group = carol.create_group_ok("Crew", &["alice", "bob"]).await;
    assert_no_content(
        &alice
            .post(&format!("/api/groups/{group}/accept"), json!({}))
            .await,
    );
    assert_no_content(
        &bob.post(&format!("/api/groups/{group}/accept"), json!({}))
            .await,
    );
    assert_error(
        &alice.send("bob", "a2", "x").await,
        StatusCode::FORBIDDEN,
        "cannot_message_user",
    );
    // Writing to them does.
    bob.send_ok("alice", "b1").await;
    assert_fields(
        &item(&bob, "alice").await.expect("listed again"),
        json!({"request": false}),
    );
    alice.send_ok("bob", "a2").await;
    app.stop().await;
}

#[tokio::test]
async fn a_group_from_a_stranger_is_a_request_until_accepted() {
    let (app, [alice, bob, carol]) = with_requests(["alice", "bob", "carol"]).await;
    let group = alice.create_group_ok("Pitch", &["bob", "carol"]).await;
    assert_fields(
        &item(&bob, "Pitch").await.expect("listed"),
        json!({"request": true, "kind": "group"}),
    );
    assert_fields(
        &item(&alice, "Pitch").await.expect("listed"),
        json!({"request": false}),
    );
    // It works as any group meanwhile.
    alice.group_send_ok(group, "g1").await;
    assert_eq!(bob.group_messages(group).await.len(), 2);
    // Not shared yet: alice's direct message to bob is a request.
    alice.send_ok("bob", "a1").await;
    assert_fields(
        &item(&bob, "alice").await.expect("listed"),
        json!({"request": true}),
    );

    assert_no_content(
        &bob.post(&format!("/api/groups/{group}/accept"), json!({}))
            .await,
    );
    assert_fields(
        &item(&bob, "Pitch").await.expect("listed"),
        json!({"request": false}),
    );
    assert_fields(
        &item(&bob, "alice").await.expect("listed"),
        json!({"request": false}),
    );
    assert_no_content(
        &bob.post(&format!("/api/groups/{group}/accept"), json!({}))
            .await,
    );
    let (_, [dave]) = (0, app.signups(["dave"]).await);
    assert_error(
        &dave
            .post(&format!("/api/groups/{group}/accept"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "conversation_not_found",
    );

    // Leaving a group request declines it: it leaves the list.
    assert_no_content(&carol.group_leave(group).await);
    assert!(
        item(&carol, "Pitch").await.is_none(),
        "{:?}",
        carol.conversations().await
    );
    app.stop().await;
}

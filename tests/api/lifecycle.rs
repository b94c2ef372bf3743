//! Replies, edits, deletes for everyone and reactions end to end (PROTOCOL.md, "Replies,
//! edits, deletes, reactions"): the routes and every error code they answer, the
//! `message_updated` and `reaction` events live on sockets and caught up after a disconnect,
//! replies over HTTP and WebSocket, the windows set on the command line, and — on SQLite — a
//! deleted body that no byte of the data directory holds after a clean stop.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::socket::Socket;
use crate::support::{Client, TestApp, assert_error, id};

fn message_path(id: i64) -> String {
    format!("/api/messages/{id}")
}

async fn edit(client: &Client, id: i64, body: &str) -> (StatusCode, Value) {
    client.patch(&message_path(id), json!({"body": body})).await
}

async fn react(client: &Client, id: i64, emoji: Value) -> (StatusCode, Value) {
    client
        .request(
            Method::PUT,
            &format!("/api/messages/{id}/reaction"),
            Some(json!({"emoji": emoji})),
        )
        .await
}

async fn unreact(client: &Client, id: i64) -> (StatusCode, Value) {
    client.delete(&format!("/api/messages/{id}/reaction")).await
}

async fn reply(
    client: &Client,
    to: &str,
    client_id: &str,
    body: &str,
    reply_to: Value,
) -> (StatusCode, Value) {
    client
        .post(
            &format!("/api/conversations/{to}/messages"),
            json!({"client_id": client_id, "body": body, "reply_to": reply_to}),
        )
        .await
}

fn ok(response: (StatusCode, Value)) -> Value {
    assert_eq!(response.0, StatusCode::OK, "{}", response.1);
    response.1
}

/// The next stored event on `socket`, skipping presence, typing and pongs.
async fn next_stored(socket: &mut Socket) -> Value {
    loop {
        let frame = socket.next().await.expect("a frame");
        if frame.get("cursor").is_some() {
            return frame;
        }
    }
}

#[tokio::test]
async fn a_sender_edits_and_both_see_it_once() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let message = alice.send_created("bob", "c1", "helo").await;
    let mut bobs = app.notifications(&bob).await;
    let edited = ok(edit(&alice, id(&message), "hello").await);
    assert_eq!(edited["body"], "hello");
    assert!(edited["edited_at"].is_string());
    let event = next_stored(&mut bobs).await;
    assert_eq!(event["type"], "message_updated");
    assert_eq!(event["message"]["body"], "hello");
    assert_eq!(
        event["message"]["status"], "sent",
        "bob sees his own status"
    );

    let again = ok(edit(&alice, id(&message), "hello").await);
    assert_eq!(
        again["edited_at"], edited["edited_at"],
        "the same body is a no-op"
    );
    bobs.assert_no_more_events().await;
    assert_error(
        &edit(&bob, id(&message), "mine now").await,
        StatusCode::FORBIDDEN,
        "not_sender",
    );
    assert_error(
        &edit(&alice, id(&message), "   ").await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &edit(&alice, 999_999, "x").await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
    assert_error(
        &edit(&alice, 0, "x").await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
    let conversation = alice.conversations().await;
    assert_eq!(conversation[0]["unread"], 0, "alice has nothing unread");
    assert_eq!(
        bob.conversations().await[0]["unread"],
        1,
        "an edit is not a new unread message"
    );
}

#[tokio::test]
async fn windows_come_from_the_command_line() {
    let app = TestApp::spawn_with(|c| {
        c.edit_window_secs = 0;
        c.delete_window_secs = 0;
    })
    .await;
    let [alice, bob] = app.signups(["alice", "bob"]).await;
    let message = alice.send_created("bob", "c1", "typo").await;
    assert_error(
        &edit(&alice, id(&message), "fixed").await,
        StatusCode::FORBIDDEN,
        "edit_window_passed",
    );
    assert_error(
        &alice.delete(&message_path(id(&message))).await,
        StatusCode::FORBIDDEN,
        "delete_window_passed",
    );
    // Reactions have no window.
    ok(react(&bob, id(&message), json!("👍")).await);
}

#[tokio::test]
async fn a_delete_for_everyone_leaves_a_tombstone_with_its_seq() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let first = alice.send_created("bob", "c1", "wrong chat").await;
    let second = alice.send_created("bob", "c2", "next").await;
    ok(react(&bob, id(&first), json!("😮")).await);
    let mut bobs = app.notifications(&bob).await;
    let tombstone = ok(alice.delete(&message_path(id(&first))).await);
    assert_eq!(tombstone["deleted"], true);
    assert_eq!(tombstone["body"], "");
    assert_eq!(tombstone["deleted_by"], "alice");
    assert_eq!(tombstone["reactions"], json!([]));
    assert_eq!(tombstone["seq"], first["seq"]);
    let event = next_stored(&mut bobs).await;
    assert_eq!(
        (
            event["type"].as_str(),
            event["message"]["deleted"].as_bool()
        ),
        (Some("message_updated"), Some(true))
    );
    // Deleting again changes nothing and tells no one.
    assert_eq!(ok(alice.delete(&message_path(id(&first))).await), tombstone);
    bobs.assert_no_more_events().await;
    assert_error(
        &bob.delete(&message_path(id(&second))).await,
        StatusCode::FORBIDDEN,
        "not_sender",
    );
    assert_error(
        &edit(&alice, id(&first), "back").await,
        StatusCode::CONFLICT,
        "message_deleted",
    );
    assert_error(
        &react(&bob, id(&first), json!("👍")).await,
        StatusCode::CONFLICT,
        "message_deleted",
    );
    let history = bob.messages("alice").await;
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0]["seq"].as_i64(), history[0]["deleted"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(
        bob.conversations().await[0]["unread"],
        1,
        "a deleted message is not unread"
    );
}

#[tokio::test]
async fn reactions_are_one_emoji_per_member_and_their_events_reach_both() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let message = alice.send_created("bob", "c1", "shipped!").await;
    let mut alices = app.notifications(&alice).await;
    let set = ok(react(&bob, id(&message), json!("❤")).await);
    assert_eq!(set["reactions"], json!([{"emoji": "❤️", "users": ["bob"]}]));
    let event = next_stored(&mut alices).await;
    assert_eq!(event["type"], "reaction");
    assert_eq!(
        (event["user"].as_str(), event["emoji"].as_str()),
        (Some("bob"), Some("❤️"))
    );
    assert_eq!(event["message_id"], message["id"]);
    assert!(event["at"].is_string());

    // "❤" and "❤️" are one reaction: setting it again is no change.
    ok(react(&bob, id(&message), json!("❤️")).await);
    let replaced = ok(react(&bob, id(&message), json!("🎉")).await);
    assert_eq!(
        replaced["reactions"],
        json!([{"emoji": "🎉", "users": ["bob"]}])
    );
    let event = next_stored(&mut alices).await;
    assert_eq!(event["emoji"], "🎉", "one event for the replacement");
    let removed = ok(unreact(&bob, id(&message)).await);
    assert_eq!(removed["reactions"], json!([]));
    let event = next_stored(&mut alices).await;
    assert_eq!(
        (event["type"].as_str(), event["emoji"].clone()),
        (Some("reaction"), Value::Null)
    );
    ok(unreact(&bob, id(&message)).await);
    alices.assert_no_more_events().await;

    for bad in [
        json!("👍👍"),
        json!("ok"),
        json!(""),
        json!(7),
        Value::Null,
        json!("🇦🇦"),
    ] {
        assert_error(
            &react(&bob, id(&message), bad).await,
            StatusCode::BAD_REQUEST,
            "invalid_emoji",
        );
    }
    let (status, body) = bob
        .request(
            Method::PUT,
            &format!("/api/messages/{}/reaction", id(&message)),
            Some(json!({})),
        )
        .await;
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "invalid_emoji");
}

#[tokio::test]
async fn strangers_get_message_not_found_for_every_change() {
    let (_app, [alice, bob, eve]) = TestApp::with_users(["alice", "bob", "eve"]).await;
    let message = alice.send_created("bob", "c1", "private").await;
    let path = message_path(id(&message));
    assert_error(
        &edit(&eve, id(&message), "x").await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
    assert_error(
        &eve.delete(&path).await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
    assert_error(
        &react(&eve, id(&message), json!("👍")).await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
    assert_error(
        &unreact(&eve, id(&message)).await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
    assert_error(
        &reply(&eve, "alice", "e1", "hi", json!(id(&message))).await,
        StatusCode::BAD_REQUEST,
        "invalid_reply_to",
    );
    assert_eq!(bob.messages("alice").await[0]["body"], "private");
}

#[tokio::test]
async fn replies_carry_a_quote_over_http_and_websocket() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let question = alice.send_created("bob", "c1", "lunch at noon?").await;
    let (status, answer) = reply(&bob, "alice", "b1", "yes", json!(id(&question))).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(
        answer["reply_to"],
        json!({"id": question["id"], "sender": "alice", "body": "lunch at noon?", "deleted": false})
    );
    // A retry with another reply_to is a conflict; the same one answers the stored message.
    assert_error(
        &reply(&bob, "alice", "b1", "yes", Value::Null).await,
        StatusCode::CONFLICT,
        "client_id_conflict",
    );
    assert_eq!(
        reply(&bob, "alice", "b1", "yes", json!(id(&question)))
            .await
            .0,
        StatusCode::OK
    );
    for bad in [json!(0), json!(-3), json!("12"), json!(1.5), json!(999_999)] {
        assert_error(
            &reply(&bob, "alice", "b2", "x", bad).await,
            StatusCode::BAD_REQUEST,
            "invalid_reply_to",
        );
    }

    let mut socket = app.socket(&alice, "/ws/chat/bob/").await;
    socket
        .send_json(
            json!({"type": "send", "client_id": "a1", "body": "see you", "reply_to": id(&answer)}),
        )
        .await;
    let ack = socket.next_of("ack").await;
    assert_eq!(ack["message"]["reply_to"]["id"], answer["id"]);
    socket
        .send_json(json!({"type": "send", "client_id": "a2", "body": "x", "reply_to": "soon"}))
        .await;
    let error = socket.next_of("error").await;
    assert_eq!(
        (error["code"].as_str(), error["client_id"].as_str()),
        (Some("invalid_reply_to"), Some("a2"))
    );
}

#[tokio::test]
async fn changes_made_while_away_are_caught_up_once_after_reconnecting() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let first = alice.send_created("bob", "c1", "one").await;
    let second = alice.send_created("bob", "c2", "two").await;
    let since = bob.last_cursor().await;

    ok(edit(&alice, id(&first), "one, edited").await);
    ok(react(&alice, id(&second), json!("👍")).await);
    ok(alice.delete(&message_path(id(&second))).await);

    let mut socket = app
        .socket(&bob, &format!("/ws/notifications/?since={since}"))
        .await;
    let replayed = socket.stored_events(3).await;
    let kinds: Vec<&str> = replayed.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["message_updated", "reaction", "message_updated"]);
    // Each event carries the message as it is now: the reaction's message is already gone.
    assert_eq!(replayed[0]["message"]["body"], "one, edited");
    assert_eq!(replayed[2]["message"]["deleted"], true);
    let cursors: Vec<i64> = replayed
        .iter()
        .filter_map(|e| e["cursor"].as_i64())
        .collect();
    assert_eq!(cursors, [since + 1, since + 2, since + 3]);
    socket.assert_no_more_events().await;
    let synced = bob.all_events(since).await;
    assert_eq!(synced.len(), 3, "sync says the same: {synced:?}");
}

#[tokio::test]
async fn group_admins_moderate_and_members_react() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    let group = alice.create_group_ok("Atlas", &["bob", "carol"]).await;
    let (status, message) = bob.group_send(group, "b1", "off topic").await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    ok(react(&carol, id(&message), json!("👀")).await);
    assert_error(
        &carol.delete(&message_path(id(&message))).await,
        StatusCode::FORBIDDEN,
        "not_sender",
    );
    let mut carols = app.notifications(&carol).await;
    let moderated = ok(alice.delete(&message_path(id(&message))).await);
    assert_eq!(moderated["deleted_by"], "alice");
    let event = next_stored(&mut carols).await;
    assert_eq!(event["message"]["deleted_by"], "alice");

    let created = alice.group_messages(group).await[0].clone();
    assert_eq!(created["kind"], "system");
    assert_error(
        &alice.delete(&message_path(id(&created))).await,
        StatusCode::BAD_REQUEST,
        "not_editable",
    );
    assert_error(
        &edit(&alice, id(&created), "x").await,
        StatusCode::BAD_REQUEST,
        "not_editable",
    );
    assert_error(
        &react(&bob, id(&created), json!("👍")).await,
        StatusCode::BAD_REQUEST,
        "not_reactable",
    );

    // A removed member can still read the message, but no longer change it.
    let (_, kept) = alice.group_send(group, "a1", "still here").await;
    assert_eq!(
        alice.group_remove(group, "carol").await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &react(&carol, id(&kept), json!("👍")).await,
        StatusCode::FORBIDDEN,
        "not_a_member",
    );
}

#[tokio::test]
async fn a_deleted_body_is_in_no_file_after_a_clean_stop() {
    if crate::BACKEND != crate::backend::Backend::Sqlite {
        return; // PostgreSQL drops old row versions at its next VACUUM, outside this test.
    }
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let secret = "correct-horse-battery-staple-7431";
    let message = alice.send_created("bob", "c1", secret).await;
    ok(edit(&alice, id(&message), &format!("{secret} (edited)")).await);
    let quoted = reply(&bob, "alice", "b1", "noted", json!(id(&message))).await;
    assert_eq!(quoted.0, StatusCode::CREATED);
    for i in 0..50 {
        alice
            .send_created("bob", &format!("n{i}"), "filler to move pages around")
            .await;
    }
    ok(alice.delete(&message_path(id(&message))).await);
    let storage = app.stop_keeping_storage().await;
    let mut files = 0;
    for entry in std::fs::read_dir(storage.dir.path()).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            // The last pooled reader to close may remove the (emptied) log as we look.
            let bytes = match std::fs::read(&path) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                read => read.expect("readable"),
            };
            files += 1;
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} still holds the deleted body",
                path.display()
            );
        }
    }
    assert!(files > 0, "the data directory holds the database");
}

#[tokio::test]
async fn changes_count_against_the_send_rate() {
    let app = TestApp::spawn_with(|c| {
        c.send_rate = 1;
        c.send_burst = 2;
    })
    .await;
    let [alice, _bob] = app.signups(["alice", "bob"]).await;
    let message = alice.send_created("bob", "c1", "one").await;
    ok(edit(&alice, id(&message), "one!").await);
    let (status, body) = react(&alice, id(&message), json!("👍")).await;
    assert_error(
        &(status, body),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    assert_eq!(
        alice.messages("bob").await[0]["reactions"],
        json!([]),
        "a refused change changes nothing"
    );
}

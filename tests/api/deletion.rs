//! Account deletion (PROTOCOL.md, Safety and privacy: Account deletion; Guarantees:
//! Forgetting): the password check, what others see afterwards, the name held for 30 days, the
//! reserved `deleted` prefix, groups left with the owner's hand-over, reactions and messages
//! removed with one event each, sockets closed, and bodies really gone from the files.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Client, TestApp, assert_error, assert_error_status, id};

pub async fn delete_me(client: &Client, body: Value) -> (StatusCode, Value) {
    client.request(Method::DELETE, "/api/me", Some(body)).await
}

fn is_reserved_name(name: &str) -> bool {
    name.strip_prefix("deleted-").is_some_and(|tail| {
        tail.len() == 8
            && tail
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

#[tokio::test]
async fn a_wrong_password_deletes_nothing() {
    let (_app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    alice.send_created("bob", "c1", "still here").await;
    assert_error(
        &delete_me(&alice, json!({"password": "not-the-password"})).await,
        StatusCode::FORBIDDEN,
        "wrong_password",
    );
    assert_eq!(alice.get_ok("/api/me").await["user"]["username"], "alice");
    assert_eq!(bob.bodies("alice").await, ["still here"]);
}

#[tokio::test]
async fn a_deleted_account_becomes_a_reserved_name_with_its_messages_tombstones() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    alice.send_created("bob", "c1", "first").await;
    bob.send_created("alice", "b1", "reply").await;
    let deleted = delete_me(&alice, json!({"password": "password123"})).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);

    assert_error_status(&alice.get("/api/me").await, StatusCode::UNAUTHORIZED);
    let list = bob.conversations().await;
    let with = &list[0]["with"];
    let name = with["username"].as_str().expect("a name").to_owned();
    assert!(is_reserved_name(&name), "{name}");
    assert_eq!(with["display_name"], "Deleted account");
    let messages = bob.messages(&name).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["deleted"], true);
    assert_eq!(messages[0]["body"], "");
    assert_eq!(messages[0]["sender"], name.as_str());
    assert_eq!(messages[1]["body"], "reply", "others' messages stay");

    let login = json!({"username": "alice", "password": "password123"});
    assert_error(
        &app.anonymous().post("/api/auth/login", login).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    let again = json!({"username": "alice", "password": "password123"});
    assert_error(
        &app.anonymous().post("/api/auth/signup", again).await,
        StatusCode::CONFLICT,
        "username_taken",
    );
    let as_reserved = json!({"username": name, "password": "password123"});
    assert_error(
        &app.anonymous().post("/api/auth/login", as_reserved).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn names_starting_with_deleted_cannot_be_signed_up() {
    let app = TestApp::spawn().await;
    for name in ["deleted", "deleted-abcd1234", "Deletedfan", "deleted_x"] {
        let body = json!({"username": name, "password": "password123"});
        assert_error(
            &app.anonymous().post("/api/auth/signup", body).await,
            StatusCode::BAD_REQUEST,
            "invalid_username",
        );
    }
    app.signup("delete").await;
    app.signup("undeleted").await;
}

#[tokio::test]
async fn keeping_messages_leaves_their_bodies_under_the_new_name() {
    let (_app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    alice.send_created("bob", "c1", "keep me").await;
    let deleted = delete_me(
        &alice,
        json!({"password": "password123", "delete_messages": false}),
    )
    .await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);
    let name = bob.conversations().await[0]["with"]["username"]
        .as_str()
        .expect("a name")
        .to_owned();
    let messages = bob.messages(&name).await;
    assert_eq!(messages[0]["body"], "keep me");
    assert_eq!(messages[0]["deleted"], false);
}

#[tokio::test]
async fn the_owner_leaves_every_group_and_ownership_passes() {
    let (_app, [alice, bob, carol], group) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let deleted = delete_me(&alice, json!({"password": "password123"})).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);
    let members = bob.group_members(group).await;
    assert_eq!(
        members,
        [
            ("bob".to_owned(), "owner".to_owned()),
            ("carol".to_owned(), "member".to_owned())
        ]
    );
    let messages = carol.group_messages(group).await;
    let left = messages.last().expect("a system message");
    assert_eq!(left["system"]["event"], "member_left");
    assert_eq!(left["system"]["new_owner"], "bob");
}

#[tokio::test]
async fn reactions_and_messages_go_with_one_event_each_and_sockets_close() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let from_bob = id(&bob.send_created("alice", "b1", "react to me").await);
    let from_alice = id(&alice.send_created("bob", "a1", "to be erased").await);
    let reacted = alice
        .request(
            Method::PUT,
            &format!("/api/messages/{from_bob}/reaction"),
            Some(json!({"emoji": "👍"})),
        )
        .await;
    assert_eq!(reacted.0, StatusCode::OK, "{}", reacted.1);
    let mut alice_socket = app.notifications(&alice).await;
    let since = bob.last_cursor().await;

    let deleted = delete_me(&alice, json!({"password": "password123"})).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);

    let (_, code) = alice_socket.drain().await;
    assert_eq!(code, Some(4001), "the deleted account's socket closes");
    let events = bob.all_events(since).await;
    let kinds: Vec<(&str, i64)> = events
        .iter()
        .map(|e| {
            let message = e["message_id"]
                .as_i64()
                .or_else(|| e["message"]["id"].as_i64())
                .unwrap_or(0);
            (e["type"].as_str().unwrap_or(""), message)
        })
        .collect();
    assert_eq!(
        kinds,
        [("reaction", from_bob), ("message_updated", from_alice)]
    );
    assert_eq!(events[0]["emoji"], Value::Null);
    assert_eq!(events[1]["message"]["deleted"], true);
    assert_error_status(&alice.get("/api/me").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deleted_accounts_bodies_are_in_no_file_after_a_clean_stop() {
    if crate::BACKEND != crate::backend::Backend::Sqlite {
        return; // PostgreSQL drops old row versions at its next VACUUM, outside this test.
    }
    let (app, [alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    let secret = "tangerine-nebula-quartz-5519";
    alice.send_created("bob", "c1", secret).await;
    for i in 0..30 {
        alice
            .send_created("bob", &format!("n{i}"), "filler to move pages around")
            .await;
    }
    let deleted = delete_me(&alice, json!({"password": "password123"})).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);
    let storage = app.stop_keeping_storage().await;
    for entry in std::fs::read_dir(storage.dir.path()).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = match std::fs::read(&path) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                read => read.expect("readable"),
            };
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} still holds the deleted body",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn a_deleted_account_can_be_read_but_not_written_to_or_added() {
    let (_app, [carol, alice, bob], group) = TestApp::with_group(["carol", "alice", "bob"]).await;
    alice.send_created("bob", "c1", "hello").await;
    let deleted = delete_me(
        &alice,
        json!({"password": "password123", "delete_messages": false}),
    )
    .await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);
    let list = bob.conversations().await;
    let direct = list.iter().find(|c| c["kind"] == "direct").expect("direct");
    let name = direct["with"]["username"]
        .as_str()
        .expect("a name")
        .to_owned();
    assert_eq!(
        bob.bodies(&name).await,
        ["hello"],
        "the history stays readable"
    );
    assert_error(
        &bob.send(&name, "b1", "are you there?").await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    assert_error(
        &carol.group_add(group, &[&name]).await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
}

//! Privacy (PROTOCOL.md, Guarantees): a user reads, marks and syncs only conversations they
//! belong to; ids of others' messages behave as if they did not exist.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Client, TestApp, assert_error};

/// alice and bob talk; carol is a third user. Returns their clients and alice→bob message ids.
async fn three_people(app: &TestApp) -> (Client, Client, Client, Vec<i64>) {
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, message) = alice.send("bob", &format!("a{i}"), "private").await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        ids.push(message["id"].as_i64().unwrap());
    }
    let (status, reply) = bob.send("alice", "b0", "also private").await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    (alice, bob, carol, ids)
}

async fn messages(client: &Client, path: &str) -> Vec<Value> {
    let (status, page) = client.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    page["messages"].as_array().expect("messages").clone()
}

async fn bob_sees_statuses(bob: &Client) -> Vec<String> {
    messages(bob, "/api/conversations/alice/messages")
        .await
        .iter()
        .map(|m| m["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_third_user_cannot_mark_others_messages() {
    let app = TestApp::spawn().await;
    let (_alice, bob, carol, ids) = three_people(&app).await;
    for status in ["delivered", "read"] {
        for request in [vec![ids[0]], ids.clone()] {
            let response = carol
                .post(
                    "/api/messages/status",
                    json!({"message_ids": request, "status": status}),
                )
                .await;
            assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
        }
    }
    let missing = carol
        .post(
            "/api/messages/status",
            json!({"message_ids": [ids[2] + 1000], "status": "read"}),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "message_not_found");
    assert_eq!(
        bob_sees_statuses(&bob).await,
        ["sent", "sent", "sent", "sent"],
        "nothing changed"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_third_user_sees_nothing_of_others_conversations() {
    let app = TestApp::spawn().await;
    let (_alice, _bob, carol, _ids) = three_people(&app).await;
    let (status, list) = carol.get("/api/conversations").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["conversations"], json!([]));
    assert!(carol.all_events(0).await.is_empty());
    for other in ["alice", "bob"] {
        let path = format!("/api/conversations/{other}/messages");
        assert!(messages(&carol, &path).await.is_empty());
        let (status, synced) = carol
            .get(&format!("/api/conversations/{other}/sync?after_id=0"))
            .await;
        assert_eq!(status, StatusCode::OK, "{synced}");
        assert_eq!(synced["messages"], json!([]));
        assert_eq!(synced["statuses"], json!([]));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_shared_contact_keeps_conversations_apart() {
    let app = TestApp::spawn().await;
    let (alice, _bob, carol, ids) = three_people(&app).await;
    let (status, hello) = carol.send("alice", "c0", "hi alice").await;
    assert_eq!(status, StatusCode::CREATED, "{hello}");

    let with_alice = messages(&carol, "/api/conversations/alice/messages").await;
    assert_eq!(with_alice, std::slice::from_ref(&hello));
    assert_eq!(hello["seq"], 1, "carol's conversation has its own seq");
    let events = carol.all_events(0).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["message"], hello);
    let (_, list) = carol.get("/api/conversations").await;
    let list = list["conversations"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["with"]["username"], "alice");
    assert_eq!(list[0]["last_message"], hello);
    assert_eq!(list[0]["unread"], 0);

    // Paging carol's history from a message of alice↔bob reveals nothing of it.
    let before = ids[2] + 1;
    let path = format!("/api/conversations/alice/messages?before_id={before}");
    assert!(messages(&carol, &path).await.is_empty());
    // Alice sees two separate conversations.
    let (_, list) = alice.get("/api/conversations").await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 2, "{list}");
    app.stop().await;
}

#[tokio::test]
async fn read_up_to_with_a_foreign_message_id_is_404() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, ids) = three_people(&app).await;
    let (status, hello) = alice.send("carol", "ac", "hi carol").await;
    assert_eq!(status, StatusCode::CREATED, "{hello}");
    for other in ["alice", "bob"] {
        let response = carol
            .post(
                &format!("/api/conversations/{other}/read"),
                json!({"up_to_id": ids[2]}),
            )
            .await;
        assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
    }
    // Bob cannot use an id of alice↔carol in his conversation with alice.
    let carols = hello["id"].as_i64().unwrap();
    let response = bob
        .post("/api/conversations/alice/read", json!({"up_to_id": carols}))
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
    assert_eq!(
        bob_sees_statuses(&bob).await,
        ["sent", "sent", "sent", "sent"]
    );
    let (status, statuses) = carol.get("/api/conversations/alice/messages").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(statuses["messages"][0]["status"], "sent");
    app.stop().await;
}

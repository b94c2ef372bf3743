//! Privacy (PROTOCOL.md, Guarantees): a user reads, marks and syncs only conversations they
//! belong to; ids of others' messages behave as if they did not exist.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Client, TestApp, assert_cannot_mark, assert_error, ids};

/// A fresh server where alice and bob talk and carol is a third user. Returns the app, their
/// clients and the ids of alice's messages to bob.
async fn three_people() -> (TestApp, Client, Client, Client, Vec<i64>) {
    let (app, [alice, bob, carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(alice.send_created("bob", &format!("a{i}"), "private").await);
    }
    bob.send_created("alice", "b0", "also private").await;
    (app, alice, bob, carol, ids(&sent))
}

async fn bob_sees_statuses(bob: &Client) -> Vec<String> {
    let statuses = bob.statuses("alice").await;
    statuses.into_iter().map(|(_, status)| status).collect()
}

#[tokio::test]
async fn a_third_user_cannot_mark_others_messages() {
    let (app, _alice, bob, carol, ids) = three_people().await;
    assert_cannot_mark(&carol, &ids[..1]).await;
    assert_cannot_mark(&carol, &ids).await;
    let missing = carol.mark(&[ids[2] + 1000], "read").await;
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
    let (app, _alice, _bob, carol, _ids) = three_people().await;
    assert!(carol.conversations().await.is_empty());
    assert!(carol.all_events(0).await.is_empty());
    for other in ["alice", "bob"] {
        assert!(carol.messages(other).await.is_empty());
        let synced = carol
            .get_ok(&format!("/api/conversations/{other}/sync?after_id=0"))
            .await;
        assert_eq!(synced["messages"], json!([]));
        assert_eq!(synced["statuses"], json!([]));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_shared_contact_keeps_conversations_apart() {
    let (app, alice, _bob, carol, ids) = three_people().await;
    let hello = carol.send_created("alice", "c0", "hi alice").await;

    let with_alice = carol.messages("alice").await;
    assert_eq!(with_alice, std::slice::from_ref(&hello));
    assert_eq!(hello["seq"], 1, "carol's conversation has its own seq");
    let events = carol.all_events(0).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["message"], hello);
    let list = carol.conversations().await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["with"]["username"], "alice");
    assert_eq!(list[0]["last_message"], hello);
    assert_eq!(list[0]["unread"], 0);

    // Paging carol's history from a message of alice↔bob reveals nothing of it.
    let before = ids[2] + 1;
    let page = carol
        .history_page("alice", &format!("before_id={before}"))
        .await;
    assert_eq!(page["messages"], json!([]), "{page}");
    // Alice sees two separate conversations.
    let list = alice.conversations().await;
    assert_eq!(list.len(), 2, "{list:?}");
    app.stop().await;
}

#[tokio::test]
async fn read_up_to_with_a_foreign_message_id_is_404() {
    let (app, alice, bob, carol, ids) = three_people().await;
    let hello = alice.send_created("carol", "ac", "hi carol").await;
    // An id of alice↔bob is foreign to carol, and one of alice↔carol to bob↔alice.
    let carols = hello["id"].as_i64().unwrap();
    for (reader, with, id) in [
        (&carol, "alice", ids[2]),
        (&carol, "bob", ids[2]),
        (&bob, "alice", carols),
    ] {
        let response = reader.read_up_to(with, id).await;
        assert_error(&response, StatusCode::NOT_FOUND, "message_not_found");
    }
    assert_eq!(
        bob_sees_statuses(&bob).await,
        ["sent", "sent", "sent", "sent"]
    );
    assert_eq!(carol.messages("alice").await[0]["status"], "sent");
    app.stop().await;
}

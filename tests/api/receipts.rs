//! Receipts (PROTOCOL.md, `bulk_update_message_status` and read-up-to): only the recipient moves
//! a message forward, sent → delivered → read; a backward move is a no-op; a request naming a
//! message that is not the caller's changes nothing at all.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::{
    Client, TestApp, assert_cannot_mark, assert_error, assert_error_status, assert_ok,
};

/// The ids a successful status request changed, as a set.
#[track_caller]
fn updated(response: &(StatusCode, Value)) -> BTreeSet<i64> {
    assert_ok(response);
    response.1["updated"]
        .as_array()
        .expect("updated")
        .iter()
        .map(|id| id.as_i64().expect("id"))
        .collect()
}

/// The unread count `client` sees for the conversation with `with`.
async fn unread(client: &Client, with: &str) -> i64 {
    let list = client.conversations().await;
    list.iter()
        .find(|c| c["with"]["username"] == with)
        .unwrap_or_else(|| panic!("no conversation with {with}: {list:?}"))["unread"]
        .as_i64()
        .expect("unread")
}

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

#[tokio::test]
async fn the_recipient_moves_messages_forward_only() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let m1 = alice.send_ok("bob", "c1").await;
    let m2 = alice.send_ok("bob", "c2").await;

    assert_eq!(
        updated(&bob.mark(&[m1, m2], "delivered").await),
        set(&[m1, m2])
    );
    let delivered = vec![(m1, "delivered".to_owned()), (m2, "delivered".to_owned())];
    assert_eq!(alice.statuses("bob").await, delivered);
    assert_eq!(updated(&bob.mark(&[m1], "read").await), set(&[m1]));
    assert_eq!(
        updated(&bob.mark(&[m1, m2], "delivered").await),
        set(&[]),
        "read → delivered is a no-op; delivered → delivered too"
    );
    assert_eq!(updated(&bob.mark(&[m1], "read").await), set(&[]));
    let expected = vec![(m1, "read".to_owned()), (m2, "delivered".to_owned())];
    assert_eq!(alice.statuses("bob").await, expected);
    assert_eq!(bob.statuses("alice").await, expected);
    app.stop().await;
}

#[tokio::test]
async fn a_sender_cannot_mark_their_own_messages() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let m1 = alice.send_ok("bob", "c1").await;
    assert_cannot_mark(&alice, &[m1]).await;
    assert_eq!(bob.statuses("alice").await, [(m1, "sent".to_owned())]);
    assert_eq!(unread(&bob, "alice").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn one_foreign_id_makes_the_whole_request_404_and_changes_nothing() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let to_bob = alice.send_ok("bob", "c1").await;
    let from_bob = bob.send_ok("alice", "c2").await;
    let missing = from_bob + 1000;
    for ids in [[to_bob, from_bob], [to_bob, missing], [missing, to_bob]] {
        assert_cannot_mark(&bob, &ids).await;
    }
    let untouched = vec![(to_bob, "sent".to_owned()), (from_bob, "sent".to_owned())];
    assert_eq!(alice.statuses("bob").await, untouched);
    // Refused requests publish nothing either: alice has only her two message events.
    let events = alice.all_events(0).await;
    assert!(events.iter().all(|e| e["type"] == "message"), "{events:?}");
    app.stop().await;
}

#[tokio::test]
async fn bad_statuses_and_id_lists_are_400() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let m1 = alice.send_ok("bob", "c1").await;
    for bad in ["sent", "bogus", "READ", ""] {
        assert_error(
            &bob.mark(&[m1], bad).await,
            StatusCode::BAD_REQUEST,
            "invalid_status",
        );
    }
    assert_error_status(&bob.mark(&[], "read").await, StatusCode::BAD_REQUEST);
    for bad in [0, -3] {
        let response = bob.mark(&[m1, bad], "read").await;
        assert!(
            [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND].contains(&response.0),
            "{response:?}"
        );
    }
    assert_eq!(bob.statuses("alice").await, [(m1, "sent".to_owned())]);
    app.stop().await;
}

#[tokio::test]
async fn read_up_to_marks_every_earlier_message_and_lowers_unread() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let mut to_bob = Vec::new();
    for i in 0..5 {
        to_bob.push(alice.send_ok("bob", &format!("a{i}")).await);
        if i == 2 {
            bob.send_ok("alice", "b0").await;
        }
    }
    assert_eq!(unread(&bob, "alice").await, 5);
    assert_eq!(unread(&alice, "bob").await, 1);
    assert_eq!(
        updated(&bob.mark(&[to_bob[0]], "delivered").await),
        set(&[to_bob[0]])
    );

    assert_eq!(
        updated(&bob.read_up_to("alice", to_bob[3]).await),
        set(&to_bob[..4]),
        "only alice's messages"
    );
    assert_eq!(unread(&bob, "alice").await, 1);
    assert_eq!(
        unread(&alice, "bob").await,
        1,
        "bob's message to alice is unread"
    );
    let seen: Vec<String> = alice
        .statuses("bob")
        .await
        .into_iter()
        .filter(|(id, _)| to_bob.contains(id))
        .map(|(_, s)| s)
        .collect();
    assert_eq!(seen, ["read", "read", "read", "read", "sent"]);

    assert_eq!(
        updated(&bob.read_up_to("alice", to_bob[4]).await),
        set(&[to_bob[4]])
    );
    assert_eq!(unread(&bob, "alice").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_sender_syncs_a_status_event_for_each_change() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let m1 = alice.send_ok("bob", "c1").await;
    let m2 = alice.send_ok("bob", "c2").await;
    let before = alice.all_events(0).await.len() as i64;
    updated(&bob.mark(&[m1, m2], "delivered").await);
    updated(&bob.mark(&[m1], "read").await);
    updated(&bob.mark(&[m1], "read").await); // no change, so no event

    let events = alice.all_events(before).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let expected = [("delivered", set(&[m1, m2])), ("read", set(&[m1]))];
    for (event, (status, ids)) in events.iter().zip(expected) {
        assert_eq!(event["type"], "status", "{event}");
        assert_eq!(event["status"], status, "{event}");
        assert_eq!(event["by"], "bob", "{event}");
        let at = event["at"].as_str().expect("at");
        assert!(OffsetDateTime::parse(at, &Rfc3339).is_ok(), "{at}");
        let got: BTreeSet<i64> = event["message_ids"]
            .as_array()
            .expect("message_ids")
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect();
        assert_eq!(got, ids, "{event}");
    }
    assert_eq!(events[0]["cursor"], before + 1);
    assert_eq!(events[1]["cursor"], before + 2);
    app.stop().await;
}

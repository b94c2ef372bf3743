//! Reports (PROTOCOL.md, Safety and privacy: Reports): who may report which message, the
//! reason's bounds, repeats, tombstones, and past members within their range.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Client, TestApp, assert_error, id};

async fn report(client: &Client, message: i64, reason: Value) -> (StatusCode, Value) {
    client
        .post(
            &format!("/api/messages/{message}/report"),
            json!({ "reason": reason }),
        )
        .await
}

#[tokio::test]
async fn a_member_reports_a_message_once_and_a_repeat_changes_nothing() {
    let (_app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let message = id(&alice.send_created("bob", "c1", "buy cheap followers").await);
    let first = report(&bob, message, json!("spam")).await;
    assert_eq!(first.0, StatusCode::ACCEPTED, "{}", first.1);
    let again = report(&bob, message, json!("spam again")).await;
    assert_eq!(again.0, StatusCode::ACCEPTED, "{}", again.1);
}

#[tokio::test]
async fn the_reason_must_be_one_to_a_thousand_characters() {
    let (_app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let message = id(&alice.send_created("bob", "c1", "hello").await);
    for reason in [
        json!(""),
        json!("   "),
        json!("x".repeat(1001)),
        json!(null),
        json!(42),
    ] {
        assert_error(
            &report(&bob, message, reason).await,
            StatusCode::BAD_REQUEST,
            "invalid_reason",
        );
    }
    let longest = report(&bob, message, json!("é".repeat(1000))).await;
    assert_eq!(longest.0, StatusCode::ACCEPTED, "{}", longest.1);
}

#[tokio::test]
async fn one_cannot_report_ones_own_message() {
    let (_app, [alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    let message = id(&alice.send_created("bob", "c1", "hello").await);
    assert_error(
        &report(&alice, message, json!("me")).await,
        StatusCode::BAD_REQUEST,
        "invalid_report",
    );
}

#[tokio::test]
async fn a_tombstone_cannot_be_reported() {
    let (_app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let message = id(&alice.send_created("bob", "c1", "oops").await);
    let deleted = alice.delete(&format!("/api/messages/{message}")).await;
    assert_eq!(deleted.0, StatusCode::OK, "{}", deleted.1);
    assert_error(
        &report(&bob, message, json!("too late")).await,
        StatusCode::CONFLICT,
        "message_deleted",
    );
}

#[tokio::test]
async fn a_message_one_cannot_see_is_not_found() {
    let (app, [alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    let carol = app.signup("carol").await;
    let message = id(&alice.send_created("bob", "c1", "private").await);
    for target in [message, message + 1000] {
        assert_error(
            &report(&carol, target, json!("spam")).await,
            StatusCode::NOT_FOUND,
            "message_not_found",
        );
    }
    let (status, body) = carol
        .post("/api/messages/temp_1/report", json!({"reason": "x"}))
        .await;
    assert!(status.is_client_error(), "{status} {body}");
}

#[tokio::test]
async fn a_past_member_reports_within_their_range_only() {
    let (_app, [alice, bob, _carol], group) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let before = alice.group_send_ok(group, "g1").await;
    assert_eq!(bob.group_leave(group).await.0, StatusCode::NO_CONTENT);
    let after = alice.group_send_ok(group, "g2").await;
    let inside = report(&bob, before, json!("abusive")).await;
    assert_eq!(inside.0, StatusCode::ACCEPTED, "{}", inside.1);
    assert_error(
        &report(&bob, after, json!("abusive")).await,
        StatusCode::NOT_FOUND,
        "message_not_found",
    );
}

//! The export (PROTOCOL.md, Safety and privacy: Export): the attachment's name, the document's
//! shape with every conversation's messages as the user sees them (tombstones with an empty
//! body, a group left read up to the exit), uploads and reports, and one export an hour.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, RETRY_AFTER};
use serde_json::{Value, json};

use crate::support::{Client, TestApp, assert_error, id};

/// GETs the export; returns its status, `Content-Disposition`, `Retry-After` and JSON body.
async fn export(client: &Client) -> (StatusCode, String, Option<String>, Value) {
    let mut request = client.http.get(format!("{}/api/me/export", client.base));
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("export sent");
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let disposition = header(CONTENT_DISPOSITION).unwrap_or_default();
    let retry = header(RETRY_AFTER);
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, disposition, retry, body)
}

#[tokio::test]
async fn the_export_holds_every_conversation_as_the_user_sees_it() {
    let (_app, [alice, bob, carol], group) = TestApp::with_group(["alice", "bob", "carol"]).await;
    let hello = id(&bob.send_created("alice", "b1", "hello alice").await);
    let gone = id(&bob.send_created("alice", "b2", "regret").await);
    assert_eq!(
        bob.delete(&format!("/api/messages/{gone}")).await.0,
        StatusCode::OK
    );
    let in_group = carol.group_send_ok(group, "g1").await;
    let reported = alice
        .post(
            &format!("/api/messages/{hello}/report"),
            json!({"reason": "rude"}),
        )
        .await;
    assert_eq!(reported.0, StatusCode::ACCEPTED);

    let (status, disposition, _, body) = export(&alice).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        disposition,
        "attachment; filename=\"linkup-export-alice.json\""
    );
    assert!(body["exported_at"].is_string(), "{body}");
    assert_eq!(body["user"]["username"], "alice");
    for key in ["uploads", "blocks", "tokens"] {
        assert!(body[key].is_array(), "{key}: {body}");
    }
    assert_eq!(
        body["reports"],
        json!([{"message_id": hello, "reason": "rude", "at": body["reports"][0]["at"]}])
    );
    let conversations = body["conversations"].as_array().expect("conversations");
    let direct = conversations
        .iter()
        .find(|c| c["kind"] == "direct")
        .expect("the direct conversation");
    assert_eq!(direct["with"]["username"], "bob");
    let bodies: Vec<(&str, bool)> = direct["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| (m["body"].as_str().unwrap(), m["deleted"].as_bool().unwrap()))
        .collect();
    assert_eq!(bodies, [("hello alice", false), ("", true)]);
    let atlas = conversations
        .iter()
        .find(|c| c["kind"] == "group")
        .expect("the group");
    assert_eq!(atlas["id"], group);
    assert_eq!(atlas["title"], "Atlas");
    assert_eq!(atlas["role"], "owner");
    assert_eq!(atlas["left"], false);
    let ids: Vec<i64> = atlas["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert!(ids.contains(&in_group), "{ids:?}");
}

#[tokio::test]
async fn a_second_export_within_the_hour_is_rate_limited() {
    let (_app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    assert_eq!(export(&alice).await.0, StatusCode::OK);
    let (status, _, retry, body) = export(&alice).await;
    assert_error(
        &(status, body),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    let retry: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(
        export(&bob).await.0,
        StatusCode::OK,
        "another user's is apart"
    );
}

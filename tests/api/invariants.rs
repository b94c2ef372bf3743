//! Checks of the stream and conversation invariants, shared by `ordering` and `crash`: a user's
//! cursors are exactly 1..=N, each message appears once in each party's stream, and a
//! conversation's `seq`s are 1..=M in id order.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::Client;

/// Another handle on the same session (the cookie jar is shared), for spawned tasks.
pub fn same_session(client: &Client) -> Client {
    Client {
        base: client.base.clone(),
        http: client.http.clone(),
        csrf: client.csrf.clone(),
        bearer: client.bearer.clone(),
    }
}

/// The whole conversation with `other`, ascending by id, following `has_more` pages backwards.
pub async fn history(client: &Client, other: &str) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    let mut path = format!("/api/conversations/{other}/messages?limit=200");
    loop {
        let (status, page) = client.get(&path).await;
        assert_eq!(status, StatusCode::OK, "history with {other}: {page}");
        let mut older = page["messages"].as_array().expect("messages").clone();
        older.append(&mut messages);
        messages = older;
        if !page["has_more"].as_bool().expect("has_more") {
            return messages;
        }
        let oldest = messages[0]["id"].as_i64().expect("id");
        path = format!("/api/conversations/{other}/messages?limit=200&before_id={oldest}");
    }
}

/// Asserts a conversation's messages carry seq 1..=M in strictly ascending id order, so that a
/// larger seq means a larger id and the other way round.
#[track_caller]
pub fn assert_seqs_gap_free(messages: &[Value], what: &str) {
    let field = |name: &str| -> Vec<i64> {
        let values = messages.iter().map(|m| m[name].as_i64());
        values.collect::<Option<_>>().expect("integer ids and seqs")
    };
    let expected: Vec<i64> = (1..=messages.len() as i64).collect();
    assert_eq!(field("seq"), expected, "{what}: seqs in id order");
    let ids = field("id");
    assert!(
        ids.is_sorted_by(|a, b| a < b),
        "{what}: ids ascend: {ids:?}"
    );
}

/// The user's stream from the start; asserts its cursors are exactly 1..=N and that no message
/// appears twice in it.
pub async fn stream_gap_free(client: &Client, who: &str) -> Vec<Value> {
    let events = client.all_events(0).await;
    let cursors: Vec<Option<i64>> = events.iter().map(|e| e["cursor"].as_i64()).collect();
    let expected: Vec<Option<i64>> = (1..=events.len() as i64).map(Some).collect();
    assert_eq!(cursors, expected, "{who}'s cursors");
    let mut seen = BTreeSet::new();
    for event in events.iter().filter(|e| e["type"] == "message") {
        let id = &event["message"]["id"];
        assert!(seen.insert(id.to_string()), "{who} sees message {id} twice");
    }
    events
}

/// Ids of the messages in a stream's `message` events.
pub fn message_ids(events: &[Value]) -> BTreeSet<i64> {
    events
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| e["message"]["id"].as_i64().expect("message id"))
        .collect()
}

/// The `next` cursor after the user's last event.
pub async fn head(client: &Client) -> i64 {
    let mut since = 0;
    loop {
        let path = format!("/api/sync?since={since}&limit=1000");
        let (status, page) = client.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        since = page["next"].as_i64().expect("next");
        if !page["has_more"].as_bool().expect("has_more") {
            return since;
        }
    }
}

//! History pages and the event stream (PROTOCOL.md, `load_older_messages` and `GET /api/sync`).
//! The seed used temporary client ids as `before_id` (failure 4): cursors must be validated
//! positive integers, and paging must neither skip nor repeat a message.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Client, TestApp, assert_error, assert_error_status, assert_ok, ids};

/// The ids on one page of the conversation with `with`, and its `has_more`.
async fn page(client: &Client, with: &str, query: &str) -> (Vec<i64>, bool) {
    let page = client.history_page(with, query).await;
    let messages = page["messages"].as_array().expect("messages");
    (ids(messages), page["has_more"].as_bool().expect("has_more"))
}

#[tokio::test]
async fn before_id_must_be_a_positive_integer() {
    let (app, [alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    alice.send_ok("bob", "c1").await;
    let temp = "temp_client_1770216496118_y8zwwov1h";
    for bad in [
        temp,
        "0",
        "-5",
        "1.5",
        "abc",
        "99999999999999999999",
        "",
        "%2B3",
    ] {
        let response = alice
            .get(&format!("/api/conversations/bob/messages?before_id={bad}"))
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_before_id");
    }
    let (_, body) = alice
        .get(&format!("/api/conversations/bob/messages?before_id={temp}"))
        .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(temp),
        "the message names the bad value: {message}"
    );
    assert_eq!(page(&alice, "bob", "").await.0.len(), 1, "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn limit_must_be_between_1_and_200() {
    let (app, [alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    for i in 0..3 {
        alice.send_ok("bob", &format!("c{i}")).await;
    }
    for bad in ["0", "201", "abc", "-1", ""] {
        let response = alice
            .get(&format!("/api/conversations/bob/messages?limit={bad}"))
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_limit");
    }
    assert_eq!(
        page(&alice, "bob", "limit=200").await,
        (page(&alice, "bob", "").await.0, false)
    );
    let (ids, has_more) = page(&alice, "bob", "limit=1").await;
    assert_eq!(ids.len(), 1);
    assert!(has_more);
    app.stop().await;
}

#[tokio::test]
async fn paging_back_through_120_messages_has_no_gap_and_no_duplicate() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let mut sent = Vec::new();
    for i in 0..120 {
        let (from, to) = if i % 2 == 0 {
            (&alice, "bob")
        } else {
            (&bob, "alice")
        };
        sent.push(from.send_ok(to, &format!("m{i}")).await);
    }
    assert!(sent.windows(2).all(|w| w[0] < w[1]), "ids grow with time");

    let (default_page, _) = page(&bob, "alice", "").await;
    assert_eq!(default_page.len(), 50, "the default page is 50");

    let mut pages = Vec::new();
    let (mut ids, mut has_more) = page(&alice, "bob", "limit=50").await;
    loop {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ascending: {ids:?}");
        pages.push(ids.clone());
        if !has_more {
            break;
        }
        assert!(pages.len() < 5, "paging does not end");
        let before = ids.first().expect("a page with has_more is not empty");
        (ids, has_more) = page(&alice, "bob", &format!("limit=50&before_id={before}")).await;
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [50, 50, 20]);
    let walked: Vec<i64> = pages.into_iter().rev().flatten().collect();
    let unique: HashSet<i64> = walked.iter().copied().collect();
    assert_eq!(unique.len(), walked.len(), "no duplicate");
    assert_eq!(walked, sent, "every message, in order, once");

    // Both parties see the same conversation, with seq 1..=120.
    let body = bob.history_page("alice", "limit=200").await;
    let seqs: Vec<i64> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=120).collect::<Vec<_>>());
    assert_eq!(body["has_more"], false);
    app.stop().await;
}

#[tokio::test]
async fn history_with_a_stranger_is_empty_and_with_nobody_is_404() {
    let (app, [alice, _bob, _carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    alice.send_ok("bob", "c1").await;
    assert_eq!(page(&alice, "carol", "").await, (vec![], false));
    assert_eq!(
        page(&alice, "carol", "before_id=5&limit=10").await,
        (vec![], false)
    );
    assert_error(
        &alice.get("/api/conversations/nobody/messages").await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    app.stop().await;
}

#[tokio::test]
async fn sync_cursors_must_be_non_negative_integers() {
    let app = TestApp::spawn().await;
    let alice = app.signup("alice").await;
    for bad in ["abc", "-1", "1.5", "temp_client_1", "99999999999999999999"] {
        let response = alice.get(&format!("/api/sync?since={bad}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_cursor");
    }
    for bad in ["0", "1001", "x"] {
        let response = alice.get(&format!("/api/sync?limit={bad}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_limit");
    }
    let empty = alice.get_ok("/api/sync?since=0").await;
    assert_eq!(empty["events"], Value::Array(vec![]));
    assert_eq!(empty["next"], 0);
    assert_eq!(empty["has_more"], false);
    // A cursor never handed out would hide the events that will get it: refused.
    let beyond = alice.get("/api/sync?since=5").await;
    assert_error(&beyond, StatusCode::BAD_REQUEST, "invalid_cursor");
    app.stop().await;
}

#[tokio::test]
async fn each_user_stream_has_cursors_1_to_n_and_pages_by_next() {
    let (app, [alice, bob, carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    let mut to_bob = Vec::new();
    for i in 0..3 {
        to_bob.push(alice.send_ok("bob", &format!("a{i}")).await);
    }
    bob.send_ok("alice", "b0").await;
    carol.send_ok("alice", "c0").await;
    assert_ok(&bob.mark(&to_bob, "read").await);

    // alice: 3 out, 1 from bob, 1 from carol, 1 status; bob: 4 messages, 1 status; carol: 1.
    for (client, expected) in [(&alice, 6), (&bob, 5), (&carol, 1)] {
        let events = client.all_events(0).await;
        let cursors: Vec<i64> = events
            .iter()
            .map(|e| e["cursor"].as_i64().unwrap())
            .collect();
        assert_eq!(cursors, (1..=expected).collect::<Vec<_>>(), "{events:?}");
    }
    let all = alice.all_events(0).await;
    let kinds: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "message", "message", "message", "message", "message", "status"
        ]
    );

    // Walk alice's stream two at a time.
    let mut since = 0;
    let mut walked = Vec::new();
    loop {
        let page = alice
            .get_ok(&format!("/api/sync?since={since}&limit=2"))
            .await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 2);
        if let Some(last) = events.last() {
            assert_eq!(page["next"], last["cursor"]);
        } else {
            assert_eq!(page["next"], since);
        }
        walked.extend(events.iter().cloned());
        since = page["next"].as_i64().unwrap();
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        assert!(walked.len() <= all.len(), "paging does not end");
    }
    assert_eq!(walked, all);
    let tail = alice.get_ok(&format!("/api/sync?since={since}")).await;
    assert_eq!(tail["events"], Value::Array(vec![]));
    assert_eq!(tail["next"], since);
    assert_eq!(tail["has_more"], false);
    let middle = alice.get_ok("/api/sync?since=4").await;
    assert_eq!(middle["events"].as_array().unwrap()[..], all[4..]);
    app.stop().await;
}

#[tokio::test]
async fn conversations_list_newest_activity_first() {
    let (app, [alice, bob, carol]) = TestApp::with_users(["alice", "bob", "carol"]).await;
    let a1 = alice.send_ok("bob", "a1").await;
    let c1 = carol.send_ok("alice", "c1").await;
    let summary = |list: &[Value]| -> Vec<(String, i64, i64)> {
        list.iter()
            .map(|c| {
                let with = c["with"]["username"].as_str().unwrap().to_owned();
                (
                    with,
                    c["last_message"]["id"].as_i64().unwrap(),
                    c["unread"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let list = alice.conversations().await;
    let expected = [("carol".to_owned(), c1, 1), ("bob".to_owned(), a1, 0)];
    assert_eq!(summary(&list), expected, "{list:?}");
    let b1 = bob.send_ok("alice", "b1").await;
    let list = alice.conversations().await;
    let expected = [("bob".to_owned(), b1, 1), ("carol".to_owned(), c1, 1)];
    assert_eq!(summary(&list), expected, "{list:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_chat_view_resyncs_after_the_newest_id_it_has() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let a1 = alice.send_ok("bob", "a1").await;
    let b1 = bob.send_ok("alice", "b1").await;
    assert_ok(&bob.mark(&[a1], "read").await);
    for bad in ["abc", "-1", "temp_client_1", "1.5"] {
        let response = alice
            .get(&format!("/api/conversations/bob/sync?after_id={bad}"))
            .await;
        assert_error_status(&response, StatusCode::BAD_REQUEST);
    }
    let synced = alice
        .get_ok(&format!("/api/conversations/bob/sync?after_id={a1}"))
        .await;
    assert_eq!(ids(synced["messages"].as_array().unwrap()), [b1]);
    let statuses = synced["statuses"].as_array().expect("statuses");
    assert!(
        statuses.contains(&serde_json::json!({"id": a1, "status": "read"})),
        "the read receipt on a message the view already has: {synced}"
    );
    let everything = alice.get_ok("/api/conversations/bob/sync?after_id=0").await;
    assert_eq!(
        everything["messages"].as_array().unwrap().len(),
        2,
        "{everything}"
    );
    app.stop().await;
}

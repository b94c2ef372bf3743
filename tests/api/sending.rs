//! Sending (PROTOCOL.md, "Idempotent send" and `queue_message`): the seed stored duplicates
//! when a send was retried (failure 3). A retry must return the stored message, concurrently
//! too, and bad input must store nothing.

use std::sync::Arc;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::{Client, TestApp, assert_error, assert_error_status, ids};

/// The message events of `client`'s stream.
async fn message_events(client: &Client) -> Vec<Value> {
    client
        .all_events(0)
        .await
        .into_iter()
        .filter(|e| e["type"] == "message")
        .collect()
}

#[tokio::test]
async fn a_retry_returns_the_stored_message_and_creates_nothing() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let first = alice.send_created("bob", "c-1", "hello").await;
    let (status, retry) = alice.send("bob", "c-1", "hello").await;
    assert_eq!(status, StatusCode::OK, "{retry}");
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(
        retry, first,
        "the retry returns the stored message as it was"
    );

    assert_eq!(alice.messages("bob").await.len(), 1);
    assert_eq!(bob.messages("alice").await.len(), 1);
    assert_eq!(message_events(&bob).await.len(), 1);
    assert_eq!(message_events(&alice).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_same_client_id_with_another_body_is_a_conflict() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let first = alice.send_created("bob", "c1", "original").await;
    assert_error(
        &alice.send("bob", "c1", "changed").await,
        StatusCode::CONFLICT,
        "client_id_conflict",
    );
    // Reusing it for another recipient must not "ack" with the message to bob either.
    let carol = app.signup("carol").await;
    assert_error(
        &alice.send("carol", "c1", "original").await,
        StatusCode::CONFLICT,
        "client_id_conflict",
    );
    assert!(carol.messages("alice").await.is_empty());
    let stored = bob.messages("alice").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["body"], "original");

    // Uniqueness is per sender: bob may use the same client_id.
    let reply = bob.send_created("alice", "c1", "reply").await;
    assert_ne!(reply["id"], first["id"]);
    assert_eq!(alice.messages("bob").await.len(), 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_sends_store_one_message() {
    let app = TestApp::spawn().await;
    let alice = Arc::new(app.signup("alice").await);
    let bob = app.signup("bob").await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let alice = Arc::clone(&alice);
            tokio::spawn(async move { alice.send("bob", "same-retry", "only once").await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("send task"));
    }
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let existing = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!((created, existing), (1, 19), "{results:?}");
    let id = &results[0].1["id"];
    assert!(id.as_i64().is_some_and(|i| i > 0), "{id}");
    assert!(results.iter().all(|(_, m)| &m["id"] == id), "{results:?}");

    let stored = bob.messages("alice").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(&stored[0]["id"], id);
    let events = message_events(&bob).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(&events[0]["message"]["id"], id);
    assert_eq!(message_events(&alice).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn unknown_recipients_and_self_are_refused() {
    let (app, [alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    for nobody in ["nobody", "x", "%C3%BC"] {
        assert_error(
            &alice.send(nobody, "c1", "hi").await,
            StatusCode::NOT_FOUND,
            "user_not_found",
        );
    }
    // The recipient's name is case-insensitive, like every username.
    let sent = alice.send_created("BoB", "to-bob", "hi").await;
    assert_eq!(sent["recipient"], "bob");
    assert_error_status(
        &alice.send("alice", "c1", "me").await,
        StatusCode::BAD_REQUEST,
    );
    let (status, body) = alice.send("Alice", "c1", "me").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        message_events(&alice).await.len(),
        1,
        "only the send to bob"
    );
    app.stop().await;
}

#[tokio::test]
async fn client_ids_outside_the_alphabet_are_refused() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let too_long = "x".repeat(65);
    for bad in ["", too_long.as_str(), "a b", "ü", "temp.1", "a/b"] {
        assert_error(
            &alice.send("bob", bad, "hi").await,
            StatusCode::BAD_REQUEST,
            "invalid_client_id",
        );
    }
    assert!(bob.messages("alice").await.is_empty());
    let longest = "Az09_-".repeat(10) + "abcd";
    assert_eq!(longest.len(), 64);
    let sent = alice.send_created("bob", &longest, "hi").await;
    assert_eq!(sent["client_id"], longest.as_str());
    app.stop().await;
}

#[tokio::test]
async fn bodies_are_trimmed_and_bounded_in_characters() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    for (i, empty) in ["", "   ", " \n\t "].iter().enumerate() {
        let response = alice.send("bob", &format!("e{i}"), empty).await;
        assert_error_status(&response, StatusCode::BAD_REQUEST);
    }
    assert_error(
        &alice.send("bob", "long-a", &"a".repeat(4097)).await,
        StatusCode::BAD_REQUEST,
        "body_too_long",
    );
    assert_error(
        &alice.send("bob", "long-e", &"é".repeat(4097)).await,
        StatusCode::BAD_REQUEST,
        "body_too_long",
    );
    assert!(bob.messages("alice").await.is_empty());

    let exact = "é".repeat(4096);
    let (status, sent) = alice.send("bob", "exact", &exact).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "4096 scalar values fit: {sent}"
    );
    assert_eq!(sent["body"], exact.as_str());
    let padded = format!("  {exact}\n");
    let (status, sent) = alice.send("bob", "padded", &padded).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "trimmed before counting: {sent}"
    );
    let sent = alice.send_created("bob", "trim", "  hello there \n").await;
    assert_eq!(sent["body"], "hello there");
    let stored = bob.messages("alice").await;
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[2]["body"], "hello there");
    app.stop().await;
}

#[tokio::test]
async fn a_message_has_every_protocol_field_and_gap_free_seq() {
    let (app, [alice, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let mut sent = Vec::new();
    for (i, (from, to)) in [(&alice, "bob"), (&bob, "alice"), (&alice, "bob")]
        .into_iter()
        .enumerate()
    {
        let (client_id, body) = (format!("m{i}"), format!("body {i}"));
        sent.push(from.send_created(to, &client_id, &body).await);
    }
    let fields = [
        "id",
        "seq",
        "conversation_id",
        "sender",
        "recipient",
        "client_id",
        "body",
        "created_at",
        "status",
        "edited_at",
        "deleted",
    ];
    for (i, message) in sent.iter().enumerate() {
        let object = message.as_object().expect("message object");
        for field in fields {
            assert!(object.contains_key(field), "{field} missing in {message}");
        }
        assert!(message["id"].as_i64().is_some_and(|id| id > 0), "{message}");
        assert_eq!(message["seq"], i as i64 + 1, "{message}");
        assert_eq!(message["conversation_id"], sent[0]["conversation_id"]);
        assert_eq!(message["client_id"], format!("m{i}"));
        assert_eq!(message["body"], format!("body {i}"));
        assert_eq!(message["status"], "sent");
        assert_eq!(message["edited_at"], Value::Null);
        assert_eq!(message["deleted"], false);
        let created = message["created_at"].as_str().expect("created_at");
        let at = OffsetDateTime::parse(created, &Rfc3339).expect("RFC 3339");
        assert!(at.offset().is_utc(), "{created}");
    }
    assert_eq!(
        (&sent[0]["sender"], &sent[0]["recipient"]),
        (&json!("alice"), &json!("bob"))
    );
    assert_eq!(
        (&sent[1]["sender"], &sent[1]["recipient"]),
        (&json!("bob"), &json!("alice"))
    );
    let ids = ids(&sent);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(
        alice.messages("bob").await,
        sent,
        "history shows the same objects"
    );
    app.stop().await;
}

#[tokio::test]
async fn sends_over_the_rate_limit_are_429_with_retry_after_and_not_stored() {
    let app = TestApp::spawn_with(|c| {
        c.send_rate = 1;
        c.send_burst = 2;
    })
    .await;
    let [alice, bob] = app.signups(["alice", "bob"]).await;
    for i in 0..2 {
        alice.send_created("bob", &format!("r{i}"), "quick").await;
    }
    let response = alice
        .http
        .post(format!("{}/api/conversations/bob/messages", app.url))
        .header("X-CSRF-Token", alice.csrf.clone().unwrap())
        .json(&json!({"client_id": "r2", "body": "too quick"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        retry_after.parse::<u64>().is_ok_and(|s| s >= 1),
        "Retry-After: {retry_after}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let stored = bob.messages("alice").await;
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|m| m["client_id"] != "r2"));
    assert_eq!(message_events(&bob).await.len(), 2);
    app.stop().await;
}

/// The value of the series `series` (name and labels) in the server's `/metrics`, 0 if absent.
async fn metric(app: &TestApp, series: &str) -> f64 {
    let metrics = app.anonymous().get_ok("/metrics").await;
    let text = metrics.as_str().expect("metrics are text");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |n| n.parse().expect("a number"))
}

/// How many times the server read a user by name from the store, from its `/metrics`.
async fn user_reads(app: &TestApp) -> u64 {
    metric(
        app,
        "linkup_store_latency_seconds_count{operation=\"user_by_username\"}",
    )
    .await as u64
}

#[tokio::test]
async fn each_send_is_one_job_of_the_sqlite_writer_in_the_metrics() {
    let (app, [alice, _bob]) = TestApp::with_users(["alice", "bob"]).await;
    let jobs = || metric(&app, "linkup_sqlite_writer_job_seconds_count");
    let batched = || metric(&app, "linkup_sqlite_writer_batch_jobs_sum");
    let busy = || metric(&app, "linkup_sqlite_writer_batch_seconds_sum");
    let (jobs_before, batched_before, busy_before) = (jobs().await, batched().await, busy().await);
    alice.send_created("bob", "w-1", "one").await;
    alice.send_created("bob", "w-2", "two").await;
    // PostgreSQL has writers of its own, which these do not observe.
    let expected = match crate::BACKEND {
        crate::backend::Backend::Sqlite => 2.0,
        crate::backend::Backend::Postgres => 0.0,
    };
    assert_eq!(jobs().await - jobs_before, expected);
    assert_eq!(batched().await - batched_before, expected);
    assert_eq!(busy().await > busy_before, expected > 0.0);
}

#[tokio::test]
async fn a_send_to_someone_signed_in_finds_them_without_reading_the_store() {
    let (app, [alice, _carol, dave]) = TestApp::with_users(["alice", "carol", "dave"]).await;
    // Every store call is timed, sign-up's check for a taken name included: count from here.
    let before = user_reads(&app).await;
    // Carol has made no request since signing up: the first send to her reads her record.
    alice.send_created("carol", "c-1", "hello carol").await;
    assert_eq!(user_reads(&app).await, before + 1);
    alice.send_created("carol", "c-2", "again").await;
    assert_eq!(
        user_reads(&app).await,
        before + 1,
        "remembered after the first read"
    );
    // Dave signs in (any request with his session): the server knows him from then on.
    dave.get_ok("/api/me").await;
    alice.send_created("dave", "d-1", "hello dave").await;
    assert_eq!(
        user_reads(&app).await,
        before + 1,
        "dave was known from his own request"
    );
    app.stop().await;
}

//! Errors and operations (PROTOCOL.md, "Errors"): every failure is a JSON body with a stable
//! code and a fitting status, bad input changes nothing, every response says `nosniff` and
//! `Cache-Control: no-store`; plus
//! health, readiness, metrics and the OpenAPI document.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Client, TestApp, assert_error, assert_error_status};

/// A raw POST as `client` (bearer token, so no CSRF), with an exact content type and body.
async fn raw_post(
    client: &Client,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut request = client
        .http
        .post(format!("{}{path}", client.base))
        .body(body);
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// A raw send from `alice` to bob.
async fn raw_send(
    alice: &Client,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    raw_post(alice, SEND, content_type, body).await
}

/// A raw anonymous sign-up with a JSON content type.
async fn raw_signup(app: &TestApp, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
    raw_post(&app.anonymous(), "/api/auth/signup", JSON, body).await
}

/// A fresh server with alice (by bearer token) and bob, who exists.
async fn alice_and_bob() -> (TestApp, Client, Client) {
    let (app, [_, bob]) = TestApp::with_users(["alice", "bob"]).await;
    let alice = app.token_client("alice").await;
    (app, alice, bob)
}

/// How many messages bob has from alice.
async fn stored(bob: &Client) -> usize {
    bob.messages("alice").await.len()
}

const JSON: Option<&str> = Some("application/json");
const SEND: &str = "/api/conversations/bob/messages";

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let (app, alice, bob) = alice_and_bob().await;
    for bad in [
        "{not json",
        "",
        "{\"client_id\": \"c1\", \"body\": \"hi\"",
        "{\"client_id\": \"c1\",}",
    ] {
        let response = raw_send(&alice, JSON, bad).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_json");
    }
    let signup = raw_signup(&app, "{\"username\":").await;
    assert_error(&signup, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(stored(&bob).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn missing_or_mistyped_fields_are_400_invalid_request() {
    let (app, alice, bob) = alice_and_bob().await;
    let cases = [
        ("/api/auth/login", json!({"username": "alice"})),
        ("/api/auth/signup", json!({"password": "password123"})),
        (SEND, json!({"body": "hi"})),
        (SEND, json!({"client_id": "c1"})),
        (SEND, json!({"client_id": 5, "body": "hi"})),
        (
            "/api/messages/status",
            json!({"message_ids": "1", "status": "read"}),
        ),
        ("/api/messages/status", json!({"message_ids": [1]})),
        ("/api/conversations/bob/read", json!({})),
        ("/api/conversations/bob/read", json!({"up_to_id": "7"})),
    ];
    for (path, body) in cases {
        let response = alice.post(path, body.clone()).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {}",
            response.1
        );
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_eq!(stored(&bob).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn bodies_that_are_not_json_are_415() {
    let (app, alice, bob) = alice_and_bob().await;
    let body = r#"{"client_id": "c1", "body": "hi"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let response = raw_send(&alice, content_type, body).await;
        assert_error(
            &response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    assert_eq!(stored(&bob).await, 0);
    let response = raw_send(&alice, JSON, body).await;
    assert_eq!(response.0, StatusCode::CREATED, "sanity: {}", response.1);
    app.stop().await;
}

#[tokio::test]
async fn request_bodies_over_64_kib_are_413() {
    let (app, alice, bob) = alice_and_bob().await;
    let huge = json!({"client_id": "big", "body": "a".repeat(70 * 1024)}).to_string();
    let signup = json!({"username": "eve", "password": "p".repeat(65 * 1024)}).to_string();
    for response in [
        raw_send(&alice, JSON, huge).await,
        raw_signup(&app, signup).await,
    ] {
        assert_error(
            &response,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        );
    }
    assert_eq!(stored(&bob).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let (app, alice, _bob) = alice_and_bob().await;
    for path in ["/api/whatever", "/api/conversations/bob/unknown", "/api/"] {
        assert_error(&alice.get(path).await, StatusCode::NOT_FOUND, "not_found");
    }
    assert_error(
        &alice.post("/api/whatever", json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    for (method, path) in [
        (Method::PUT, "/api/me"),
        (Method::PUT, SEND),
        (Method::GET, "/api/auth/login"),
    ] {
        let response = alice.request(method.clone(), path, None).await;
        assert_eq!(
            response.0,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            response.1
        );
        assert_error_status(&response, StatusCode::METHOD_NOT_ALLOWED);
    }
    app.stop().await;
}

#[tokio::test]
async fn every_response_says_nosniff_and_no_store() {
    let (app, alice, _bob) = alice_and_bob().await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", app.url);
    let token = alice.bearer.clone().unwrap();
    let requests = [
        http.get(url("/healthz")),
        http.get(url("/metrics")),
        http.get(url("/api/me")),
        http.get(url("/api/me")).bearer_auth(&token),
        http.get(url("/api/whatever")),
        http.put(url("/api/me")).bearer_auth(&token),
        http.post(url(SEND)).bearer_auth(&token).body("x"),
        http.post(url(SEND))
            .bearer_auth(&token)
            .json(&json!({"client_id": "", "body": "x"})),
        http.post(url(SEND))
            .bearer_auth(&token)
            .json(&json!({"client_id": "n1", "body": "x"})),
        http.get(url("/api/conversations/bob/messages?before_id=temp_1"))
            .bearer_auth(&token),
    ];
    let mut seen = Vec::new();
    for request in requests {
        let response = request.send().await.expect("request sent");
        let nosniff = response.headers().get(header::X_CONTENT_TYPE_OPTIONS);
        assert_eq!(
            nosniff.and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{} {}",
            response.status(),
            response.url()
        );
        let cache = response.headers().get(header::CACHE_CONTROL);
        assert_eq!(
            cache.and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{}",
            response.url()
        );
        seen.push(response.status().as_u16());
    }
    assert_eq!(seen, [200, 200, 401, 200, 404, 405, 415, 400, 201, 400]);
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let (app, alice, _bob) = alice_and_bob().await;
    let anon = app.anonymous();
    anon.get_ok("/healthz").await;
    anon.get_ok("/readyz").await;

    for _ in 0..2 {
        let (status, body) = alice.send("bob", "once", "counted once").await;
        assert!(status.is_success(), "{body}");
    }
    let metrics = anon.get_ok("/metrics").await;
    let text = metrics.as_str().expect("metrics are text");
    assert!(text.contains("linkup_http_requests"), "{text}");
    let stored: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("linkup_messages_stored"))
        .collect();
    assert_eq!(stored.len(), 1, "{text}");
    let value = stored[0].split_whitespace().last().unwrap();
    assert_eq!(
        value.parse::<f64>().ok(),
        Some(1.0),
        "a retry is not a new message: {text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_the_api() {
    let app = TestApp::spawn().await;
    let doc = app.anonymous().get_ok("/api/openapi.json").await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{doc}"
    );
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/sync",
        "/api/conversations/{username}/messages",
        "/api/messages/status",
        "/api/auth/login",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    app.stop().await;
}

//! `POST /api/me/password`: the current password checked as a login is (wrong: 403
//! `wrong_password`, counted in the login limits), the new one under the password rules; on
//! success every other session and token of the user ends and their sockets close, while the
//! credential that made the change goes on.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::login_limits::{Burst, client_from, spawn_with_default_limits};
use crate::socket::{NOTIFICATIONS, Socket, session_cookie};
use crate::support::{Client, TestApp, assert_error, assert_no_content};

async fn change(client: &Client, current: &str, new: &str) -> (StatusCode, serde_json::Value) {
    let body = json!({"current_password": current, "new_password": new});
    client.post("/api/me/password", body).await
}

async fn login_status(app: &TestApp, password: &str) -> StatusCode {
    let (status, _) = app
        .anonymous()
        .post(
            "/api/auth/login",
            json!({"username": "alice", "password": password}),
        )
        .await;
    status
}

async fn closed_within_a_second(socket: &mut Socket) -> Option<u16> {
    tokio::time::timeout(Duration::from_secs(1), socket.closed())
        .await
        .expect("the socket closed within a second")
        .map(|frame| u16::from(frame.code))
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_token() {
    let (app, [alice]) = TestApp::with_users(["alice"]).await;
    let other_session = session_cookie(&app.url, "alice").await;
    let token = app.token_client("alice").await;
    let mut session_ws = app.cookie_socket(&other_session, NOTIFICATIONS).await;
    let mut token_ws = app.notifications(&token).await;
    session_ws.ping().await;
    token_ws.ping().await;

    assert_no_content(&change(&alice, "password123", "a-new-password-1").await);
    assert_eq!(closed_within_a_second(&mut session_ws).await, Some(4001));
    assert_eq!(closed_within_a_second(&mut token_ws).await, Some(4001));
    let response = token.get("/api/me").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
    let stale = crate::socket::connect(&app.url, NOTIFICATIONS, app.cookie(&other_session)).await;
    assert_eq!(stale.err(), Some(401));
    // The session that changed it goes on; only the new password logs in.
    alice.get_ok("/api/me").await;
    assert!(
        alice.get_ok("/api/auth/tokens").await["tokens"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        login_status(&app, "password123").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login_status(&app, "a-new-password-1").await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_token_may_change_the_password_and_keeps_working() {
    let (app, [alice_session]) = TestApp::with_users(["alice"]).await;
    let token = app.token_client("alice").await;
    assert_no_content(&change(&token, "password123", "a-new-password-1").await);
    token.get_ok("/api/me").await;
    let response = alice_session.get("/api/me").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
    let items = token.get_ok("/api/auth/tokens").await;
    assert_eq!(items["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(items["tokens"][0]["current"], true);
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_or_invalid_change_changes_nothing() {
    let (app, [alice]) = TestApp::with_users(["alice"]).await;
    let token = app.token_client("alice").await;
    let response = change(&alice, "not-my-password", "a-new-password-1").await;
    assert_error(&response, StatusCode::FORBIDDEN, "wrong_password");
    let response = change(&alice, "short", "a-new-password-1").await;
    assert_error(&response, StatusCode::FORBIDDEN, "wrong_password");
    let response = change(&alice, "password123", "short").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_password");
    let response = alice
        .post(
            "/api/me/password",
            json!({"current_password": "password123"}),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    // A cookie session needs its CSRF token, like every unsafe request.
    let mut no_csrf = Client::new(&app.url);
    no_csrf.http = alice.http.clone();
    let response = change(&no_csrf, "password123", "a-new-password-1").await;
    assert_error(&response, StatusCode::FORBIDDEN, "csrf_missing");
    let response = app
        .anonymous()
        .post(
            "/api/me/password",
            json!({"current_password": "password123", "new_password": "a-new-password-1"}),
        )
        .await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
    token.get_ok("/api/me").await;
    alice.get_ok("/api/me").await;
    assert_eq!(login_status(&app, "password123").await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn wrong_current_passwords_count_in_the_login_limits() {
    let app = spawn_with_default_limits(|_| {}).await;
    app.signup("alice").await;
    // A thief holding alice's session guesses her password from 127.0.0.2.
    let mut thief = client_from(&app, "127.0.0.2");
    let (status, body) = thief
        .post(
            "/api/auth/login",
            json!({"username": "alice", "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    thief.csrf = body["csrf_token"].as_str().map(str::to_owned);
    // 36 guesses at once: with the login, more than the bucket of 30 holds.
    let guesses = (0..36)
        .map(|_| {
            let body =
                json!({"current_password": "a-wrong-guess", "new_password": "a-new-password-1"});
            thief
                .http
                .post(format!("{}/api/me/password", app.url))
                .header("x-csrf-token", thief.csrf.as_deref().unwrap())
                .json(&body)
        })
        .collect();
    Burst::send(guesses)
        .await
        .assert_limited_to(29, StatusCode::FORBIDDEN);
    // The owner's own address is not affected.
    let owner = client_from(&app, "127.0.0.1");
    let (status, _) = owner
        .post(
            "/api/auth/login",
            json!({"username": "alice", "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
